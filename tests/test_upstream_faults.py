"""ServicePattern failing mid-chat: `upstream` frames, retries, and no event lost or doubled."""

from __future__ import annotations

import json


def _contiguous(tab) -> None:
    seqs = tab.seqs()
    assert seqs == list(range(1, len(seqs) + 1))


def _outage_then_message(visitor, sim, status: int, body: str | None) -> None:
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    path = f"/chats/{chat['chat_id']}/events"
    sim.fail_next(3, status, body, paths=path)
    retrying = tab.wait_type("upstream", status="retrying")
    # The outage is under way (two more failures to come): the agent speaks into it.
    sim.agent_say(chat["chat_id"], "said during the outage")
    ok = tab.wait_type("upstream", status="ok", timeout=15)
    message = tab.wait(
        lambda f: f["type"] == "event" and f["event"].get("msg") == "said during the outage",
        timeout=15,
    )
    assert tab.frames.index(retrying) < tab.frames.index(ok)
    assert sum(1 for f in tab.events() if f["event"].get("msg") == "said during the outage") == 1
    assert tab.frames.index(message) > tab.frames.index(retrying)
    _contiguous(tab)
    assert not any("Traceback" in json.dumps(f) for f in tab.frames)


def test_503_mid_chat_loses_nothing(visitor, sim):
    _outage_then_message(visitor, sim, 503, "<html>Service Unavailable</html>")


def test_garbage_mid_chat_loses_nothing(visitor, sim):
    _outage_then_message(visitor, sim, 200, "<html>this is not json</html>")


def test_send_is_retried_through_an_outage_and_posted_once(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    sim.fail_next(2, 503, None, paths=f"/chats/{chat['chat_id']}/events")
    sent = tab.say("sent while it was down")
    tab.wait_type("ack", id=sent, timeout=15)
    posted = [e for e in sim.chat(chat["chat_id"]).client_events if e.get("msg_id") == sent]
    assert len(posted) == 1
    tab.wait_event("chat_session_message", msg_id=sent)
    _contiguous(tab)


def test_send_that_keeps_failing_reports_an_error_and_can_be_resent(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    sim.fail_next(40, 503, None, paths=f"/chats/{chat['chat_id']}/events")
    sent = tab.say("try me")
    error = tab.wait_type("error", id=sent, timeout=20)
    assert error["code"] == "upstream"
    sim.clear_faults()
    tab.say("try me", sent)
    tab.wait_type("ack", id=sent, timeout=15)
    assert [
        e["msg"] for e in sim.chat(chat["chat_id"]).client_events if e.get("msg_id") == sent
    ] == ["try me"]


def test_chat_gone_upstream_ends_it_for_every_tab(visitor, sim):
    v = visitor()
    first, second = v.tab(), v.tab()
    chat = v.start_chat(first)
    second.hello()
    sim.fail_next(
        1,
        404,
        '{"error_code": "5005", "error_message": "Chat not found"}',
        paths=f"/chats/{chat['chat_id']}/events",
    )
    for tab in (first, second):
        tab.wait_event("chat_session_ended", timeout=10)
    state = v.tab().hello()
    assert state["chat"]["ended"] is True


def test_agent_ends_and_polling_stops(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    sim.agent_end(chat["chat_id"])
    tab.wait_event("chat_session_ended")
    chat_polls = lambda: sum(  # noqa: E731
        1
        for r in sim.requests_log
        if r["method"] == "GET" and r["path"].endswith(f"/chats/{chat['chat_id']}/events")
    )
    assert sim.wait_for(lambda: sim.polls_in_flight(chat["chat_id"]) == 0, 5)
    polls = chat_polls()
    assert not sim.wait_for(lambda: chat_polls() > polls, timeout=2.5)


def test_upstream_hanging_for_a_while_then_recovering_loses_nothing(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    path = f"/chats/{chat['chat_id']}/events"
    sim.hang_next(3, 2.5, paths=path)  # the next poll and sends stall, then are answered
    sent = tab.say("sent into a stall")
    sim.agent_say(chat["chat_id"], "said during the stall")
    tab.wait_type("ack", id=sent, timeout=15)
    tab.wait(
        lambda f: f["type"] == "event" and f["event"].get("msg") == "said during the stall",
        timeout=15,
    )
    tab.wait(
        lambda f: (
            f["type"] == "event"
            and "sent into a stall" in f["event"].get("msg", "")
            and f["event"]["party_id"] != chat["chat_id"]
        ),
        timeout=15,
    )
    _contiguous(tab)
    msgs = [f["event"].get("msg") for f in tab.events()]
    assert msgs.count("said during the stall") == 1 and msgs.count("sent into a stall") == 1
    assert [
        e["msg"] for e in sim.chat(chat["chat_id"]).client_events if e.get("msg_id") == sent
    ] == ["sent into a stall"]
