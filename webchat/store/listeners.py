"""The listeners of this process, by visitor: whom to call when a message for a visitor arrives.

Both stores keep the same registry; they differ only in how a message gets here (a direct call
in memory, a pub/sub channel from Redis).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict

from .base import Listener, Message

log = logging.getLogger(__name__)


class LocalListeners:
    """A thread-safe visitor → listeners map; listeners are called outside the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_visitor: dict[str, list[Listener]] = defaultdict(list)

    def add(self, visitor_id: str, listener: Listener) -> bool:
        """Register; True when it is the visitor's first listener here."""
        with self._lock:
            first = not self._by_visitor[visitor_id]
            self._by_visitor[visitor_id].append(listener)
            return first

    def remove(self, visitor_id: str, listener: Listener) -> bool:
        """Unregister (unknown listeners are ignored); True when none of the visitor's is left."""
        with self._lock:
            listeners = self._by_visitor.get(visitor_id)
            if listeners is None:
                return False
            if listener in listeners:
                listeners.remove(listener)
            if listeners:
                return False
            del self._by_visitor[visitor_id]
            return True

    def has(self, visitor_id: str) -> bool:
        with self._lock:
            return bool(self._by_visitor.get(visitor_id))

    def visitors(self) -> list[str]:
        with self._lock:
            return list(self._by_visitor)

    def dispatch(self, visitor_id: str, message: Message) -> None:
        """Call each of the visitor's listeners; one failing does not stop the others."""
        with self._lock:
            listeners = list(self._by_visitor.get(visitor_id, ()))
        for listener in listeners:
            try:
                listener(message)
            except Exception:
                log.exception("listener failed")
