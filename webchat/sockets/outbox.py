"""A socket's outbound queue: bounded, in order, drained by the socket's own writer thread.

Whoever hands work to a socket (the store's fan-out thread, which serves every visitor of the
process, or the socket's own reader) only appends here and never waits on the browser. When a
browser falls so far behind that the queue is full, what it has not been sent yet is dropped
and the owner is told to close it: the tab reconnects and catches up from the log, which keeps
everything, instead of this process keeping everything for it.

The writer runs only while there is something to write: it starts when an item arrives at an
empty queue and ends when it has drained it, so an idle socket (most of them, most of the time)
holds no thread and no stack. At most one writer runs at a time, which keeps the order.
Under gunicorn's gevent worker `threading` is monkey-patched, so the writer is a greenlet there.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

OPEN, OVERFLOWED, STOPPED = "open", "overflowed", "stopped"


def _ignore(*_: Any) -> None:
    """What a stopped outbox calls instead of its socket's handlers."""


class Outbox:
    """Items handled one at a time, in the order they were put, by one writer at a time."""

    def __init__(
        self,
        limit: int,
        handle: Callable[[Any], None],
        on_overflow: Callable[[], None],
        name: str = "ws-writer",
    ) -> None:
        self.limit = limit
        self.name = name
        self._handle = handle
        self._on_overflow = on_overflow
        # Items waiting for the writer; only while one runs (an idle socket keeps no queue:
        # an empty deque takes 760 bytes, and thousands of sockets sit idle).
        self._items: deque[Any] | None = None
        self._lock = threading.Lock()
        self._state = OPEN
        self._writer: threading.Thread | None = None  # the running writer, if any
        self._context = contextvars.copy_context()  # writers log with the socket's visitor id

    def put(self, item: Any) -> bool:
        """Queue an item without waiting; False when it was refused (full, or stopped)."""
        with self._lock:
            if self._state != OPEN:
                return False
            items = self._items
            if items is None:
                items = self._items = deque()
            if len(items) >= self.limit:  # a writer is running: it closes the socket
                self._state = OVERFLOWED
                self._items = None  # the log keeps it all; the tab resumes from there
                return False
            items.append(item)
            if self._writer is not None:
                return True
            writer = self._writer = threading.Thread(
                target=self._context.copy().run, args=(self._run,), name=self.name, daemon=True
            )
        writer.start()
        return True

    def stop(self, wait: float = 0.0) -> None:
        """The socket ended: a running writer ends after the item in hand (waited up to `wait`
        seconds)."""
        with self._lock:
            self._state = STOPPED
            self._items = None
            writer = self._writer
            # The callbacks are the session's bound methods (a cycle through it), and the
            # context holds the request's: dropped, reference counting frees the socket's
            # objects when it ends instead of a full collection (webchat/gcpolicy.py).
            self._handle = self._on_overflow = _ignore
            self._context = contextvars.Context()
        if wait and writer is not None and writer is not threading.current_thread():
            writer.join(wait)

    @property
    def alive(self) -> bool:
        """True while a writer runs."""
        writer = self._writer
        return writer is not None and writer.is_alive()

    def _run(self) -> None:
        while True:
            with self._lock:
                state = self._state
                items = self._items
                if state == OPEN and not items:
                    self._writer = None  # drained: the next item starts a new writer
                    self._items = None
                    return
                item = items.popleft() if state == OPEN and items else None
            if state == STOPPED:
                return
            if state == OVERFLOWED:
                try:
                    self._on_overflow()
                except Exception:
                    log.exception("closing a socket that fell behind failed")
                return
            try:
                self._handle(item)
            except Exception:  # a bug costs this item, not the socket's later ones
                log.exception("socket writer failed on one item")
