"""Tenant-wide answers cached for everyone: availability and expected parameters.

A thousand visitors looking at a launcher must cost ServicePattern one call per few seconds,
not a thousand: one caller refreshes while the others wait for its answer (single flight),
and a failure is cached as briefly as a success so an outage is not hammered either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from ..servicepattern import UpstreamError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Cached(Generic[T]):
    """One value fetched at most once per `ttl` seconds, with a fallback while upstream fails."""

    def __init__(self, fetch: Callable[[], T], ttl: float, fallback: T) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._value: T = fallback
        self._expires = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self) -> T:
        """The cached value, refreshed by exactly one caller when it has expired."""
        if time.monotonic() < self._expires:
            return self._value
        with self._lock:
            if time.monotonic() < self._expires:
                return self._value
            self.fetches += 1
            try:
                self._value = self._fetch()
            except UpstreamError as error:
                log.warning("tenant lookup failed, keeping the last answer: %s", error.message)
            self._expires = time.monotonic() + self._ttl
            return self._value
