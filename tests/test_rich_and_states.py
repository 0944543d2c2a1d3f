"""Through real gunicorn and the strict simulator: an agent's markup arrives with its sanitised
`html`, `completed` is no end (a survey may follow a soft end), a poll answered 5005 ends the
chat for inactivity, typing previews go upstream only when TYPING_PREVIEW is on, and a form
without a name is answered with `{text}`."""

from __future__ import annotations

import pytest

from tests.harness import ServerProcess, Visitor
from webchat.simulator import model


def test_an_agents_markup_comes_with_sanitised_html_and_plain_text_without(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    sim.agent_say(chat_id, '<b>Bold</b> <img src=x onerror=alert(1)><a href="javascript:x">j</a>')
    rich = tab.wait(
        lambda f: f.get("type") == "event" and "<b>Bold</b>" in f["event"].get("msg", "")
    )["event"]
    assert rich["html"].startswith("<b>Bold</b> ")
    assert "img" not in rich["html"] and "javascript" not in rich["html"]
    sim.agent_say(chat_id, "Just text, 1 < 2")
    plain = tab.wait_event("chat_session_message", msg="Just text, 1 < 2")["event"]
    assert "html" not in plain
    # The visitor's own markup is shown as typed: no html, in the echo nor on a replay.
    sent = tab.say("<i>mine</i>")
    own = tab.wait_event("chat_session_message", msg_id=sent)["event"]
    assert "html" not in own
    again = v.tab()
    again.hello()
    replayed = again.wait_event("chat_session_message", msg_id=sent)["event"]
    assert "html" not in replayed
    assert (
        again.wait(
            lambda f: f.get("type") == "event" and "<b>Bold</b>" in f["event"].get("msg", "")
        )["event"]["html"]
        == rich["html"]
    )


def test_completed_is_no_end_and_a_survey_can_still_follow(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    tab.send({"type": "send", "id": "soft", "event": {"event": "chat_session_disconnect"}})
    tab.wait_type("ack", id="soft")
    form = tab.wait_event("chat_session_form_show")["event"]
    completed = {"event": "chat_session_status", "state": "completed", "timestamp": model.now_ts()}
    sim.emit(sim.chat(chat_id), completed)
    tab.wait_event("chat_session_status", state="completed")
    assert tab.hello()["chat"]["ended"] is False  # still under way
    answer = {
        "event": "chat_session_form_data",
        "form_request_id": form["form_request_id"],
        "form_name": "survey",
        "data": {"rating": "5"},
    }
    tab.send({"type": "send", "id": "survey", "event": answer})
    tab.wait_type("ack", id="survey")
    tab.wait_event("chat_session_ended")
    assert tab.hello()["chat"]["ended"] is True


def test_failed_is_an_end(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    sim.emit(sim.chat(chat_id), {"event": "chat_session_status", "state": "failed"})
    tab.wait_event("chat_session_status", state="failed")
    assert tab.hello()["chat"]["ended"] is True


def _gone_quietly(sim, chat_id: str) -> None:
    """The server forgets the chat without an event reaching us (its inactivity timeout while
    nobody polled): the next poll is answered 404 with code 5005."""
    with sim.lock:
        sim.end_chat(sim.chat(chat_id))


def test_a_poll_answered_5005_ends_the_chat_for_inactivity(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    _gone_quietly(sim, chat_id)
    ending = tab.wait_event("chat_session_ended")["event"]
    assert ending == {"event": "chat_session_ended", "reason": "inactivity", "synthetic": True}


def test_after_completed_a_5005_is_only_not_found(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    sim.emit(sim.chat(chat_id), {"event": "chat_session_status", "state": "completed"})
    tab.wait_event("chat_session_status", state="completed")
    _gone_quietly(sim, chat_id)
    assert tab.wait_event("chat_session_ended")["event"]["reason"] == "not_found"


def test_a_plain_404_is_not_found(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    sim.fail_next(1, 404, '{"error_message": "no such chat"}', paths=f"/chats/{chat_id}/events")
    assert tab.wait_event("chat_session_ended")["event"]["reason"] == "not_found"


def _typed(sim, chat_id: str) -> list[dict]:
    return [e for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_typing"]


def _type(tab, draft: str, send_id: str) -> None:
    event = {"event": "chat_session_typing", "msg": draft}
    tab.send({"type": "send", "id": send_id, "event": event})
    tab.wait_type("ack", id=send_id)


def test_typing_previews_are_off_by_default(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    _type(tab, "my secret draft", "t1")
    assert _typed(sim, chat_id)[-1] == {"event": "chat_session_typing"}
    assert v.http.get(v.base + "/api/config", timeout=5).json()["typing_preview"] is False


@pytest.fixture(scope="module")
def preview_server(sim_server):
    process = ServerProcess(sim_server.base_url, {"TYPING_PREVIEW": "true"})
    yield process
    process.stop()


def test_typing_previews_go_upstream_when_on(preview_server, sim):
    v = Visitor(preview_server.url)
    try:
        assert 'data-typing-preview="true"' in v.http.get(v.base + "/chat", timeout=5).text
        assert v.http.get(v.base + "/api/config", timeout=5).json()["typing_preview"] is True
        tab = v.tab()
        chat_id = v.start_chat(tab)["chat_id"]
        _type(tab, "Where is my", "t1")
        assert _typed(sim, chat_id)[-1] == {"event": "chat_session_typing", "msg": "Where is my"}
        _type(tab, "x" * 5000, "t2")  # a draft longer than a message: cut, not refused
        assert _typed(sim, chat_id)[-1]["msg"] == "x" * 2000
    finally:
        v.close()


def test_a_form_without_a_name_is_answered_with_text(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat_id = v.start_chat(tab)["chat_id"]
    sim.emit(sim.chat(chat_id), model.form_show("77", ""))
    tab.wait_event("chat_session_form_show", form_name="")
    answer = {
        "event": "chat_session_form_data",
        "form_request_id": "77",
        "form_name": "",
        "data": {"text": "my answer"},
    }
    tab.send({"type": "send", "id": "f1", "event": answer})
    tab.wait_type("ack", id="f1")
    sent = [e for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_form_data"]
    assert sent == [answer]
