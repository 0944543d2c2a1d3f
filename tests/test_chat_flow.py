"""The whole chat through real gunicorn, real WebSockets and the strict simulator."""

from __future__ import annotations


def test_whole_chat(visitor, sim):
    v = visitor()
    tab = v.tab()
    state = tab.hello()
    assert state["chat"] is None and state["availability"] == "available"
    chat = tab.start(
        {"first_name": "Ann", "email": "ann@example.com"},
        phone_number="+15550100",
        **{"from": "Ann"},
    )
    chat_id = chat["chat_id"]
    record = sim.chat(chat_id)
    assert record.request_body["parameters"] == {"first_name": "Ann", "email": "ann@example.com"}
    assert record.request_body["phone_number"] == "+15550100"
    assert record.request_body["from"] == "Ann"
    joined = tab.wait_event("chat_session_party_joined")["event"]
    greeting = tab.wait_event("chat_session_message", party_id=joined["party_id"])["event"]
    assert "Ann" in greeting["msg"]
    sent = tab.say("Where is my order?")
    tab.wait_type("ack", id=sent)
    own = tab.wait_event("chat_session_message", msg_id=sent)["event"]
    assert own["party_id"] == chat_id and own["msg"] == "Where is my order?"
    reply = tab.wait(
        lambda f: (
            f["type"] == "event"
            and "Where is my order?" in f["event"].get("msg", "")
            and f["event"]["party_id"] != chat_id
        )
    )
    assert reply["seq"] > tab.wait_event("chat_session_message", msg_id=sent)["seq"]
    assert [
        e["msg"] for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_message"
    ] == ["Where is my order?"]
    end_id = "end-1"
    tab.send({"type": "send", "id": end_id, "event": {"event": "chat_session_end"}})
    tab.wait_type("ack", id=end_id)
    tab.wait_event("chat_session_ended")
    seqs = tab.seqs()
    assert seqs == list(range(1, len(seqs) + 1))
    assert sim.wait_for(lambda: sim.polls_in_flight(chat_id) == 0, 5)
    tab.send(
        {"type": "send", "id": "late", "event": {"event": "chat_session_message", "msg": "hello?"}}
    )
    assert tab.wait_type("error", id="late")["code"] == "chat_ended"


def test_upstream_sees_the_visitors_browser_cookies_and_header(visitor, sim):
    v = visitor(user_agent="Mozilla/5.0 (iPhone) Safari/605.1")
    tab = v.tab()
    chat = v.start_chat(tab)
    mine = [r for r in sim.requests_log if chat["chat_id"] in r["path"]]
    assert mine
    for entry in mine:
        assert "SPCLIENT=" in entry["headers"].get("Cookie", "")
        assert "SPNODE=" in entry["headers"].get("Cookie", "")
