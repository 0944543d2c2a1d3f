"""Every store backend keeps the same promises: run against memory and real Redis."""

from __future__ import annotations

import sys
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


def test_leases_renewed_together_each_answer_for_its_own_chat(store):
    mine, theirs, new = uid(), uid(), uid()
    assert store.acquire_lease(mine, "a", 30)
    assert store.acquire_lease(theirs, "b", 30)
    assert store.renew_leases([mine, theirs, new], "a", 30) == [True, False, True]
    assert not store.acquire_lease(new, "b", 30)  # taken by the batch
    assert store.renew_leases([], "a", 30) == []
    store.release_lease(mine, "a")
    store.acquire_lease(mine, "a", 0.2)
    assert store.renew_leases([mine], "a", 30) == [True]
    lapsed = threading.Event()
    assert not lapsed.wait(0.4)
    assert not store.acquire_lease(mine, "b", 30)  # renewed to 30 s: still a's


def test_renew_and_read_gives_the_lease_pointer_and_cookies_of_this_moment(store):
    v, c = uid(), uid()
    empty = store.renew_and_read(c, "a", 30, v)
    assert empty == (True, None, [])
    chat = {"chat_id": c, "state": "connected", "ewt": None, "ended": False, "user_agent": "UA"}
    store.set_chat(v, chat)
    cookie = {"domain": "sp.example", "path": "/", "name": "s", "value": "1"}
    store.merge_cookies(v, [cookie])
    read = store.renew_and_read(c, "a", 30, v)
    assert read.held and read.chat == chat and read.cookies == [cookie]
    assert store.renew_and_read(c, "b", 30, v).held is False
    assert not store.acquire_lease(c, "b", 30)


def test_claim_send_and_read_gives_the_claim_log_length_and_cookies(store):
    v, c = uid(), uid()
    first = store.claim_send_and_read(c, "s", "a", 30, v)
    assert first == ("new", 0, [])
    assert store.claim_send_and_read(c, "s", "b", 30, v).claim == "busy"
    store.append(c, [{"event": "x"}, {"event": "y"}], ["x", "y"], [False, False])
    cookie = {"domain": "sp.example", "path": "/", "name": "s", "value": "1"}
    store.merge_cookies(v, [cookie])
    store.complete_send(c, "s", "a")
    assert store.claim_send_and_read(c, "s", "b", 30, v) == ("sent", 2, [cookie])
    store.release_send(c, "t", "a", forget=False)  # not ours: nothing happens
    assert store.claim_send_and_read(c, "t", "a", 0.05, v).claim == "new"
    lapsed = threading.Event()
    assert not lapsed.wait(0.2)
    assert store.claim_send_and_read(c, "t", "b", 30, v).claim == "retry"


def test_renew_and_read_survives_redis_forgetting_its_scripts(redis_url):
    store = open_store(redis_url)
    try:
        c, v = uid(), uid()
        assert store.renew_and_read(c, "a", 30, v).held
        store._redis.script_flush()  # what a restarted Redis knows of our scripts
        assert store.renew_and_read(c, "a", 30, v).held
        assert not store.renew_and_read(c, "b", 30, v).held
        store._redis.script_flush()
        assert store.renew_leases([c, uid()], "a", 30) == [True, True]
        store._redis.script_flush()
        assert store.claim_send_and_read(c, "s", "a", 30, v).claim == "new"
        store._redis.script_flush()
        store.complete_send(c, "s", "a")  # the script objects load themselves again
        assert store.claim_send_and_read(c, "s", "b", 30, v).claim == "sent"
    finally:
        store.close()


def test_sent_and_finished(store):
    v, c = uid(), uid()
    store.set_chat(v, {"chat_id": c, "state": "connected", "ewt": None, "ended": False})
    store.append(c, [{"event": "x"}], ["x"], [False])
    assert store.claim_send(c, "s", "h", 30) == "new"
    store.complete_send(c, "s", "h")
    assert store.claim_send(c, "s", "h2", 30) == "sent"
    store.acquire_lease(c, "a", 30)
    store.finish_chat(c, ttl=3600)
    assert store.read(c) == [(1, {"event": "x"})]
    assert store.acquire_lease(c, "b", 30)
    assert store.ping()


def test_a_send_claim_is_exclusive_and_remembers_what_may_have_been_posted(store):
    c = uid()
    assert store.claim_send(c, "s", "a", 30) == "new"
    assert store.claim_send(c, "s", "b", 30) == "busy"
    assert store.claim_send(c, "s", "a", 30) == "retry"  # its holder renews it
    store.release_send(c, "s", "b", forget=True)  # not b's: ignored
    assert store.claim_send(c, "s", "b", 30) == "busy"
    store.release_send(c, "s", "a", forget=False)  # a's post may have landed
    assert store.claim_send(c, "s", "b", 30) == "retry"
    store.complete_send(c, "s", "b")
    assert store.claim_send(c, "s", "a", 30) == "sent"
    # A send that certainly never reached ServicePattern is forgotten: the next claim is new.
    assert store.claim_send(c, "t", "a", 30) == "new"
    store.release_send(c, "t", "a", forget=True)
    assert store.claim_send(c, "t", "b", 30) == "new"
    # Ids are per chat.
    assert store.claim_send(uid(), "s", "a", 30) == "new"


def test_a_send_claim_whose_holder_died_lapses_and_tells_the_next_to_look(store):
    c = uid()
    assert store.claim_send(c, "s", "dead", 0.1) == "new"
    lapsed = threading.Event()
    assert not lapsed.wait(0.3)  # a claim is a promise about time: it must lapse by itself
    assert store.claim_send(c, "s", "next", 30) == "retry"
    store.release_send(c, "s", "dead", forget=True)  # the dead holder's late goodbye: ignored
    assert store.claim_send(c, "s", "other", 30) == "busy"


def test_one_of_many_simultaneous_claimants_wins(store):
    c = uid()
    start = threading.Barrier(8)
    results: list[str] = []

    def claim(n: int) -> None:
        start.wait()
        results.append(store.claim_send(c, "s", f"h{n}", 30))

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["busy"] * 7 + ["new"]


def test_pointer_updates_are_atomic_and_ended_sticks(store):
    v, c = uid(), uid()
    store.set_chat(v, {"chat_id": c, "state": "queued", "ewt": 5, "ended": False})
    assert store.update_chat(v, c, {"state": "connected", "ewt": None}) == {
        "chat_id": c,
        "state": "connected",
        "ewt": None,
        "ended": False,
    }
    assert store.update_chat(v, uid(), {"ended": True}) is None  # another chat: untouched
    assert store.update_chat(uid(), c, {"ended": True}) is None  # no pointer: none made
    assert store.update_chat(v, c, {"ended": True})["ended"] is True
    assert store.update_chat(v, c, {"ended": False, "state": "x"})["ended"] is True
    # Re-pointing at the same chat (a stale "it is active" answer) does not un-end it either;
    # a new chat does start fresh.
    store.set_chat(v, {"chat_id": c, "state": "connected", "ewt": None, "ended": False})
    assert store.get_chat(v)["ended"] is True
    fresh = {"chat_id": uid(), "state": "queued", "ewt": None, "ended": False}
    store.set_chat(v, fresh)
    assert store.get_chat(v) == fresh


def test_racing_pointer_updaters_lose_nothing(store):
    """Two processes' worth of writers on one pointer: one ends the chat, the others record
    states; with a read-modify-write some of their changes (the end above all) would be lost."""
    v, c = uid(), uid()
    store.set_chat(v, {"chat_id": c, "state": "queued", "ewt": None, "ended": False})
    start = threading.Barrier(4)
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as often as possible

    def write(n: int) -> None:
        start.wait()
        for i in range(40):
            store.update_chat(v, c, {f"k{n}_{i}": i, "ended": n == 0 and i == 5})

    try:
        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    chat = store.get_chat(v)
    assert chat["ended"] is True
    assert {f"k{n}_{i}" for n in range(4) for i in range(40)} <= set(chat)


def test_revoking_tokens_raises_the_epoch_above_every_earlier_one(store):
    v, other = uid(), uid()
    assert store.token_epoch(v) == 0
    first = store.revoke_tokens(v, ttl=3600)
    assert first > 0 and store.token_epoch(v) == first
    second = store.revoke_tokens(v, ttl=3600)
    assert second > first and store.token_epoch(v) == second
    assert store.token_epoch(other) == 0  # per visitor
    # Kept only as long as a token lives; one revoked again after it lapsed still goes up
    # (the clock), so a token of a forgotten epoch never becomes current again.
    short = store.revoke_tokens(other, ttl=1)
    lapsed = threading.Event()
    deadline = 5.0
    while store.token_epoch(other) and deadline > 0:  # a promise about time: it must lapse
        lapsed.wait(0.2)
        deadline -= 0.2
    assert store.token_epoch(other) == 0
    assert store.revoke_tokens(other, ttl=3600) > short


def test_any_text_comes_back_as_it_went_in_logged_and_published(store):
    v, chat_id = uid(), uid()
    store.set_chat(v, {"chat_id": chat_id, "state": "chatting", "ewt": None, "ended": False})
    inbox = Inbox()
    store.subscribe(v, inbox)
    texts = ["Grüße, 日本語 😀", "a lone surrogate \ud800 from a JSON frame", 'quotes " \\ \n']
    events = [{"event": "chat_session_message", "msg": t} for t in texts]
    store.append(chat_id, events, [uid() for _ in events], [True] * len(events))
    assert [e["msg"] for _, e in store.read(chat_id)] == texts
    published = inbox.wait(1)[0]
    assert [e["msg"] for _, e in published["entries"]] == texts
    store.unsubscribe(v, inbox)


def test_a_burst_of_commands_waits_its_turn_instead_of_failing(redis_url):
    """Hundreds of callers at once (polls that come back together after a pause) get their
    answers; the process never opens more connections than its pool, and redis-py never
    answers "Too many connections"."""
    from tests.redis_server import burst_while_paused
    from webchat.store.redis_store import OPTIONS

    store = open_store(redis_url)
    try:
        v = uid()
        store.set_chat(v, {"chat_id": "c", "state": "connected", "ewt": None, "ended": False})
        callers = 300
        results = burst_while_paused(redis_url, lambda: store.get_chat(v)["chat_id"], callers)
        assert results == ["c"] * callers, {repr(r) for r in results if r != "c"}
        pool = store._redis.connection_pool
        assert pool._created_connections <= OPTIONS["max_connections"]
    finally:
        store.close()


def test_when_every_turn_stays_taken_a_command_fails_as_an_outage(redis_url, monkeypatch):
    """Commands stuck on a Redis that stopped answering hold their turns: the next one waits a
    bounded time, then fails as StoreError (callers answer "try again"), never hangs."""
    from webchat.store import StoreError, redis_store

    monkeypatch.setattr(redis_store, "IN_FLIGHT_WAIT", 0.2)
    store = open_store(redis_url)
    try:
        for _ in range(redis_store.IN_FLIGHT):
            assert store._in_flight.acquire(timeout=1)
        with pytest.raises(StoreError, match="in flight"):
            store.get_chat(uid())
        store._in_flight.release()
        assert store.get_chat(uid()) is None  # a turn came free: served again
    finally:
        for _ in range(redis_store.IN_FLIGHT - 1):
            store._in_flight.release()
        store.close()
