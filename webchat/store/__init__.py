"""Pick a store by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from .base import Entry, Listener, Message, Store
from .memory import MemoryStore

__all__ = ["Entry", "Listener", "Message", "MemoryStore", "Store", "open_store"]


def open_store(url: str) -> Store:
    """`memory://` for one process; other schemes are refused with a clear message."""
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore()
    if scheme in ("redis", "rediss"):
        raise ValueError("STORE_URL: the Redis store is not available in this version yet")
    raise ValueError(f"STORE_URL: unknown scheme {scheme!r}; use memory:// or redis://")
