"""The listeners of this process, by visitor: whom to call when a message for a visitor arrives.

Both stores keep the same registry; they differ only in how a message gets here (a direct call
in memory, a pub/sub channel from Redis). For Redis the registry also records, under the same
lock as the counts, every change of "does this process need the visitor's channel": the one
thread that owns the subscription connection applies them in that order, so a closing tab's
UNSUBSCRIBE can never land after the SUBSCRIBE of a tab opened just after it.
"""

from __future__ import annotations

import logging
import threading

from .base import Listener, Message

log = logging.getLogger(__name__)

Change = tuple[str, bool, threading.Event | None]  # visitor, needed, set once subscribed


class _Visitor:
    """A visitor's listeners here, and the confirmation of their shared subscription."""

    __slots__ = ("listeners", "ready")

    def __init__(self, ready: threading.Event | None) -> None:
        self.listeners: list[Listener] = []
        self.ready = ready


class LocalListeners:
    """A thread-safe visitor → listeners map; listeners are called outside the lock.

    With `track`, each visitor's first listener and last removal are queued as changes
    (`take_changes`), and every visitor has an Event its listeners wait on until the owner of
    the subscription connection confirms it.
    """

    def __init__(self, track: bool = False) -> None:
        self._lock = threading.Lock()
        self._by_visitor: dict[str, _Visitor] = {}
        self._track = track
        self._changes: list[Change] = []

    def add(self, visitor_id: str, listener: Listener) -> threading.Event | None:
        """Register; the Event set once the visitor's subscription is confirmed (when tracked)."""
        with self._lock:
            entry = self._by_visitor.get(visitor_id)
            if entry is None:
                ready = threading.Event() if self._track else None
                entry = self._by_visitor[visitor_id] = _Visitor(ready)
                if self._track:
                    self._changes.append((visitor_id, True, ready))
            entry.listeners.append(listener)
            return entry.ready

    def remove(self, visitor_id: str, listener: Listener) -> bool:
        """Unregister (unknown listeners are ignored); True when none of the visitor's is left."""
        with self._lock:
            entry = self._by_visitor.get(visitor_id)
            if entry is None:
                return False
            if listener in entry.listeners:
                entry.listeners.remove(listener)
            if entry.listeners:
                return False
            del self._by_visitor[visitor_id]
            if self._track:
                self._changes.append((visitor_id, False, None))
            return True

    def take_changes(self) -> list[Change]:
        """The changes since the last call, in the order they happened."""
        with self._lock:
            changes, self._changes = self._changes, []
            return changes

    def resubscribe(self) -> list[tuple[str, threading.Event | None]]:
        """For a fresh connection: every visitor with listeners now; pending changes are void."""
        with self._lock:
            self._changes = []
            return [(v, entry.ready) for v, entry in self._by_visitor.items()]

    def has(self, visitor_id: str) -> bool:
        with self._lock:
            return visitor_id in self._by_visitor

    def visitors(self) -> list[str]:
        with self._lock:
            return list(self._by_visitor)

    def dispatch(self, visitor_id: str, message: Message) -> None:
        """Call each of the visitor's listeners; one failing does not stop the others."""
        with self._lock:
            entry = self._by_visitor.get(visitor_id)
            listeners = list(entry.listeners) if entry else []
        for listener in listeners:
            try:
                listener(message)
            except Exception:
                log.exception("listener failed")
