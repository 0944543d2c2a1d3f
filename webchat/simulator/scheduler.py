"""One timer thread for all agent actions, so request handlers never block on the script
and everything a chat scheduled can be cancelled when it ends or the server stops."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass(order=True)
class _Item:
    due: float
    seq: int
    tag: tuple[str, str] = field(compare=False)
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    """Runs callbacks at monotonic deadlines on a single daemon thread.

    Items are tagged ``(chat_id, kind)``; ``cancel(chat_id)`` drops a chat's items and
    ``cancel(chat_id, kind)`` only one kind (e.g. the inactivity timers).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[_Item] = []
        self._seq = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="sim-agent", daemon=True)
        self._thread.start()

    def call_later(self, delay: float, tag: tuple[str, str], fn: Callable[[], None]) -> None:
        item = _Item(time.monotonic() + max(0.0, delay), next(self._seq), tag, fn)
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, item)
            self._cond.notify()

    def cancel(self, chat_id: str, kind: str | None = None) -> None:
        with self._cond:
            for item in self._heap:
                if item.tag[0] == chat_id and (kind is None or item.tag[1] == kind):
                    item.cancelled = True

    def pending(self, chat_id: str) -> int:
        with self._cond:
            return sum(1 for i in self._heap if i.tag[0] == chat_id and not i.cancelled)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if self._heap and self._heap[0].cancelled:
                        heapq.heappop(self._heap)
                        continue
                    wait = self._heap[0].due - time.monotonic() if self._heap else None
                    if wait is not None and wait <= 0:
                        break
                    self._cond.wait(wait)
                if self._stopped:
                    return
                item = heapq.heappop(self._heap)
            try:
                item.fn()
            except Exception:  # a broken script step must not kill the timer thread
                log.exception("simulator agent step %s failed", item.tag)
