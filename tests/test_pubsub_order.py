"""One visitor's SUBSCRIBE and UNSUBSCRIBE reach Redis in the order their tabs came and went."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import redis

from webchat.store import open_store


class Heard:
    """A listener that records messages and sets an Event per `probe` it is told to expect."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.got = threading.Event()

    def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        self.got.set()


@pytest.fixture
def store(redis_url):
    made = open_store(redis_url)
    yield made
    made.close()


def _barrier(store: Any) -> tuple[str, Heard]:
    """Subscribe a fresh visitor: Redis confirms it only after every earlier (UN)SUBSCRIBE of
    the process's pub/sub connection, which answers in order."""
    visitor = "barrier-" + uuid.uuid4().hex
    heard = Heard()
    store.subscribe(visitor, heard)
    return visitor, heard


def test_a_closing_tabs_unsubscribe_cannot_deafen_the_tab_opened_after_it(store, monkeypatch):
    visitor = "v-" + uuid.uuid4().hex
    tab_a, tab_b = Heard(), Heard()
    store.subscribe(visitor, tab_a)

    # Tab A closes: it was the visitor's last listener here. Right after the count drops to
    # zero, and before anything else of its close happens, tab B of the same visitor opens.
    removed, b_open = threading.Event(), threading.Event()
    real_remove = store._local.remove

    def remove(visitor_id: str, listener: Any) -> bool:
        last = real_remove(visitor_id, listener)
        if listener is tab_a:
            removed.set()
            assert b_open.wait(10)
        return last

    monkeypatch.setattr(store._local, "remove", remove)
    closing = threading.Thread(target=store.unsubscribe, args=(visitor, tab_a))
    closing.start()
    assert removed.wait(10)
    store.subscribe(visitor, tab_b)  # returns once Redis confirmed B's subscription
    b_open.set()
    closing.join(10)
    assert not closing.is_alive()

    other, marker = _barrier(store)  # A's close has reached Redis, whatever it sent
    store.publish(visitor, {"kind": "probe"})
    store.publish(other, {"kind": "marker"})  # published after the probe: delivered after it
    assert marker.got.wait(10)
    assert tab_b.messages == [{"kind": "probe"}], "tab B went deaf"
    assert tab_a.messages == []


def test_subscribe_returns_once_redis_confirmed(store, redis_url):
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        for _ in range(20):
            visitor = "c-" + uuid.uuid4().hex
            store.subscribe(visitor, Heard())
            assert client.pubsub_numsub(f"wc:ch:{visitor}") == [(f"wc:ch:{visitor}", 1)]
    finally:
        client.close()


def test_tabs_coming_and_going_from_many_threads_leave_the_staying_tab_hearing(store):
    visitor = "churn-" + uuid.uuid4().hex
    start = threading.Barrier(8)

    def churn() -> None:
        start.wait(10)
        for _ in range(30):
            listener = Heard()
            store.subscribe(visitor, listener)
            store.unsubscribe(visitor, listener)

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    staying = Heard()
    store.subscribe(visitor, staying)
    other, marker = _barrier(store)
    store.publish(visitor, {"kind": "probe"})
    store.publish(other, {"kind": "marker"})
    assert marker.got.wait(10)
    assert staying.messages == [{"kind": "probe"}]
    store.unsubscribe(visitor, staying)
    assert not store.has_listeners(visitor)
