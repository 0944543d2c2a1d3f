"""Pick a store by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from .base import Entry, Listener, Message, Store, StoreError
from .memory import MemoryStore

__all__ = ["Entry", "Listener", "MemoryStore", "Message", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """`memory://` for one process, `redis://host:port/db` for many; anything else is refused."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in ("redis", "rediss"):
        try:
            from .redis_store import RedisStore
        except ImportError:  # pragma: no cover - redis is in requirements.txt
            raise ValueError(
                "STORE_URL: redis:// needs the redis package: pip install redis"
            ) from None
        return RedisStore(url)
    raise ValueError(f"STORE_URL: unknown scheme {scheme!r}; use memory:// or redis://")
