"""Exactly once: a send cut at every step, resent to another process, is posted once.

The simulator counts the posts of every msg_id (`Simulator.posts`) and cuts connections on
request (`drop_next`): "unread" before it reads the request (it never arrived), "handled" after
it handled it but before any byte of the answer (it arrived; the caller cannot know).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import ServerProcess, Tab, Visitor, relay_on
from webchat.relay import ChatError
from webchat.store import MemoryStore, Store, open_store

MESSAGE = "chat_session_message"


# -- helpers -------------------------------------------------------------------------------


def _posts(sim: Any, chat_id: str, msg_id: str) -> int:
    return sim.posts(chat_id)[msg_id]


def _shows_each_once(tab: Tab) -> None:
    """Seq contiguous, and no message shown twice."""
    seqs = tab.seqs()
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs
    ids = [f["event"].get("msg_id") for f in tab.events() if f["event"]["event"] == MESSAGE]
    assert len(ids) == len(set(ids)), ids


def _logged_once(store: Store, chat_id: str, msg_id: str) -> None:
    log = store.read(chat_id)
    assert [seq for seq, _ in log] == list(range(1, len(log) + 1))
    assert [e.get("msg_id") for _, e in log if e["event"] == MESSAGE].count(msg_id) == 1


def _say(tab: Tab, send_id: str, text: str) -> int:
    """Send a message frame; the index of the next frame the tab receives."""
    since = len(tab.frames)
    tab.say(text, send_id)
    return since


def _answer(tab: Tab, send_id: str, since: int, timeout: float = 20) -> dict:
    """The ack or error that answers a send."""
    return tab.wait(
        lambda f: f.get("type") in ("ack", "error") and f.get("id") == send_id,
        timeout=timeout,
        since=since,
    )


# -- two threads (two processes' worth of relays) resending one id at once ----------------------


@pytest.fixture(params=["memory", "redis"])
def two_relays(request, sim_server) -> Iterator[tuple[Any, Any, Store]]:
    """Two relays on one store, as two processes would be (Redis: two connections)."""
    if request.param == "memory":
        first = second = MemoryStore()
    else:
        url = request.getfixturevalue("redis_url")
        first, second = open_store(url), open_store(url)
    relays = relay_on(sim_server.base_url, first), relay_on(sim_server.base_url, second)
    yield relays[0], relays[1], first
    for relay in relays:
        relay.close()
    for store in {id(first): first, id(second): second}.values():
        store.close()


def _chat(relay: Any) -> tuple[str, str]:
    visitor_id = "v-" + uuid.uuid4().hex
    return visitor_id, relay.start_chat(visitor_id, {"first_name": "Ida"})["chat_id"]


def test_two_resends_of_one_id_at_once_post_once(two_relays, sim):
    one, two, store = two_relays
    visitor_id, chat_id = _chat(one)
    # The first post is slow, so the other resend arrives while it is in flight.
    sim.hang_next(1, 0.5, paths=f"/chats/{chat_id}/events", method="POST")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def resend(relay: Any) -> None:
        start.wait()
        try:
            relay.sender.send(visitor_id, "m-race", {"event": MESSAGE, "msg": "once only"})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=resend, args=(r,)) for r in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _posts(sim, chat_id, "m-race") == 1
    _logged_once(store, chat_id, "m-race")


def test_a_claim_whose_holder_died_after_posting_lapses_and_history_stops_a_repost(two_relays, sim):
    one, _, store = two_relays
    visitor_id, chat_id = _chat(one)
    # A process claimed the id, posted it, and died before it could say so.
    assert store.claim_send(chat_id, "m-dead", "dead-holder", 0.2) == "new"
    one.client.send_events(
        one.identities.load(visitor_id),
        chat_id,
        [{"event": MESSAGE, "msg_id": "m-dead", "msg": "posted by the dead"}],
    )
    # The resend waits for the claim to lapse, finds the post in history, and does not post.
    one.sender.send(visitor_id, "m-dead", {"event": MESSAGE, "msg": "posted by the dead"})
    assert _posts(sim, chat_id, "m-dead") == 1
    _logged_once(store, chat_id, "m-dead")
    one.sender.send(visitor_id, "m-dead", {"event": MESSAGE, "msg": "posted by the dead"})
    assert _posts(sim, chat_id, "m-dead") == 1
    # One that died before posting: the resend posts it, once.
    assert store.claim_send(chat_id, "m-early", "dead-holder", 0.2) == "new"
    one.sender.send(visitor_id, "m-early", {"event": MESSAGE, "msg": "never posted"})
    assert _posts(sim, chat_id, "m-early") == 1
    _logged_once(store, chat_id, "m-early")


@pytest.mark.parametrize("when", ["unread", "handled"])
def test_a_dropped_post_is_looked_up_before_it_is_posted_again(sim_server, sim, when):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    try:
        visitor_id, chat_id = _chat(relay)
        sim.drop_next(1, when, paths=f"/chats/{chat_id}/events", method="POST")
        drops = sim.drops
        relay.sender.send(visitor_id, "m-drop", {"event": MESSAGE, "msg": "cut"})
        assert sim.drops == drops + 1
        assert _posts(sim, chat_id, "m-drop") == 1
        _logged_once(store, chat_id, "m-drop")
    finally:
        relay.close()
        sim.clear_faults()


def test_form_data_that_may_have_arrived_is_never_posted_again(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    form = {"event": "chat_session_form_data", "form_request_id": "f1", "form_name": "survey"}
    try:
        visitor_id, chat_id = _chat(relay)
        sim.drop_next(1, "handled", paths=f"/chats/{chat_id}/events", method="POST")
        for _ in range(2):  # the call itself, then the tab's resend
            with pytest.raises(ChatError) as raised:
                relay.sender.send(visitor_id, "f-1", {**form, "data": {"score": "5"}})
            assert raised.value.code == "unconfirmed"
        assert _posts(sim, chat_id, "chat_session_form_data") == 1
    finally:
        relay.close()
        sim.clear_faults()


# -- two gunicorn processes on one Redis -----------------------------------------------------


@pytest.fixture
def pair(sim_server, redis_url) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {"STORE_URL": redis_url, "LEASE_TTL": "2", "SECRET_KEY": "shared-" + uuid.uuid4().hex}
    first, second = ServerProcess(sim_server.base_url, env), ServerProcess(sim_server.base_url, env)
    yield first, second
    first.stop()
    second.stop()


def _resend_on(visitor: Visitor, server: ServerProcess, chat_id: str, send_id: str) -> Tab:
    """The tab reconnects to `server` (hello from 0) and resends its unacknowledged send."""
    tab = visitor.tab_on(server)
    tab.hello(chat_id=chat_id)
    since = _say(tab, send_id, "the message " + send_id)
    assert _answer(tab, send_id, since)["type"] == "ack"
    return tab


def _check_every_tab(visitor: Visitor, servers: tuple, chat_id: str, send_id: str) -> None:
    """Every open tab, and a fresh one on each process, shows the message exactly once."""
    fresh = []
    for server in servers:
        tab = visitor.tab_on(server)
        tab.hello(chat_id=chat_id)
        fresh.append(tab)
    for tab in [t for t in visitor.tabs if t.ws.connected]:
        tab.wait_event(MESSAGE, msg_id=send_id)
        _shows_each_once(tab)
    for tab in fresh:
        assert sum(1 for f in tab.events() if f["event"].get("msg_id") == send_id) == 1


@pytest.fixture
def chat_on_a(pair, sim):
    """A visitor with a chat started on the first process; its faults cleared afterwards."""
    visitor = Visitor(pair[0].url)
    tab = visitor.tab()
    try:
        yield visitor, tab, visitor.start_chat(tab)["chat_id"]
    finally:
        visitor.close()
        sim.clear_faults()


def test_cut_before_the_post_then_resent_to_the_other_process(pair, sim, chat_on_a):
    a, b = pair
    visitor, tab, chat_id = chat_on_a
    watcher = visitor.tab_on(a)
    watcher.hello(chat_id=chat_id)
    # Every try of a's is cut before the simulator reads it: a gives up.
    sim.drop_next(3, "unread", paths=f"/chats/{chat_id}/events", method="POST")
    since = _say(tab, "s-before", "the message s-before")
    assert _answer(tab, "s-before", since)["code"] == "upstream"
    assert _posts(sim, chat_id, "s-before") == 0
    tab.close()
    _resend_on(visitor, b, chat_id, "s-before")
    assert _posts(sim, chat_id, "s-before") == 1
    _check_every_tab(visitor, pair, chat_id, "s-before")


def test_cut_after_the_post_was_read_then_resent_to_the_other_process(pair, sim, chat_on_a):
    a, b = pair
    visitor, tab, chat_id = chat_on_a
    watcher = visitor.tab_on(a)
    watcher.hello(chat_id=chat_id)
    # The simulator takes the post, then drops the connection unanswered; a cannot look
    # it up either (history fails), so it gives up, not knowing whether it landed.
    sim.drop_next(1, "handled", paths=f"/chats/{chat_id}/events", method="POST")
    sim.fail_next(2, 503, paths=f"/chats/{chat_id}/history")
    since = _say(tab, "s-read", "the message s-read")
    assert _answer(tab, "s-read", since)["code"] == "upstream"
    assert _posts(sim, chat_id, "s-read") == 1
    tab.close()
    # b finds it in history: no second post, and the message is logged for every tab.
    _resend_on(visitor, b, chat_id, "s-read")
    assert _posts(sim, chat_id, "s-read") == 1
    _check_every_tab(visitor, pair, chat_id, "s-read")


def test_cut_while_the_first_process_is_still_retrying(pair, sim, chat_on_a):
    a, b = pair
    visitor, tab, chat_id = chat_on_a
    sim.drop_next(1, "handled", paths=f"/chats/{chat_id}/events", method="POST")
    sim.hang_next(1, 1.5, paths=f"/chats/{chat_id}/history")  # a's lookup is slow
    _say(tab, "s-busy", "the message s-busy")
    assert sim.wait_for(lambda: _posts(sim, chat_id, "s-busy") == 1, 10)
    # The tab goes (a 1012) while a still looks the post up; b waits for a's outcome.
    tab.close()
    _resend_on(visitor, b, chat_id, "s-busy")
    assert _posts(sim, chat_id, "s-busy") == 1
    _check_every_tab(visitor, pair, chat_id, "s-busy")


def test_cut_after_the_answer_then_resent_to_the_other_process(pair, sim, chat_on_a):
    a, b = pair
    visitor, tab, chat_id = chat_on_a
    watcher = visitor.tab_on(b)
    watcher.hello(chat_id=chat_id)
    # The tab goes before it reads its ack: a posted and logged the message.
    tab.say("the message s-after", "s-after")
    tab.close()
    watcher.wait_event(MESSAGE, msg_id="s-after")
    _resend_on(visitor, b, chat_id, "s-after")
    assert _posts(sim, chat_id, "s-after") == 1
    _check_every_tab(visitor, pair, chat_id, "s-after")
