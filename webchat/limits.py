"""Per-visitor rate limits: socket frames and uploads per minute.

HTTP routes use flask-limiter; socket frames, which flask-limiter cannot see, use the `limits`
library it is built on, with the same storage: in memory for one process, Redis when the
store is Redis, so a visitor's allowance is shared by every instance.
"""

from __future__ import annotations

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
    """Allows `per_minute` frames per visitor in any sliding minute."""

    def __init__(self, store_url: str, per_minute: int) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(store_url)))
        self._limit = parse(f"{per_minute}/minute")

    def allow(self, visitor_id: str) -> bool:
        """Count one frame; False when the visitor is over the limit (the frame is refused)."""
        try:
            return self._limiter.hit(self._limit, "frames", visitor_id)
        except Exception:  # noqa: BLE001 - an unreachable limiter must not stop the chat
            return True


limiter = Limiter(
    key_func=current_visitor, default_limits=[], swallow_errors=True, headers_enabled=True
)


def init_app(app: Flask, store_url: str) -> None:
    """flask-limiter for HTTP routes, keyed by visitor; routes declare their own limits."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(store_url))
    limiter.init_app(app)
