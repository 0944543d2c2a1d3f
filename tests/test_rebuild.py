"""After a restart that lost the log, it is rebuilt from Get Chat History, losing nothing."""

from __future__ import annotations

from tests.harness import logged_messages, relay_on
from webchat.store import MemoryStore


def test_log_rebuilt_from_history_then_live_without_duplicates(sim_server, sim):
    before = MemoryStore()
    relay = relay_on(sim_server.base_url, before)
    chat = relay.start_chat("visitor-1", {"first_name": "Rae"})
    chat_id = chat["chat_id"]
    relay.sender.send("visitor-1", "m1", {"event": "chat_session_message", "msg": "first"})
    assert sim.wait_for(
        lambda: any(
            "first" in e.get("msg", "") and e.get("party_id") != chat_id
            for e in sim.chat(chat_id).events
        ),
        5,
    )
    relay.close(wait=10)
    assert relay.polling() == []
    # The process dies; the new one's store still has the visitor's cookies and chat pointer
    # (as Redis would) but the log is gone.
    after = MemoryStore()
    after.merge_cookies("visitor-1", before.get_cookies("visitor-1"))
    after.set_chat("visitor-1", before.get_chat("visitor-1"))
    sim.agent_say(chat_id, "said while nobody polled")
    fresh = relay_on(sim_server.base_url, after)
    got: list[dict] = []
    after.subscribe("visitor-1", got.append)
    try:
        assert fresh.current_chat("visitor-1")["chat_id"] == chat_id
        rebuilt = [e for _, e in after.read(chat_id)]
        names = [e["event"] for e in rebuilt]
        assert "chat_session_party_joined" in names
        msgs = [e.get("msg") for e in rebuilt if e["event"] == "chat_session_message"]
        assert any(m.startswith("Hi Rae") for m in msgs)
        assert "first" in msgs and "said while nobody polled" in msgs
        assert [seq for m in got for seq, _ in m["entries"]] == list(range(1, len(rebuilt) + 1))
        own = [e for e in rebuilt if e.get("msg") == "first"]
        assert len(own) == 1 and own[0]["party_id"] == chat_id
        assert "chat_session_signaling" not in names
        # New live events continue the numbering with no repeat of what history gave.
        sim.agent_say(chat_id, "live again")
        assert sim.wait_for(
            lambda: any(e.get("msg") == "live again" for _, e in after.read(chat_id)), 5
        )
        msgs = logged_messages(after, chat_id)
        assert msgs.count("said while nobody polled") == 1
        assert msgs.count("live again") == 1
    finally:
        fresh.close()
        sim.agent_end(chat_id)
