"""Fault injection for tests: canned failures and artificial slowness, per path filter."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass
class Fault:
    """A rule that applies to the next ``remaining`` requests whose path contains ``paths``."""

    remaining: int
    paths: str | None
    status: int = 503
    body: bytes | str | None = None
    seconds: float = 0.0


class Faults:
    """Thread-safe queues of failure and hang rules, consumed one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[Fault] = []
        self._hangs: list[Fault] = []

    def fail_next(self, n: int, status: int, body: bytes | str | None, paths: str | None) -> None:
        with self._lock:
            self._failures.append(Fault(n, paths, status=status, body=body))

    def hang_next(self, n: int, seconds: float, paths: str | None) -> None:
        with self._lock:
            self._hangs.append(Fault(n, paths, seconds=seconds))

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._hangs.clear()

    def take(self, path: str) -> tuple[float, Fault | None]:
        """Consume (seconds to hang, failure rule or None) for one request to ``path``."""
        with self._lock:
            hang = self._take(self._hangs, path)
            return (hang.seconds if hang else 0.0), self._take(self._failures, path)

    @staticmethod
    def _take(rules: list[Fault], path: str) -> Fault | None:
        for rule in rules:
            if rule.remaining > 0 and (rule.paths is None or rule.paths in path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
                return rule
        return None
