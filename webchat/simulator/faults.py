"""Fault injection for tests: canned failures, artificial slowness and dropped connections,
per path (and optionally method) filter."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

# When a dropped connection is cut: "unread" before the request is read or handled (it never
# arrived), "handled" after it was handled but before any byte of the answer (it arrived, the
# caller cannot know).
DropWhen = Literal["unread", "handled"]


@dataclass
class Fault:
    """A rule that applies to the next ``remaining`` requests whose path contains ``paths``."""

    remaining: int
    paths: str | None
    status: int = 503
    body: bytes | str | None = None
    seconds: float = 0.0
    method: str | None = None
    when: DropWhen = "unread"

    def matches(self, path: str, method: str | None) -> bool:
        return (self.paths is None or self.paths in path) and (
            self.method is None or method is None or self.method == method
        )


class Faults:
    """Thread-safe queues of failure and hang rules, consumed one request at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: list[Fault] = []
        self._hangs: list[Fault] = []
        self._drops: list[Fault] = []

    def fail_next(
        self,
        n: int,
        status: int,
        body: bytes | str | None,
        paths: str | None,
        method: str | None = None,
    ) -> None:
        with self._lock:
            self._failures.append(Fault(n, paths, status=status, body=body, method=method))

    def hang_next(
        self, n: int, seconds: float, paths: str | None, method: str | None = None
    ) -> None:
        with self._lock:
            self._hangs.append(Fault(n, paths, seconds=seconds, method=method))

    def drop_next(self, n: int, when: DropWhen, paths: str | None, method: str | None) -> None:
        with self._lock:
            self._drops.append(Fault(n, paths, method=method, when=when))

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._hangs.clear()
            self._drops.clear()

    def take(self, path: str, method: str | None = None) -> tuple[float, Fault | None]:
        """Consume (seconds to hang, failure rule or None) for one request to ``path``."""
        with self._lock:
            hang = self._take(self._hangs, path, method)
            return (hang.seconds if hang else 0.0), self._take(self._failures, path, method)

    def take_drop(self, path: str, method: str | None) -> DropWhen | None:
        """Consume the drop rule for one request, if any: when its connection is cut."""
        with self._lock:
            rule = self._take(self._drops, path, method)
            return rule.when if rule else None

    @staticmethod
    def _take(rules: list[Fault], path: str, method: str | None = None) -> Fault | None:
        for rule in rules:
            if rule.remaining > 0 and rule.matches(path, method):
                rule.remaining -= 1
                if rule.remaining == 0:
                    rules.remove(rule)
                return rule
        return None
