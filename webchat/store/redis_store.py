"""The Redis store: many processes and machines share visitors, logs, leases and fan-out.

Keys (prefix `wc:`): a visitor's cookies (hash) and chat pointer; a chat's owner, event log
(list: seq = index + 1), remembered keys (set), sent and tried send ids (sets), each send's
claim (a key taken with SET NX, lapsing by itself) and poll lease. Appending is one
Lua script that numbers, de-duplicates and publishes in the same step, so every process sees
a chat's entries in seq order. Each process holds one pub/sub connection, subscribed to the
channels of the visitors whose sockets it serves; when Redis comes back after an outage the
listener resubscribes and tells every socket to catch up from the log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from typing import Any

import redis

from .base import (
    Entry,
    LeaseRead,
    Listener,
    Message,
    SendClaim,
    SendRead,
    Store,
    StoreError,
    cookie_key,
    merge_chat,
)
from .listeners import LocalListeners
from .redis_scripts import (
    APPEND,
    CLAIM_SEND,
    COMPLETE_SEND,
    RELEASE,
    RELEASE_SEND,
    RENEW,
    REVOKE,
)

log = logging.getLogger(__name__)

# Commands one process has in flight at once; more wait for a turn (up to IN_FLIGHT_WAIT s).
# A worker's thousands of greenlets can all want Redis at the same moment (polls that come
# back together after a pause): each command would otherwise take a connection of its own,
# and redis-py refuses connections past its pool's size ("Too many connections").
IN_FLIGHT = 64
IN_FLIGHT_WAIT = 5.0

# Every client of the store is made with these: text, bounded waits on a dead server, and a
# pool with room for the commands in flight, the pub/sub connection and a few to spare.
OPTIONS: dict[str, Any] = {
    "decode_responses": True,
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
    "health_check_interval": 15,
    "max_connections": IN_FLIGHT + 8,
}

VISITOR_TTL = 30 * 24 * 3600
CHAT_TTL = 7 * 24 * 3600


def _store_error(error: redis.RedisError) -> StoreError:
    return StoreError(f"Redis: {type(error).__name__}: {error}")


def _channel(visitor_id: str) -> str:
    return f"wc:ch:{visitor_id}"


def compact_json(event: dict[str, Any]) -> str:
    """An event as JSON with its text as UTF-8, not escaped: \\uXXXX costs 6 bytes per
    character, three times a CJK character's UTF-8. Text holding a lone surrogate (valid in a
    JSON frame, not in UTF-8) keeps the escaped form."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    try:
        text.encode()
    except UnicodeEncodeError:
        return json.dumps(event, separators=(",", ":"))
    return text


class RedisStore(Store):
    """Store on Redis; see MemoryStore for the semantics every method shares."""

    def __init__(self, url: str = "", client: redis.Redis | None = None) -> None:
        """On `url` (redis:// or rediss://), or on a `client` made elsewhere, such as a
        Sentinel's client of the current primary (see open_store)."""
        self._redis = client if client is not None else redis.Redis.from_url(url, **OPTIONS)
        self._append = self._redis.register_script(APPEND)
        self._renew = self._redis.register_script(RENEW)
        self._release = self._redis.register_script(RELEASE)
        self._claim_send = self._redis.register_script(CLAIM_SEND)
        self._complete_send = self._redis.register_script(COMPLETE_SEND)
        self._release_send = self._redis.register_script(RELEASE_SEND)
        self._revoke = self._redis.register_script(REVOKE)
        self._scripts = (
            self._append,
            self._renew,
            self._release,
            self._claim_send,
            self._complete_send,
            self._release_send,
            self._revoke,
        )
        # Only the listener thread touches the pub/sub connection and `_confirming`; sockets
        # change the listener counts, which queue the SUBSCRIBE/UNSUBSCRIBE it applies.
        self._in_flight = threading.BoundedSemaphore(IN_FLIGHT)
        self._local = LocalListeners(track=True)
        self._confirming: dict[str, deque[threading.Event | None]] = {}  # channel -> waiters
        self._own_channel = f"wc:proc:{uuid.uuid4().hex}"  # also wakes the listener
        self._pubsub: Any = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="redis-listener", daemon=True)
        self._thread.start()

    @contextlib.contextmanager
    def _turn(self) -> Iterator[None]:
        """One of the IN_FLIGHT places for a command (or pipeline) of this process."""
        if not self._in_flight.acquire(timeout=IN_FLIGHT_WAIT):
            raise StoreError(f"Redis: {IN_FLIGHT} commands in flight for {IN_FLIGHT_WAIT} s")
        try:
            yield
        finally:
            self._in_flight.release()

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a Redis command in its turn; any Redis failure leaves as StoreError."""
        with self._turn():
            try:
                return fn(*args, **kwargs)
            except redis.RedisError as error:
                raise _store_error(error) from None

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
        def write(pipe: Any) -> None:
            raw = pipe.get(key)
            kept = merge_chat(json.loads(raw) if raw else None, chat["chat_id"], chat)
            pipe.multi()
            pipe.set(key, json.dumps(kept if kept is not None else chat), ex=VISITOR_TTL)
            pipe.set(f"wc:c:{chat['chat_id']}:owner", visitor_id, ex=CHAT_TTL)

        key = f"wc:v:{visitor_id}:chat"
        self._call(self._redis.transaction, write, key)

    def update_chat(
        self, visitor_id: str, chat_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """WATCH, read, MULTI, write: redis-py runs it again when another writer came between."""

        def write(pipe: Any) -> dict[str, Any] | None:
            raw = pipe.get(key)
            merged = merge_chat(json.loads(raw) if raw else None, chat_id, changes)
            pipe.multi()
            if merged is not None:
                pipe.set(key, json.dumps(merged), ex=VISITOR_TTL)
            return merged

        key = f"wc:v:{visitor_id}:chat"
        return self._call(self._redis.transaction, write, key, value_from_callable=True)

    def token_epoch(self, visitor_id: str) -> int:
        return int(self._call(self._redis.get, f"wc:v:{visitor_id}:epoch") or 0)

    def revoke_tokens(self, visitor_id: str, ttl: float) -> int:
        args = [time.time_ns() // 1_000_000, max(1, math.ceil(ttl))]
        return int(self._call(self._revoke, keys=[f"wc:v:{visitor_id}:epoch"], args=args))

    def chat_owner(self, chat_id: str) -> str | None:
        return self._call(self._redis.get, f"wc:c:{chat_id}:owner")

    # -- event log ---------------------------------------------------------------------------

    def append(
        self, chat_id: str, events: list[dict[str, Any]], keys: list[str], unique: list[bool]
    ) -> list[Entry]:
        args: list[Any] = [chat_id, CHAT_TTL]
        for event, key, only_new in zip(events, keys, unique, strict=True):
            args += [compact_json(event), key, "1" if only_new else "0"]
        keys_ = [f"wc:c:{chat_id}:log", f"wc:c:{chat_id}:keys", f"wc:c:{chat_id}:owner"]
        added = self._call(self._append, keys=keys_, args=args)
        return [tuple(json.loads(item)) for item in added]

    def read(self, chat_id: str, after: int = 0) -> list[Entry]:
        items = self._call(self._redis.lrange, f"wc:c:{chat_id}:log", max(after, 0), -1)
        return [(after + i + 1, json.loads(raw)) for i, raw in enumerate(items)]

    def last_seq(self, chat_id: str) -> int:
        return int(self._call(self._redis.llen, f"wc:c:{chat_id}:log"))

    def finish_chat(self, chat_id: str, ttl: float) -> None:
        pipe = self._redis.pipeline()
        for part in ("log", "keys", "sent", "tried", "owner"):
            pipe.expire(f"wc:c:{chat_id}:{part}", max(1, int(ttl)))
        pipe.delete(f"wc:c:{chat_id}:lease")
        self._call(pipe.execute)

    # -- sends -----------------------------------------------------------------------------

    def claim_send(self, chat_id: str, send_id: str, holder: str, ttl: float) -> SendClaim:
        keys = [f"wc:c:{chat_id}:sent", f"wc:c:{chat_id}:send:{send_id}", f"wc:c:{chat_id}:tried"]
        millis = max(1, int(ttl * 1000))
        return self._call(self._claim_send, keys=keys, args=[send_id, holder, millis, CHAT_TTL])

    def complete_send(self, chat_id: str, send_id: str, holder: str) -> None:
        keys = [f"wc:c:{chat_id}:sent", f"wc:c:{chat_id}:send:{send_id}", f"wc:c:{chat_id}:tried"]
        self._call(self._complete_send, keys=keys, args=[send_id, holder, CHAT_TTL])

    def release_send(self, chat_id: str, send_id: str, holder: str, forget: bool) -> None:
        keys = [f"wc:c:{chat_id}:send:{send_id}", f"wc:c:{chat_id}:tried"]
        args = [send_id, holder, "1" if forget else "0"]
        self._call(self._release_send, keys=keys, args=args)

    # -- lease -------------------------------------------------------------------------------

    def acquire_lease(self, chat_id: str, holder: str, ttl: float) -> bool:
        millis = max(1, int(ttl * 1000))
        return bool(self._call(self._renew, keys=[f"wc:c:{chat_id}:lease"], args=[holder, millis]))

    def release_lease(self, chat_id: str, holder: str) -> None:
        self._call(self._release, keys=[f"wc:c:{chat_id}:lease"], args=[holder])

    def renew_leases(self, chat_ids: list[str], holder: str, ttl: float) -> list[bool]:
        if not chat_ids:
            return []
        millis = max(1, int(ttl * 1000))

        def build(pipe: Any) -> None:
            for chat_id in chat_ids:
                pipe.evalsha(self._renew.sha, 1, f"wc:c:{chat_id}:lease", holder, millis)

        return [bool(held) for held in self._pipeline(build)]

    def renew_and_read(self, chat_id: str, holder: str, ttl: float, visitor_id: str) -> LeaseRead:
        args = (1, f"wc:c:{chat_id}:lease", holder, max(1, int(ttl * 1000)))

        def build(pipe: Any) -> None:
            pipe.evalsha(self._renew.sha, *args)
            pipe.get(f"wc:v:{visitor_id}:chat")
            pipe.hvals(f"wc:v:{visitor_id}:cookies")

        held, raw, values = self._pipeline(build)
        chat = json.loads(raw) if raw else None
        return LeaseRead(bool(held), chat, [json.loads(v) for v in values])

    def claim_send_and_read(
        self, chat_id: str, send_id: str, holder: str, ttl: float, visitor_id: str
    ) -> SendRead:
        keys = [f"wc:c:{chat_id}:sent", f"wc:c:{chat_id}:send:{send_id}", f"wc:c:{chat_id}:tried"]
        args = [send_id, holder, max(1, int(ttl * 1000)), CHAT_TTL]

        def build(pipe: Any) -> None:
            pipe.evalsha(self._claim_send.sha, len(keys), *keys, *args)
            pipe.llen(f"wc:c:{chat_id}:log")
            pipe.hvals(f"wc:v:{visitor_id}:cookies")

        claim, seq, values = self._pipeline(build)
        return SendRead(claim, int(seq), [json.loads(v) for v in values])

    def _pipeline(self, build: Any) -> list[Any]:
        """Run the commands `build` queues in one round trip, without a transaction.

        Scripts in it go by their digest alone (a script object in a pipeline would first ask
        Redis whether it knows it: a second round trip every time); when Redis has forgotten
        them (restarted, SCRIPT FLUSH), they are loaded and the pipeline sent again."""
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            build(pipe)
            with self._turn():
                try:
                    return list(pipe.execute())
                except redis.exceptions.NoScriptError:
                    pass
                except redis.RedisError as error:
                    raise _store_error(error) from None
            if attempt == 0:
                for script in self._scripts:
                    self._call(self._redis.script_load, script.script)
        raise StoreError("Redis: the store's scripts could not be loaded")

    # -- fan-out ---------------------------------------------------------------------------------

    def subscribe(self, visitor_id: str, listener: Listener) -> None:
        """Listen, and return only once Redis confirms the subscription (or after 2 s): a
        socket then reads the log knowing that nothing appended later can pass it by."""
        ready = self._local.add(visitor_id, listener)
        if ready is None or ready.is_set():
            return
        with contextlib.suppress(StoreError):  # down: the listener subscribes on reconnect
            self._call(self._redis.publish, self._own_channel, "wake")  # applied now
        if not ready.wait(2.0):
            log.warning("subscription of a visitor not confirmed by Redis yet")

    def unsubscribe(self, visitor_id: str, listener: Listener) -> None:
        """The listener thread unsubscribes at its next turn (within a second); until then a
        message for the visitor costs one ignored dispatch."""
        self._local.remove(visitor_id, listener)

    def has_listeners(self, visitor_id: str) -> bool:
        return self._local.has(visitor_id)

    def publish(self, visitor_id: str, message: Message) -> None:
        self._call(self._redis.publish, _channel(visitor_id), json.dumps(message))

    def _connect(self) -> None:
        """A fresh pub/sub connection, subscribed to every visitor listening now."""
        pubsub = self._redis.pubsub()
        wanted = self._local.resubscribe()
        self._confirming.clear()
        for visitor_id, ready in wanted:
            self._confirming.setdefault(_channel(visitor_id), deque()).append(ready)
        pubsub.subscribe(self._own_channel, *[_channel(v) for v, _ in wanted])
        self._pubsub = pubsub

    def _apply_changes(self) -> None:
        """SUBSCRIBE and UNSUBSCRIBE in the order the listener counts changed."""
        for visitor_id, needed, ready in self._local.take_changes():
            channel = _channel(visitor_id)
            if needed:
                self._confirming.setdefault(channel, deque()).append(ready)
                self._pubsub.subscribe(channel)
            else:
                self._pubsub.unsubscribe(channel)

    def _confirmed(self, channel: str) -> None:
        """Redis answers SUBSCRIBEs of one connection in order: the oldest waiter is this one."""
        waiting = self._confirming.get(channel)
        if not waiting:
            return
        ready = waiting.popleft()
        if not waiting:
            del self._confirming[channel]
        if ready is not None:
            ready.set()

    def _listen(self) -> None:
        """Own the pub/sub connection: apply subscription changes and read messages forever;
        on a Redis outage reconnect with capped backoff."""
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
                self._apply_changes()
                message = self._pubsub.get_message(timeout=1.0)
            except (redis.RedisError, OSError, ValueError) as error:
                log.warning("Redis pub/sub lost (%s); reconnecting in %.1fs", error, delay)
                stale, self._pubsub = self._pubsub, None
                if stale is not None:
                    with contextlib.suppress(Exception):  # already broken
                        stale.close()
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            kind = message.get("type") if message else None
            if kind == "subscribe":
                self._confirmed(message["channel"])
            elif kind == "message" and message["channel"].startswith("wc:ch:"):
                self._local.dispatch(message["channel"][6:], json.loads(message["data"]))

    def ping(self) -> bool:
        """Readiness: True when Redis answers."""
        try:
            return bool(self._call(self._redis.ping))
        except StoreError:
            return False

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=3)
        if self._pubsub is not None:
            with contextlib.suppress(Exception):  # closing anyway
                self._pubsub.close()
        self._redis.close()
