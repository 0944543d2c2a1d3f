"""The in-process store: the default for one process, and the reference semantics."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .base import Entry, Listener, Message, SendClaim, Store, cookie_key, merge_chat
from .listeners import LocalListeners

log = logging.getLogger(__name__)

VISITOR_TTL = 24 * 3600.0


@dataclass
class _Visitor:
    cookies: dict[str, dict[str, Any]] = field(default_factory=dict)
    chat: dict[str, Any] | None = None
    seen: float = field(default_factory=time.monotonic)


@dataclass
class _Log:
    entries: list[Entry] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    sent: set[str] = field(default_factory=set)
    tried: set[str] = field(default_factory=set)  # claimed at least once: may have been posted
    claims: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (holder, until)
    expires: float | None = None


class MemoryStore(Store):
    """Dicts under one lock; listeners are called in the publishing thread, outside the lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._visitors: dict[str, _Visitor] = {}
        self._owners: dict[str, str] = {}
        self._logs: dict[str, _Log] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._local = LocalListeners()
        self._chat_locks: dict[str, threading.Lock] = {}
        self._epochs: dict[str, tuple[int, float]] = {}  # visitor -> (epoch, kept until)

    def _visitor(self, visitor_id: str) -> _Visitor:
        visitor = self._visitors.get(visitor_id)
        if visitor is None:
            visitor = self._visitors[visitor_id] = _Visitor()
        visitor.seen = time.monotonic()
        return visitor

    def get_cookies(self, visitor_id: str) -> list[dict[str, Any]]:
        with self._lock:
            visitor = self._visitors.get(visitor_id)
            return [dict(c) for c in visitor.cookies.values()] if visitor else []

    def merge_cookies(self, visitor_id: str, cookies: list[dict[str, Any]]) -> None:
        with self._lock:
            jar = self._visitor(visitor_id).cookies
            for cookie in cookies:
                jar[cookie_key(cookie)] = dict(cookie)

    def get_chat(self, visitor_id: str) -> dict[str, Any] | None:
        with self._lock:
            visitor = self._visitors.get(visitor_id)
            return dict(visitor.chat) if visitor and visitor.chat else None

    def set_chat(self, visitor_id: str, chat: dict[str, Any]) -> None:
        with self._lock:
            visitor = self._visitor(visitor_id)
            kept = merge_chat(visitor.chat, chat["chat_id"], chat)
            visitor.chat = kept if kept is not None else dict(chat)
            self._owners[chat["chat_id"]] = visitor_id

    def update_chat(
        self, visitor_id: str, chat_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        with self._lock:
            visitor = self._visitors.get(visitor_id)
            merged = merge_chat(visitor.chat if visitor else None, chat_id, changes)
            if visitor is None or merged is None:
                return None
            visitor.chat = merged
            return dict(merged)

    def token_epoch(self, visitor_id: str) -> int:
        with self._lock:
            epoch, until = self._epochs.get(visitor_id, (0, 0.0))
            return epoch if until > time.monotonic() else 0

    def revoke_tokens(self, visitor_id: str, ttl: float) -> int:
        with self._lock:
            epoch = max(self.token_epoch(visitor_id) + 1, time.time_ns() // 1_000_000)
            self._epochs[visitor_id] = (epoch, time.monotonic() + ttl)
            return epoch

    def chat_owner(self, chat_id: str) -> str | None:
        with self._lock:
            return self._owners.get(chat_id)

    def append(
        self, chat_id: str, events: list[dict[str, Any]], keys: list[str], unique: list[bool]
    ) -> list[Entry]:
        # One lock per chat keeps append-then-publish in order for that chat's listeners.
        with self._chat_locks.setdefault(chat_id, threading.Lock()):
            with self._lock:
                chat_log = self._logs.setdefault(chat_id, _Log())
                added: list[Entry] = []
                for event, key, only_new in zip(events, keys, unique, strict=True):
                    if only_new and key in chat_log.keys:
                        continue
                    chat_log.keys.add(key)
                    entry = (len(chat_log.entries) + 1, event)
                    chat_log.entries.append(entry)
                    added.append(entry)
                owner = self._owners.get(chat_id)
            if added and owner is not None:
                self.publish(owner, {"kind": "events", "chat_id": chat_id, "entries": added})
            return added

    def read(self, chat_id: str, after: int = 0) -> list[Entry]:
        with self._lock:
            chat_log = self._logs.get(chat_id)
            return list(chat_log.entries[max(after, 0) :]) if chat_log else []

    def last_seq(self, chat_id: str) -> int:
        with self._lock:
            chat_log = self._logs.get(chat_id)
            return len(chat_log.entries) if chat_log else 0

    def finish_chat(self, chat_id: str, ttl: float) -> None:
        with self._lock:
            self._logs.setdefault(chat_id, _Log()).expires = time.monotonic() + ttl
            self._leases.pop(chat_id, None)
        self.sweep()

    def sweep(self) -> None:
        """Forget expired logs and long-idle visitors, so memory stays bounded."""
        now = time.monotonic()
        with self._lock:
            for chat_id in [c for c, lg in self._logs.items() if lg.expires and lg.expires < now]:
                del self._logs[chat_id]
                self._chat_locks.pop(chat_id, None)
                owner = self._owners.pop(chat_id, None)
                visitor = self._visitors.get(owner) if owner else None
                if visitor and visitor.chat and visitor.chat.get("chat_id") == chat_id:
                    visitor.chat = None
            idle = [
                v
                for v, rec in self._visitors.items()
                if now - rec.seen > VISITOR_TTL and not self._local.has(v)
            ]
            for visitor_id in idle:
                del self._visitors[visitor_id]
            for visitor_id in [v for v, (_, until) in self._epochs.items() if until < now]:
                del self._epochs[visitor_id]

    def claim_send(self, chat_id: str, send_id: str, holder: str, ttl: float) -> SendClaim:
        now = time.monotonic()
        with self._lock:
            chat_log = self._logs.setdefault(chat_id, _Log())
            if send_id in chat_log.sent:
                return "sent"
            current = chat_log.claims.get(send_id)
            if current and current[0] != holder and current[1] > now:
                return "busy"
            chat_log.claims[send_id] = (holder, now + ttl)
            if send_id in chat_log.tried:  # tried before: by another, or by us (a renewal)
                return "retry"
            chat_log.tried.add(send_id)
            return "new"

    def complete_send(self, chat_id: str, send_id: str, holder: str) -> None:
        with self._lock:
            chat_log = self._logs.setdefault(chat_id, _Log())
            chat_log.sent.add(send_id)
            chat_log.claims.pop(send_id, None)
            chat_log.tried.discard(send_id)

    def release_send(self, chat_id: str, send_id: str, holder: str, forget: bool) -> None:
        with self._lock:
            chat_log = self._logs.get(chat_id)
            current = chat_log.claims.get(send_id) if chat_log else None
            if chat_log is None or current is None or current[0] != holder:
                return
            del chat_log.claims[send_id]
            if forget:
                chat_log.tried.discard(send_id)

    def acquire_lease(self, chat_id: str, holder: str, ttl: float) -> bool:
        now = time.monotonic()
        with self._lock:
            current = self._leases.get(chat_id)
            if current and current[0] != holder and current[1] > now:
                return False
            self._leases[chat_id] = (holder, now + ttl)
            return True

    def release_lease(self, chat_id: str, holder: str) -> None:
        with self._lock:
            current = self._leases.get(chat_id)
            if current and current[0] == holder:
                del self._leases[chat_id]

    def subscribe(self, visitor_id: str, listener: Listener) -> None:
        self._local.add(visitor_id, listener)

    def unsubscribe(self, visitor_id: str, listener: Listener) -> None:
        self._local.remove(visitor_id, listener)

    def has_listeners(self, visitor_id: str) -> bool:
        return self._local.has(visitor_id)

    def publish(self, visitor_id: str, message: Message) -> None:
        self._local.dispatch(visitor_id, message)
