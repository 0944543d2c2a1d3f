"""The open sockets of this process, so a shutdown can close them politely, and their ceiling.

On SIGTERM every socket is closed with code 1012 (service restart): browsers reconnect at once,
through the load balancer, to an instance that stays up, instead of waiting for a timeout.
Past `max_open` sockets a new one is not admitted: the route closes it with BUSY (4029), a code
of its own because the widget answers it differently from 1013 (fell behind: resume at once):
it waits with backoff. Each socket holds a greenlet or a thread; what stays free serves pages.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)

SERVICE_RESTART = 1012
BUSY = 4029  # the process holds its ceiling of sockets: retry later, with backoff


class Closable(Protocol):
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class SocketRegistry:
    """A thread-safe set of open sockets, at most `max_open` of them if given."""

    def __init__(self, max_open: int | None = None) -> None:
        self.max_open = max_open
        self._lock = threading.Lock()
        self._sockets: set[Closable] = set()

    def add(self, ws: Closable) -> None:
        with self._lock:
            self._sockets.add(ws)

    def admit(self, ws: Closable) -> bool:
        """Add `ws` unless the ceiling is reached; False (and nothing added) if it is."""
        with self._lock:
            if self.max_open is not None and len(self._sockets) >= self.max_open:
                return False
            self._sockets.add(ws)
            return True

    def discard(self, ws: Closable) -> None:
        with self._lock:
            self._sockets.discard(ws)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sockets)

    def close_all(self, code: int = SERVICE_RESTART, message: str = "server restarting") -> int:
        """Close every socket with `code`; returns how many were open."""
        with self._lock:
            sockets = list(self._sockets)
        for ws in sockets:
            with contextlib.suppress(Exception):  # already closed by the browser
                ws.close(reason=code, message=message)
        log.info("closed %d sockets with code %d", len(sockets), code)
        return len(sockets)
