"""Per-visitor rate limits: socket frames and uploads per minute.

HTTP routes use flask-limiter; socket frames, which flask-limiter cannot see, use the `limits`
library it is built on, with the same storage: in memory for one process, Redis when the
store is Redis, so a visitor's allowance is shared by every instance.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from flask import Flask
from flask_limiter import Limiter
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .visitor import current_visitor


def storage_uri(store_url: str) -> str:
    """The limits storage matching the store: memory://, or the same Redis."""
    return store_url if store_url.startswith(("redis://", "rediss://")) else "memory://"


class FrameLimiter:
    """Allows `per_minute` frames per visitor in any sliding minute: in this process's memory
    (LocalMovingWindow), or in Redis when the store is Redis."""

    def __init__(self, store_url: str, per_minute: int) -> None:
        self._local: LocalMovingWindow | None = None
        if storage_uri(store_url) == "memory://":
            self._local = LocalMovingWindow(per_minute, 60.0)
            return
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(store_url)))
        self._limit = parse(f"{per_minute}/minute")

    def allow(self, visitor_id: str) -> bool:
        """Count one frame; False when the visitor is over the limit (the frame is refused)."""
        if self._local is not None:
            return self._local.hit(visitor_id)
        try:
            return self._limiter.hit(self._limit, "frames", visitor_id)
        except Exception:  # noqa: BLE001 - an unreachable limiter must not stop the chat
            return True


class LocalMovingWindow:
    """At most `limit` hits per key in any `window` seconds, exactly, in O(1) per hit.

    Not the `limits` library's memory storage: that one re-scans every key's events from a new
    timer thread every 10 ms while hits arrive, which took two thirds of a core at 1,000 open
    chats (bench/README.md). Here each key keeps the times of its last hits, at most `limit`,
    and keys idle for a whole window are dropped once per window.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._next_sweep = clock() + window

    def hit(self, key: str) -> bool:
        """Count one hit for `key`; False (and not counted) when it is over the limit."""
        now = self._clock()
        start = now - self.window
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(start)
                self._next_sweep = now + self.window
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
            while hits and hits[0] <= start:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def _sweep(self, start: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= start]:
            del self._hits[key]

    def __len__(self) -> int:
        return len(self._hits)


limiter = Limiter(
    key_func=current_visitor, default_limits=[], swallow_errors=True, headers_enabled=True
)


def init_app(app: Flask, store_url: str) -> None:
    """flask-limiter for HTTP routes, keyed by visitor; routes declare their own limits."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(store_url))
    limiter.init_app(app)
