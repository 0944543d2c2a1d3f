"""The Redis store: many processes and machines share visitors, logs, leases and fan-out.

Keys (prefix `wc:`): a visitor's cookies (hash) and chat pointer; a chat's owner, event log
(list: seq = index + 1), remembered keys (set), sent ids (set) and poll lease. Appending is one
Lua script that numbers, de-duplicates and publishes in the same step, so every process sees
a chat's entries in seq order. Each process holds one pub/sub connection, subscribed to the
channels of the visitors whose sockets it serves; when Redis comes back after an outage the
listener resubscribes and tells every socket to catch up from the log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from typing import Any

import redis

from ..servicepattern.cookies import cookie_key
from .base import Entry, Listener, Message, Store, StoreError
from .listeners import LocalListeners

log = logging.getLogger(__name__)

VISITOR_TTL = 30 * 24 * 3600
CHAT_TTL = 7 * 24 * 3600

APPEND = """
local added = {}
local n = redis.call('LLEN', KEYS[1])
for i = 3, #ARGV, 3 do
  local key = ARGV[i + 1]
  if not (ARGV[i + 2] == '1' and redis.call('SISMEMBER', KEYS[2], key) == 1) then
    redis.call('SADD', KEYS[2], key)
    n = redis.call('RPUSH', KEYS[1], ARGV[i])
    table.insert(added, '[' .. n .. ',' .. ARGV[i] .. ']')
  end
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
local owner = redis.call('GET', KEYS[3])
if #added > 0 and owner then
  redis.call('PUBLISH', 'wc:ch:' .. owner, '{"kind":"events","chat_id":' ..
    cjson.encode(ARGV[1]) .. ',"entries":[' .. table.concat(added, ',') .. ']}')
end
return added
"""

RENEW = """
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
elseif current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _channel(visitor_id: str) -> str:
    return f"wc:ch:{visitor_id}"


class RedisStore(Store):
    """Store on Redis; see MemoryStore for the semantics every method shares."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=5,
            socket_connect_timeout=3,
            health_check_interval=15,
        )
        self._append = self._redis.register_script(APPEND)
        self._renew = self._redis.register_script(RENEW)
        self._release = self._redis.register_script(RELEASE)
        self._local = LocalListeners()
        self._lock = threading.Lock()  # guards the pub/sub connection object
        self._confirmations: dict[str, threading.Event] = {}  # channel -> SUBSCRIBE confirmed
        self._own_channel = f"wc:proc:{uuid.uuid4().hex}"
        self._pubsub: Any = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-listener", daemon=True)
        self._thread.start()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Redis command; any Redis failure leaves as StoreError."""
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as error:
            raise StoreError(f"Redis: {type(error).__name__}: {error}") from None

    # -- visitors ------------------------------------------------------------------------

    def get_cookies(self, visitor_id: str) -> list[dict[str, Any]]:
        values = self._call(self._redis.hvals, f"wc:v:{visitor_id}:cookies")
        return [json.loads(v) for v in values]

    def merge_cookies(self, visitor_id: str, cookies: list[dict[str, Any]]) -> None:
        if not cookies:
            return
        key = f"wc:v:{visitor_id}:cookies"
        pipe = self._redis.pipeline()
        pipe.hset(key, mapping={cookie_key(c): json.dumps(c) for c in cookies})
        pipe.expire(key, VISITOR_TTL)
        self._call(pipe.execute)

    def get_chat(self, visitor_id: str) -> dict[str, Any] | None:
        raw = self._call(self._redis.get, f"wc:v:{visitor_id}:chat")
        return json.loads(raw) if raw else None

    def set_chat(self, visitor_id: str, chat: dict[str, Any]) -> None:
        pipe = self._redis.pipeline()
        pipe.set(f"wc:v:{visitor_id}:chat", json.dumps(chat), ex=VISITOR_TTL)
        pipe.set(f"wc:c:{chat['chat_id']}:owner", visitor_id, ex=CHAT_TTL)
        self._call(pipe.execute)

    def chat_owner(self, chat_id: str) -> str | None:
        return self._call(self._redis.get, f"wc:c:{chat_id}:owner")

    # -- event log ---------------------------------------------------------------------------

    def append(
        self, chat_id: str, events: list[dict[str, Any]], keys: list[str], unique: list[bool]
    ) -> list[Entry]:
        args: list[Any] = [chat_id, CHAT_TTL]
        for event, key, only_new in zip(events, keys, unique, strict=True):
            args += [json.dumps(event, separators=(",", ":")), key, "1" if only_new else "0"]
        keys_ = [f"wc:c:{chat_id}:log", f"wc:c:{chat_id}:keys", f"wc:c:{chat_id}:owner"]
        added = self._call(self._append, keys=keys_, args=args)
        return [tuple(json.loads(item)) for item in added]  # type: ignore[misc]

    def read(self, chat_id: str, after: int = 0) -> list[Entry]:
        items = self._call(self._redis.lrange, f"wc:c:{chat_id}:log", max(after, 0), -1)
        return [(after + i + 1, json.loads(raw)) for i, raw in enumerate(items)]

    def last_seq(self, chat_id: str) -> int:
        return int(self._call(self._redis.llen, f"wc:c:{chat_id}:log"))

    def finish_chat(self, chat_id: str, ttl: float) -> None:
        pipe = self._redis.pipeline()
        for part in ("log", "keys", "sent", "owner"):
            pipe.expire(f"wc:c:{chat_id}:{part}", max(1, int(ttl)))
        pipe.delete(f"wc:c:{chat_id}:lease")
        self._call(pipe.execute)

    # -- sends -----------------------------------------------------------------------------

    def was_sent(self, chat_id: str, send_id: str) -> bool:
        return bool(self._call(self._redis.sismember, f"wc:c:{chat_id}:sent", send_id))

    def mark_sent(self, chat_id: str, send_id: str) -> None:
        pipe = self._redis.pipeline()
        pipe.sadd(f"wc:c:{chat_id}:sent", send_id)
        pipe.expire(f"wc:c:{chat_id}:sent", CHAT_TTL)
        self._call(pipe.execute)

    # -- lease -------------------------------------------------------------------------------

    def acquire_lease(self, chat_id: str, holder: str, ttl: float) -> bool:
        millis = max(1, int(ttl * 1000))
        return bool(self._call(self._renew, keys=[f"wc:c:{chat_id}:lease"], args=[holder, millis]))

    def release_lease(self, chat_id: str, holder: str) -> None:
        self._call(self._release, keys=[f"wc:c:{chat_id}:lease"], args=[holder])

    # -- fan-out ---------------------------------------------------------------------------------

    def subscribe(self, visitor_id: str, listener: Listener) -> None:
        """Listen, and return only once Redis confirms the subscription (or after 2 s): a
        socket then reads the log knowing that nothing appended later can pass it by."""
        if not self._local.add(visitor_id, listener):
            return
        channel = _channel(visitor_id)
        confirmed = self._confirmations.setdefault(channel, threading.Event())
        with self._lock:
            pubsub = self._pubsub
        if pubsub is not None:  # else the listener subscribes every visitor when it connects
            try:
                pubsub.subscribe(channel)
            except redis.RedisError:
                log.warning("subscribe failed; the listener resubscribes on reconnect")
        if not confirmed.wait(2.0):
            log.warning("subscription of a visitor not confirmed by Redis yet")

    def unsubscribe(self, visitor_id: str, listener: Listener) -> None:
        if self._local.remove(visitor_id, listener):
            with self._lock:
                pubsub = self._pubsub
            if pubsub is not None:
                with contextlib.suppress(redis.RedisError):  # stale: costs an ignored message
                    pubsub.unsubscribe(_channel(visitor_id))

    def has_listeners(self, visitor_id: str) -> bool:
        return self._local.has(visitor_id)

    def publish(self, visitor_id: str, message: Message) -> None:
        self._call(self._redis.publish, _channel(visitor_id), json.dumps(message))

    def _connect(self) -> None:
        pubsub = self._redis.pubsub()
        channels = [_channel(v) for v in self._local.visitors()]
        pubsub.subscribe(self._own_channel, *channels)
        with self._lock:
            self._pubsub = pubsub
        missed = [v for v in self._local.visitors() if _channel(v) not in channels]
        if missed:  # subscribed while we were connecting
            pubsub.subscribe(*[_channel(v) for v in missed])

    def _listen(self) -> None:
        """Read pub/sub messages forever; on a Redis outage reconnect with capped backoff."""
        delay = 0.1
        connected_before = False
        while not self._closed.is_set():
            try:
                if self._pubsub is None:
                    self._connect()
                    if connected_before:
                        log.warning("Redis is back; sockets catch up from the logs")
                        for visitor_id in self._local.visitors():
                            self._local.dispatch(visitor_id, {"kind": "resync"})
                    connected_before = True
                    delay = 0.1
                message = self._pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError, ValueError) as error:
                log.warning("Redis pub/sub lost (%s); reconnecting in %.1fs", error, delay)
                with self._lock:
                    stale, self._pubsub = self._pubsub, None
                if stale is not None:
                    with contextlib.suppress(Exception):  # already broken
                        stale.close()
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            kind = message.get("type") if message else None
            if kind == "subscribe":
                self._confirmations.pop(message["channel"], threading.Event()).set()
            elif kind == "message" and message["channel"].startswith("wc:ch:"):
                self._local.dispatch(message["channel"][6:], json.loads(message["data"]))

    def ping(self) -> bool:
        """Readiness: True when Redis answers."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=3)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # closing anyway
                self._pubsub.close()
        self._redis.close()
