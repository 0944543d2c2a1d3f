"""Hostile frames and hostile URLs over a real socket: a clear error, no traceback in the log,
the socket stays up, and nothing but http(s) URLs travels either way."""

from __future__ import annotations

from webchat.simulator import model


def _log_since(server, offset: int) -> str:
    with open(server.log_path, encoding="utf-8", errors="replace") as log:
        log.seek(offset)
        return log.read()


def test_deeply_nested_frames_are_invalid_json_without_a_traceback(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    v.start_chat(tab)
    offset = server.log_path.stat().st_size
    for raw in ("[" * 100_000, '{"type": "ping", "x": ' + "[" * 900 + "]" * 900 + "}"):
        since = len(tab.frames)
        tab.send(raw)
        error = tab.wait(lambda f: f.get("type") == "error", since=since)
        assert error["code"] == "invalid_json", error
    # The socket is still up and still relays.
    tab.send({"type": "ping"})
    tab.wait_type("pong")
    sent = tab.say("still here")
    tab.wait_type("ack", id=sent)
    # The error frame is written after any log line of the same frame: the log is complete.
    logged = _log_since(server, offset)
    assert "Traceback" not in logged and "RecursionError" not in logged, logged[-2000:]


def test_a_javascript_page_is_refused_and_never_reaches_the_agent(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    for page in ("javascript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x"):
        tab.send(
            {
                "type": "send",
                "id": "nav-bad",
                "event": {"event": "chat_session_navigation", "page": page, "title": "t"},
            }
        )
        error = tab.wait_type("error", id="nav-bad")
        assert error["code"] == "invalid_event"
        tab.frames.remove(error)
    tab.send(
        {
            "type": "send",
            "id": "nav-ok",
            "event": {"event": "chat_session_navigation", "page": "https://shop.example/cart"},
        }
    )
    tab.wait_type("ack", id="nav-ok")
    pages = [
        e.get("page")
        for e in sim.chat(chat["chat_id"]).client_events
        if e["event"] == "chat_session_navigation"
    ]
    assert pages == ["https://shop.example/cart"]


def test_an_agents_javascript_location_reaches_the_browser_without_its_url(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    live = sim.chat(chat["chat_id"])
    for url in ("javascript:alert(document.domain)", "https://maps.example/?q=52.5,13.4"):
        event = {
            "event": "chat_session_location",
            "party_id": live.agent_party_id,
            "url": url,
            "latitude": "52.500000",
            "longitude": "13.400000",
            "timestamp": model.now_ts(),
        }
        sim.emit(live, event)
    hostile, kind = (
        tab.wait_event("chat_session_location")["event"],
        tab.wait_event("chat_session_location", url="https://maps.example/?q=52.5,13.4"),
    )
    assert "url" not in hostile and hostile["latitude"] == "52.500000"
    assert kind["event"]["url"].startswith("https://")
