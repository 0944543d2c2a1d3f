"""Capped exponential backoff with jitter, for retrying ServicePattern."""

from __future__ import annotations

import random
from dataclasses import dataclass


class Backoff:
    """Delays of base, 2·base, 4·base … up to cap, each with ±20 % jitter; reset on success."""

    __slots__ = ("base", "cap", "failures")  # every open chat's poll loop keeps a few

    def __init__(self, base: float = 0.5, cap: float = 15.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        delay = min(self.cap, self.base * (2**self.failures))
        self.failures += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        """A success: start again from the base delay."""
        self.failures = 0


@dataclass(frozen=True)
class RetryPolicy:
    """How calls to ServicePattern are retried: attempts per call, and the backoff between."""

    attempts: int = 3
    base: float = 0.5
    cap: float = 15.0

    def backoff(self, cap: float | None = None) -> Backoff:
        """A fresh backoff for one call or loop."""
        return Backoff(self.base, self.cap if cap is None else cap)
