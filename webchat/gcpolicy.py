"""Garbage collection for a process that holds thousands of chats for minutes each.

CPython's cyclic collector, in a full collection, walks every object it tracks. With 5,000 open
chats that is about 1.4 million objects and 0.9-1.6 s during which no socket is served (the
whole worker stands still under gevent); with the default thresholds it happened several times
a minute. Almost all of those objects live as long as their chat, and the ones that come and go
(a poll's response, a page's request) are freed by reference counting, not by the collector.

So, in each worker: every `interval` seconds `gc.freeze()` moves everything the collector tracks
into its permanent generation, which it never walks. Young collections then only see what was
made since, and stay short. The interval is short (0.1 s) because CPython starts a young
collection by counting allocations net of frees, and old objects freed (a poll's answer
replacing the last one) hide new ones: with a second between freezes, the youngest generation
held some 25,000 objects at 5,000 chats and each of its collections took 12-19 ms.

Objects freed by reference counting leave the permanent generation as usual; what can pile up
there is cyclic garbage. A closed socket used to leave its whole request in cycles (gunicorn's,
Flask's, simple-websocket's and our own objects, about 90 of them); those cycles are cut when a
socket ends (webchat/sockets/rawsocket.py `release`), and what is left is flask-sock's class
made for each socket, about ten objects. So a full collection runs only when the process has
grown by `growth` (a fraction, 1.0 by default: doubled) since the last one, measured on memory
that is still held rather than on objects promoted, so polls that come and go never set it
off. At 8,000 chats a full collection holds the worker about a second; it comes while the
number of chats grows to twice what it was, and in a steady state only after some hundred
thousand sockets have closed. Resident memory stands in for the count of frozen objects
because counting them walks all of them.
"""

from __future__ import annotations

import gc
import os
import threading
import time
from dataclasses import dataclass, field

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Where /proc is missing (not Linux), a full collection every this many seconds instead.
FALLBACK_FULL_SECONDS = 600.0


def resident_bytes() -> int | None:
    """This process's resident memory, from /proc/self/statm (cheap: one small read)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class GcSteward:
    """Freezes what has lived a while; runs a full collection when memory says it is due."""

    interval: float = 0.1
    growth: float = 1.0
    full_collections: int = 0
    last_full_seconds: float = 0.0
    last_full_collected: int = 0
    _base: int | None = None
    _last_full_at: float = field(default_factory=time.monotonic)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Freeze what start-up made, then tend the heap in the background for good."""
        gc.collect()
        gc.freeze()
        self._base = resident_bytes()
        threading.Thread(target=self._run, name="gc-steward", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tend()

    def tend(self) -> None:
        """One turn: a full collection if due, else a freeze of what has survived so far."""
        if self.due():
            self.collect_all()
        else:
            gc.freeze()

    def due(self) -> bool:
        now = resident_bytes()
        if now is None or self._base is None:
            return time.monotonic() - self._last_full_at >= FALLBACK_FULL_SECONDS
        return now > self._base * (1 + self.growth)

    def collect_all(self) -> None:
        """Give the frozen objects back to the collector, collect everything, freeze again."""
        started = time.perf_counter()
        gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        self.last_full_seconds = time.perf_counter() - started
        self.last_full_collected = collected
        self.full_collections += 1
        self._last_full_at = time.monotonic()
        self._base = resident_bytes()


steward: GcSteward | None = None


def start(interval: float, growth: float) -> GcSteward:
    """Start the worker's steward (once); gunicorn.conf.py calls this in each worker."""
    global steward
    if steward is None:
        steward = GcSteward(interval=interval, growth=growth)
        steward.start()
    return steward
