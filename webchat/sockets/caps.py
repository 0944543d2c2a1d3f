"""How many sockets one visitor and one client address may hold open in this process.

A socket holds a thread (gthread) or a greenlet (gevent) and a file descriptor for as long as it
is open, so one visitor, or one address minting visitors, must not hold them all. The counts are
this process's own: with several workers or instances each one counts its own sockets, and a
visitor may hold up to the cap on each.
"""

from __future__ import annotations

import threading
from collections import Counter


class SocketCaps:
    """Counts open sockets per visitor and per address; refuses one over either cap."""

    def __init__(self, per_visitor: int, per_address: int) -> None:
        self.per_visitor = per_visitor
        self.per_address = per_address
        self._lock = threading.Lock()
        self._visitors: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()

    def acquire(self, visitor_id: str, address: str | None) -> Slot | None:
        """Count one more socket; None (and nothing counted) when it is over a cap."""
        address = address or ""
        with self._lock:
            if (
                self._visitors[visitor_id] >= self.per_visitor
                or self._addresses[address] >= self.per_address
            ):
                return None
            self._visitors[visitor_id] += 1
            self._addresses[address] += 1
        return Slot(self, visitor_id, address)

    def _release(self, visitor_id: str, address: str) -> None:
        with self._lock:
            for counts, key in ((self._visitors, visitor_id), (self._addresses, address)):
                counts[key] -= 1
                if counts[key] <= 0:
                    del counts[key]  # an idle visitor or address costs nothing

    def counted(self) -> tuple[int, int]:
        """Visitors and addresses holding a socket now."""
        with self._lock:
            return len(self._visitors), len(self._addresses)


class Slot:
    """One counted socket; `release` gives it back, once, however often it is called."""

    def __init__(self, caps: SocketCaps, visitor_id: str, address: str) -> None:
        self._caps = caps
        self._key: tuple[str, str] | None = (visitor_id, address)
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            key, self._key = self._key, None
        if key is not None:
            self._caps._release(*key)
