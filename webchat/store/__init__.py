"""Pick a store by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from .base import Entry, Listener, Message, Store, StoreError
from .memory import MemoryStore
from .sentinel import SCHEME, sentinel_client

__all__ = ["Entry", "Listener", "MemoryStore", "Message", "Store", "StoreError", "open_store"]


def open_store(url: str) -> Store:
    """`memory://` for one process, `redis://host:port/db` for many, `redis+sentinel://…` for
    many on a highly available Redis (see sentinel.py); anything else is refused."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in ("redis", "rediss", SCHEME):
        try:
            from .redis_store import OPTIONS, RedisStore
        except ImportError:  # pragma: no cover - redis is in requirements.txt
            raise ValueError(
                "STORE_URL: redis:// needs the redis package: pip install redis"
            ) from None
        if scheme == SCHEME:
            try:
                return RedisStore(client=sentinel_client(url, OPTIONS))
            except ValueError as error:
                raise ValueError(f"STORE_URL: {error}") from None
        return RedisStore(url)
    raise ValueError(
        f"STORE_URL: unknown scheme {scheme!r}; use memory://, redis:// or redis+sentinel://"
    )
