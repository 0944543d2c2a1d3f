"""Every store backend keeps the same promises: run against memory and real Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from webchat.store import MemoryStore, open_store


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        made = MemoryStore()
    else:
        made = open_store(request.getfixturevalue("redis_url"))
    yield made
    made.close()


def uid() -> str:
    return uuid.uuid4().hex


class Inbox:
    """A listener that lets a test wait for the n-th message (pub/sub is asynchronous)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.cond = threading.Condition()

    def __call__(self, message: dict) -> None:
        with self.cond:
            self.messages.append(message)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 5) -> list[dict]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.messages) >= count, timeout), self.messages
            return list(self.messages)


def test_cookies_and_pointer(store):
    v = uid()
    assert store.get_cookies(v) == [] and store.get_chat(v) is None
    store.merge_cookies(v, [{"name": "A", "value": "1", "domain": "h", "path": "/"}])
    store.merge_cookies(
        v,
        [
            {"name": "A", "value": "2", "domain": "h", "path": "/"},
            {"name": "B", "value": "3", "domain": "h", "path": "/"},
        ],
    )
    assert sorted((c["name"], c["value"]) for c in store.get_cookies(v)) == [("A", "2"), ("B", "3")]
    chat = {"chat_id": uid(), "state": "queued", "ewt": 5, "ended": False, "user_agent": "UA"}
    store.set_chat(v, chat)
    assert store.get_chat(v) == chat and store.chat_owner(chat["chat_id"]) == v


def test_log_numbers_dedupes_and_publishes_in_order(store):
    v, c = uid(), uid()
    store.set_chat(v, {"chat_id": c, "state": "queued", "ewt": None, "ended": False})
    inbox, other = Inbox(), Inbox()
    store.subscribe(v, inbox)
    store.subscribe(uid(), other)
    assert store.has_listeners(v)
    first = store.append(c, [{"event": "a"}, {"event": "b", "x": "<é>"}], ["k1", "k2"], [True] * 2)
    assert first == [(1, {"event": "a"}), (2, {"event": "b", "x": "<é>"})]
    assert store.append(c, [{"event": "a2"}], ["k1"], [True]) == []
    assert store.append(c, [{"event": "typing"}], ["k2"], [False]) == [(3, {"event": "typing"})]
    messages = inbox.wait(2)
    entries = [[tuple(e) for e in m["entries"]] for m in messages]  # JSON makes tuples lists
    assert entries == [first, [(3, {"event": "typing"})]]
    assert all(m["chat_id"] == c and m["kind"] == "events" for m in messages)
    assert store.read(c, 1) == [(2, {"event": "b", "x": "<é>"}), (3, {"event": "typing"})]
    assert store.last_seq(c) == 3 and store.last_seq(uid()) == 0
    store.publish(v, {"kind": "upstream", "status": "retrying"})
    assert inbox.wait(3)[-1] == {"kind": "upstream", "status": "retrying"}
    assert other.messages == []
    store.unsubscribe(v, inbox)
    assert not store.has_listeners(v)


def test_concurrent_appends_from_many_threads(store):
    c = uid()

    def work(n: int) -> None:
        for i in range(50):
            store.append(c, [{"n": n, "i": i}], [f"{n}:{i}"], [True])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = store.read(c)
    assert [seq for seq, _ in log] == list(range(1, 201))
    assert len({(e["n"], e["i"]) for _, e in log}) == 200


def test_lease(store):
    c = uid()
    assert store.acquire_lease(c, "a", 30)
    assert not store.acquire_lease(c, "b", 30)
    assert store.acquire_lease(c, "a", 30)
    store.release_lease(c, "b")
    assert not store.acquire_lease(c, "b", 30)
    store.release_lease(c, "a")
    assert store.acquire_lease(c, "b", 0.2)
    expired = threading.Event()
    assert not expired.wait(0.4)  # a lease is a promise about time: it must lapse by itself
    assert store.acquire_lease(c, "a", 30)


def test_sent_and_finished(store):
    v, c = uid(), uid()
    store.set_chat(v, {"chat_id": c, "state": "connected", "ewt": None, "ended": False})
    store.append(c, [{"event": "x"}], ["x"], [False])
    assert not store.was_sent(c, "s")
    store.mark_sent(c, "s")
    assert store.was_sent(c, "s")
    store.acquire_lease(c, "a", 30)
    store.finish_chat(c, ttl=3600)
    assert store.read(c) == [(1, {"event": "x"})]
    assert store.acquire_lease(c, "b", 30)
    assert store.ping()
