"""The memory store's semantics, which every store backend must share."""

import threading

from webchat.store import MemoryStore, open_store


def test_cookies_merge_by_domain_path_name():
    store = MemoryStore()
    store.merge_cookies("v", [{"name": "A", "value": "1", "domain": "h", "path": "/"}])
    store.merge_cookies(
        "v",
        [
            {"name": "B", "value": "2", "domain": "h", "path": "/"},
            {"name": "A", "value": "3", "domain": "h", "path": "/"},
        ],
    )
    assert sorted((c["name"], c["value"]) for c in store.get_cookies("v")) == [
        ("A", "3"),
        ("B", "2"),
    ]
    assert store.get_cookies("other") == []


def test_log_numbers_dedupes_and_publishes_to_the_owner_only():
    store = MemoryStore()
    store.set_chat("v1", {"chat_id": "c1", "state": "queued", "ewt": None, "ended": False})
    store.set_chat("v2", {"chat_id": "c2", "state": "queued", "ewt": None, "ended": False})
    got1, got2 = [], []
    store.subscribe("v1", got1.append)
    store.subscribe("v2", got2.append)
    added = store.append(
        "c1", [{"event": "a"}, {"event": "b"}, {"event": "c"}], ["k1", "k2", "k1"], [True] * 3
    )
    assert [seq for seq, _ in added] == [1, 2]
    assert store.append("c1", [{"event": "d"}], ["k1"], [True]) == []
    assert store.last_seq("c1") == 2
    assert store.read("c1", 1) == [(2, {"event": "b"})]
    assert got1 == [{"kind": "events", "chat_id": "c1", "entries": added}]
    # A key seen before is logged again when the event is not marked unique (typing twice).
    assert [seq for seq, _ in store.append("c1", [{"event": "b"}], ["k2"], [False])] == [3]
    assert got1[-1]["entries"] == [(3, {"event": "b"})]
    assert got2 == []
    assert store.chat_owner("c1") == "v1"


def test_concurrent_appends_get_distinct_consecutive_numbers():
    store = MemoryStore()

    def work(n):
        for i in range(200):
            store.append("c", [{"event": "x", "n": n, "i": i}], [f"{n}:{i}"], [False])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [seq for seq, _ in store.read("c")] == list(range(1, 801))


def test_lease_is_exclusive_until_released_or_expired():
    store = MemoryStore()
    assert store.acquire_lease("c", "a", 30)
    assert not store.acquire_lease("c", "b", 30)
    assert store.acquire_lease("c", "a", 30)
    store.release_lease("c", "b")
    assert not store.acquire_lease("c", "b", 30)
    store.release_lease("c", "a")
    assert store.acquire_lease("c", "b", 30)
    assert store.acquire_lease("d", "x", -1)
    assert store.acquire_lease("d", "y", 30)


def test_sent_ids_and_finished_chats():
    store = MemoryStore()
    store.set_chat("v", {"chat_id": "c", "state": "connected", "ewt": None, "ended": False})
    store.append("c", [{"event": "a"}], ["a"], [False])
    assert store.claim_send("c", "s1", "h", 30) == "new"
    store.complete_send("c", "s1", "h")
    assert store.claim_send("c", "s1", "h2", 30) == "sent"
    store.finish_chat("c", ttl=-1)
    assert store.read("c") == [] and store.get_chat("v") is None
    # The finished chat's sends are forgotten with its log: memory stays bounded.
    assert store.claim_send("c", "s1", "h3", 30) == "new"


def test_a_failing_listener_does_not_stop_the_others():
    store = MemoryStore()
    got = []

    def broken(message):
        raise RuntimeError("socket gone")

    store.subscribe("v", broken)
    store.subscribe("v", got.append)
    store.publish("v", {"kind": "upstream", "status": "ok"})
    assert got == [{"kind": "upstream", "status": "ok"}]
    store.unsubscribe("v", broken)
    store.unsubscribe("v", got.append)
    store.unsubscribe("v", got.append)


def test_open_store_by_scheme():
    assert isinstance(open_store("memory://"), MemoryStore)
    try:
        open_store("nope://x")
    except ValueError as error:
        assert "STORE_URL" in str(error)
    else:
        raise AssertionError("nope:// accepted")
