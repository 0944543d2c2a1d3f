"""A chat is polled only while a tab of its visitor is open somewhere, as ServicePattern's own
client does: after its last tab closed and a while passed, the loop stops (no poll held at the
contact center), and when the visitor comes back what the agent said meanwhile arrives from
history and the kept events, each exactly once."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import logged_messages, relay_on
from webchat.store import MemoryStore, open_store

IDLE = 0.3


def uid() -> str:
    return uuid.uuid4().hex


def polls(sim, chat_id: str) -> int:
    """Get New Chat Events calls the simulator answered for the chat."""
    with sim.lock:
        return sum(
            1
            for r in sim.requests_log
            if r["method"] == "GET" and r["path"].endswith(f"/chats/{chat_id}/events")
        )


def logged(store, chat_id: str, text: str) -> bool:
    return any(e.get("msg") == text for _, e in store.read(chat_id))


def test_polling_stops_after_the_last_tab_closed_and_resumes_losing_nothing(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store, idle_poll=IDLE)
    visitor, tab = uid(), []
    store.subscribe(visitor, tab.append)
    chat_id = relay.start_chat(visitor, {"first_name": "Ann"})["chat_id"]
    try:
        assert sim.wait_for(
            lambda: any(e.get("msg", "").startswith("Hi Ann") for _, e in store.read(chat_id)), 5
        )
        assert relay.polling() == [chat_id]
        store.unsubscribe(visitor, tab.append)  # the last tab closes
        assert sim.wait_for(lambda: relay.polling() == [], 10), "still polling with no tab open"
        assert sim.polls_in_flight(chat_id) == 0  # the held poll upstream is gone too
        sim.agent_say(chat_id, "while you were away")
        sim.agent_say(chat_id, "are you there?")
        assert [e.get("msg") for e in sim.chat(chat_id).pending] == [
            "while you were away",
            "are you there?",
        ]  # nobody polls them

        store.subscribe(visitor, tab.append)  # the visitor comes back: a socket, then hello
        relay.current_chat(visitor)
        assert relay.polling() == [chat_id]
        assert sim.wait_for(lambda: logged(store, chat_id, "are you there?"), 10)
        sim.agent_say(chat_id, "welcome back")
        assert sim.wait_for(lambda: logged(store, chat_id, "welcome back"), 10)
        msgs = logged_messages(store, chat_id)
        for text in ("while you were away", "are you there?", "welcome back"):
            assert msgs.count(text) == 1, msgs
    finally:
        store.unsubscribe(visitor, tab.append)
        relay.close(wait=10)
        sim.agent_end(chat_id)


def test_an_open_tab_keeps_its_chat_polled(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store, idle_poll=IDLE)
    visitor, tab = uid(), []
    store.subscribe(visitor, tab.append)
    chat_id = relay.start_chat(visitor, {})["chat_id"]
    try:
        # Polls go by, each held longer than the idle while: an open tab keeps them going.
        polled = sim.wait_for(lambda: polls(sim, chat_id) > 3, 15)
        assert polled and relay.polling() == [chat_id]
        sim.agent_say(chat_id, "still polled")
        assert sim.wait_for(lambda: logged(store, chat_id, "still polled"), 10)
    finally:
        store.unsubscribe(visitor, tab.append)
        relay.close(wait=10)
        sim.agent_end(chat_id)


@pytest.mark.parametrize("standby", [True, False], ids=["standby-loop", "socket-only"])
def test_a_tab_on_another_process_takes_the_chat_over(sim_server, sim, redis_url, standby):
    """Two processes share Redis; the holder's own tab closes while the visitor still has a tab
    on the other process. The holder stops after the while, and the other process polls on:
    with its standby loop, or, when its socket never asked for the chat (it switched to it on a
    `state` message), with a loop it starts on hearing the lease was given back."""
    stores = [open_store(redis_url), open_store(redis_url)]
    first, second = (relay_on(sim_server.base_url, s, idle_poll=IDLE) for s in stores)
    visitor = uid()

    def socket_on_second(message: dict) -> None:  # what a socket's session does with it
        if message.get("kind") == "released":
            second.wake(message.get("chat_id") or "")

    here: list[dict] = []
    stores[0].subscribe(visitor, here.append)
    stores[1].subscribe(visitor, socket_on_second)
    chat_id = first.start_chat(visitor, {"first_name": "Bo"})["chat_id"]
    try:
        assert sim.wait_for(
            lambda: any(e.get("msg", "").startswith("Hi Bo") for _, e in stores[0].read(chat_id)),
            5,
        )
        if standby:
            second.current_chat(visitor)
        stores[0].unsubscribe(visitor, here.append)
        assert sim.wait_for(lambda: first.polling() == [] and second.polling() == [chat_id], 10)
        sim.agent_say(chat_id, "polled by the other process")
        assert sim.wait_for(lambda: logged(stores[1], chat_id, "polled by the other process"), 10)
        assert logged_messages(stores[1], chat_id).count("polled by the other process") == 1
    finally:
        stores[1].unsubscribe(visitor, socket_on_second)
        for relay in (first, second):
            relay.close(wait=10)
        for store in stores:
            store.close()
        sim.agent_end(chat_id)
