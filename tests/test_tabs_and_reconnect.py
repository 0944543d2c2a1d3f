"""Many tabs, reconnects and resends: every event to every tab, once, in order."""

from __future__ import annotations

import uuid

import pytest


def test_two_tabs_share_one_chat_and_one_poll(visitor, sim):
    v = visitor()
    first, second = v.tab(), v.tab()
    chat = v.start_chat(first)
    second_state = second.hello()
    assert second_state["chat"]["chat_id"] == chat["chat_id"]
    sent = second.say("from the second tab")

    def agent_echo(frame):
        event = frame.get("event") or {}
        return (
            frame["type"] == "event"
            and event.get("event") == "chat_session_message"
            and event["party_id"] != chat["chat_id"]
            and "from the second tab" in event["msg"]
        )

    for tab in (first, second):
        tab.wait_event("chat_session_message", msg_id=sent)
        tab.wait(agent_echo)
    second.wait_type("ack", id=sent)
    assert not any(f["type"] == "ack" for f in first.frames)
    # Both tabs hold the same numbered log: each seq once, in order, the same event under it.
    by_seq = [{f["seq"]: f["event"] for f in tab.events()} for tab in (first, second)]
    for tab in (first, second):
        assert tab.seqs() == list(range(1, len(tab.seqs()) + 1))
    common = set(by_seq[0]) & set(by_seq[1])
    assert len(common) >= 5
    assert all(by_seq[0][seq] == by_seq[1][seq] for seq in common)
    assert sim.max_concurrent_polls <= 1


def test_a_tab_opened_before_the_chat_is_switched_to_it(visitor, sim):
    v = visitor()
    idle, starter = v.tab(), v.tab()
    assert idle.hello()["chat"] is None
    chat = v.start_chat(starter)
    state = idle.wait(lambda f: f["type"] == "state" and f["chat"] is not None)
    assert state["chat"]["chat_id"] == chat["chat_id"]
    idle.wait_event("chat_session_party_joined")
    assert idle.seqs()[0] == 1


def test_reconnect_with_after_has_no_gap_and_no_duplicate(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    seen = tab.seqs()
    last = seen[-1]
    tab.close()
    # While the tab is away the agent keeps talking.
    sim.agent_say(chat["chat_id"], "are you still there?")
    sim.agent_say(chat["chat_id"], "I will wait.")
    back = v.tab()
    state = back.hello(after=last, chat_id=chat["chat_id"])
    assert state["last_seq"] >= last
    back.wait(lambda f: f["type"] == "event" and f["event"].get("msg") == "I will wait.")
    replayed = back.seqs()
    assert replayed[0] == last + 1
    assert replayed == list(range(last + 1, last + 1 + len(replayed)))
    msgs = [
        f["event"]["msg"] for f in back.events() if f["event"]["event"] == "chat_session_message"
    ]
    assert msgs == ["are you still there?", "I will wait."]


def test_hello_for_an_old_chat_replays_the_new_one_from_the_start(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    state = v.tab().hello(after=999, chat_id="some-old-chat")
    assert state["chat"]["chat_id"] == chat["chat_id"]
    other = v.tabs[-1]
    other.wait_event("chat_session_party_joined")
    assert other.seqs()[0] == 1


def test_resent_id_is_acknowledged_but_posted_once(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    send_id = str(uuid.uuid4())
    tab.say("only once please", send_id)
    tab.wait_type("ack", id=send_id)
    tab.close()
    again = v.tab()
    again.hello(after=0, chat_id=chat["chat_id"])
    again.say("only once please", send_id)
    again.wait_type("ack", id=send_id)
    posted = [
        e for e in sim.chat(chat["chat_id"]).client_events if e.get("msg") == "only once please"
    ]
    assert len(posted) == 1 and posted[0]["msg_id"] == send_id
    own = [f for f in again.events() if f["event"].get("msg_id") == send_id]
    assert len(own) == 1


@pytest.mark.parametrize("tabs", [5])
def test_many_tabs_one_poll(visitor, sim, tabs):
    v = visitor()
    opened = [v.tab() for _ in range(tabs)]
    chat = v.start_chat(opened[0])
    for tab in opened[1:]:
        tab.hello()
    sim.agent_say(chat["chat_id"], "hello everyone")
    for tab in opened:
        tab.wait(lambda f: f["type"] == "event" and f["event"].get("msg") == "hello everyone")
        assert tab.seqs() == list(range(1, len(tab.seqs()) + 1))
    chat_polls = [
        r
        for r in sim.requests_log
        if r["path"].endswith(f"/chats/{chat['chat_id']}/events") and r["method"] == "GET"
    ]
    assert chat_polls and sim.max_concurrent_polls <= 1
