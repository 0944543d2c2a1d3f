"""A chat whose polling process dies is taken over, and nothing it polled is lost."""

from __future__ import annotations

from tests.harness import logged_messages, relay_on
from webchat.store import MemoryStore


def test_standby_takes_over_and_recovers_what_the_dead_holder_polled(sim_server, sim):
    store = MemoryStore()
    first = relay_on(sim_server.base_url, store, lease_ttl=1.0)
    chat_id = first.start_chat("v", {"first_name": "Tom"})["chat_id"]
    assert sim.wait_for(
        lambda: any(e.get("msg", "").startswith("Hi Tom") for _, e in store.read(chat_id)), 5
    )
    first.close(wait=10)
    # The holder "dies" right after a poll: ServicePattern delivered the event to it, it was
    # never logged, and its lease is still live (no clean release).
    sim.agent_say(chat_id, "polled by the dead process")
    lost = first.client.get_new_events(first.identities.load("v"), chat_id)
    assert [e.get("msg") for e in lost] == ["polled by the dead process"]
    assert store.acquire_lease(chat_id, "dead-process", 1.0)
    # Another process with a socket of this visitor keeps a loop on standby until it expires.
    second = relay_on(sim_server.base_url, store, lease_ttl=1.0)
    got: list[dict] = []
    store.subscribe("v", got.append)
    try:
        second.current_chat("v")
        assert second.polling() == [chat_id]
        assert sim.wait_for(
            lambda: any(
                e.get("msg") == "polled by the dead process" for _, e in store.read(chat_id)
            ),
            10,
        )
        sim.agent_say(chat_id, "after the takeover")
        assert sim.wait_for(
            lambda: any(e.get("msg") == "after the takeover" for _, e in store.read(chat_id)), 10
        )
        msgs = logged_messages(store, chat_id)
        log = store.read(chat_id)
        assert msgs.count("polled by the dead process") == 1
        assert msgs.count("after the takeover") == 1
        joined = [e for _, e in log if e["event"] == "chat_session_party_joined"]
        assert len(joined) == 1
    finally:
        second.close(wait=10)
        sim.agent_end(chat_id)


def test_no_standby_without_a_socket_here(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store, lease_ttl=1.0)
    chat_id = relay.start_chat("w", {})["chat_id"]
    relay.close(wait=10)
    assert store.acquire_lease(chat_id, "someone-else", 30)
    other = relay_on(sim_server.base_url, store, lease_ttl=1.0)
    try:
        other.current_chat("w")  # no socket of "w" in this process: nothing to wait for
        assert sim.wait_for(lambda: other.polling() == [], 5)
    finally:
        other.close(wait=5)
        sim.agent_end(chat_id)
