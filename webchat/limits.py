"""Rate limits: socket frames and uploads per visitor and minute, chat starts per visitor and
per client address and hour.

HTTP routes use flask-limiter; socket frames, which flask-limiter cannot see, use the `limits`
library it is built on, with the same storage: in memory for one process, Redis when the
store is Redis, so a visitor's allowance is shared by every instance.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask
from flask_limiter import Limiter
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .store.sentinel import SCHEME as SENTINEL_SCHEME
from .store.sentinel import parse_sentinel_url
from .visitor import current_visitor


def storage_for(store_url: str) -> tuple[str, dict[str, Any]]:
    """The limits storage matching the store, as a URI and its options: memory://, the same
    Redis, or the same Redis primary found through the same sentinels."""
    if store_url.startswith(("redis://", "rediss://")):
        return store_url, {}
    if not store_url.startswith(SENTINEL_SCHEME + "://"):
        return "memory://", {}
    # limits takes `redis+sentinel://host:port,host:port/service` (no db, every port given)
    # and sends the primary's credentials to the sentinels too; ours go only where we say.
    parsed = parse_sentinel_url(store_url)
    hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in parsed.sentinels)
    timeouts = {"socket_timeout": 5, "socket_connect_timeout": 3}
    options: dict[str, Any] = {
        **timeouts,
        **parsed.auth(),
        "db": parsed.db,
        "use_replicas": False,  # counts read from a lagging replica would let extra hits by
        "sentinel_kwargs": {
            **timeouts,
            "username": None,
            "password": None,
            **parsed.sentinel_auth(),
        },
    }
    return f"{SENTINEL_SCHEME}://{hosts}/{parsed.service}", options


LIMITER_CONNECTIONS = 16  # a limiter's Redis connections in one process; more hits wait


def _pooled(uri: str, options: dict[str, Any]) -> dict[str, Any]:
    """On a plain Redis, a pool where a burst of hits waits for a connection (up to 5 s), as
    the store's commands do: redis-py's own pool opens a connection for each hit in flight and
    refuses past 100, which a limiter would swallow, letting the burst through unlimited."""
    if not uri.startswith(("redis://", "rediss://")):
        return options
    pool = redis.BlockingConnectionPool.from_url(
        uri,
        max_connections=LIMITER_CONNECTIONS,
        timeout=5,
        socket_timeout=5,
        socket_connect_timeout=3,
    )
    return {**options, "connection_pool": pool}


def _storage(store_url: str) -> Any:
    uri, options = storage_for(store_url)
    return storage_from_string(uri, **_pooled(uri, options))


class FrameLimiter:
    """Allows `per_minute` frames per visitor in any sliding minute: in this process's memory
    (LocalMovingWindow), or in Redis when the store is Redis."""

    def __init__(self, store_url: str, per_minute: int) -> None:
        self._local: LocalMovingWindow | None = None
        if storage_for(store_url)[0] == "memory://":
            self._local = LocalMovingWindow(per_minute, 60.0)
            return
        self._limiter = MovingWindowRateLimiter(_storage(store_url))
        self._limit = parse(f"{per_minute}/minute")

    def allow(self, visitor_id: str) -> bool:
        """Count one frame; False when the visitor is over the limit (the frame is refused)."""
        if self._local is not None:
            return self._local.hit(visitor_id)
        try:
            return self._limiter.hit(self._limit, "frames", visitor_id)
        except Exception:  # noqa: BLE001 - an unreachable limiter must not stop the chat
            return True


class StartLimiter:
    """Allows chat starts per visitor and per client address in any sliding hour.

    Each start queues a chat at the contact center, so one visitor (or a script behind one
    address, minting visitors) must not start hundreds. In this process's memory, or in Redis
    when the store is Redis, shared by every instance. A start refused by either limit counts
    against neither.
    """

    WINDOW = 3600.0

    def __init__(self, store_url: str, per_visitor: int, per_address: int) -> None:
        self._local: tuple[LocalMovingWindow, LocalMovingWindow] | None = None
        if storage_for(store_url)[0] == "memory://":
            self._local = (
                LocalMovingWindow(per_visitor, self.WINDOW),
                LocalMovingWindow(per_address, self.WINDOW),
            )
            return
        self._limiter = MovingWindowRateLimiter(_storage(store_url))
        self._visitor_limit = parse(f"{per_visitor}/hour")
        self._address_limit = parse(f"{per_address}/hour")

    def allow(self, visitor_id: str, address: str | None) -> bool:
        """Count one start; False when the visitor or the address is over its limit."""
        where = address or "unknown"
        if self._local is not None:
            visitors, addresses = self._local
            if not (visitors.allows(visitor_id) and addresses.allows(where)):
                return False
            return visitors.hit(visitor_id) and addresses.hit(where)
        limiter = self._limiter
        try:
            if not (
                limiter.test(self._visitor_limit, "starts", visitor_id)
                and limiter.test(self._address_limit, "starts-from", where)
            ):
                return False
            visitor_ok = limiter.hit(self._visitor_limit, "starts", visitor_id)
            return limiter.hit(self._address_limit, "starts-from", where) and visitor_ok
        except Exception:  # noqa: BLE001 - an unreachable limiter must not stop the chat
            return True


class LocalMovingWindow:
    """At most `limit` hits per key in any `window` seconds, exactly, in amortised O(1) per hit.

    Not the `limits` library's memory storage: that one re-scans every key's events from a new
    timer thread every 10 ms while hits arrive, a cost that grows with the open chats and came
    to dominate the worker's CPU (bench/README.md). Here each key keeps the times of its last
    hits, at most `limit`, and keys idle for a whole window are dropped once per window.
    """

    def __init__(
        self, limit: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        # A key's hit times, oldest first: a list, because most keys (an open chat's visitor)
        # hold a few, and a deque takes 600 bytes however few it holds.
        self._hits: dict[str, list[float]] = {}
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
                hits = self._hits[key] = []
            if hits and hits[0] <= start:
                del hits[: bisect.bisect_right(hits, start)]
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            return True

    def allows(self, key: str) -> bool:
        """Whether a hit for `key` would be allowed now, without counting one."""
        start = self._clock() - self.window
        with self._lock:
            hits = self._hits.get(key)
            return hits is None or sum(1 for t in hits if t > start) < self.limit

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
    uri, options = storage_for(store_url)
    app.config.setdefault("RATELIMIT_STORAGE_URI", uri)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", _pooled(uri, options))
    limiter.init_app(app)
