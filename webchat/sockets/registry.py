"""The open sockets of this process, so a shutdown can close them politely.

On SIGTERM every socket is closed with code 1012 (service restart): browsers reconnect at once,
through the load balancer, to an instance that stays up, instead of waiting for a timeout.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Protocol

log = logging.getLogger(__name__)

SERVICE_RESTART = 1012


class Closable(Protocol):
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class SocketRegistry:
    """A thread-safe set of open sockets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[Closable] = set()

    def add(self, ws: Closable) -> None:
        with self._lock:
            self._sockets.add(ws)

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
