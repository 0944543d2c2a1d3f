"""Bad input gets a clear error and harms nothing; no visitor ever reaches another's chat."""

from __future__ import annotations

import json

import pytest
import requests
import websocket

from tests.harness import Tab


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json at all", "invalid_json"),
        (b"\x00\x01binary", "invalid_frame"),
        (json.dumps({"type": "teleport"}), "unknown_type"),
        (
            json.dumps({"type": "send", "id": "x1", "event": {"event": "chat_session_hack"}}),
            "unknown_event",
        ),
        (
            json.dumps(
                {
                    "type": "send",
                    "id": "x2",
                    "event": {"event": "chat_session_message", "msg": "x" * 2001},
                }
            ),
            "too_long",
        ),
        (
            json.dumps(
                {
                    "type": "send",
                    "id": "x3",
                    "event": {"event": "chat_session_message", "msg": "y" * 200_000},
                }
            ),
            "too_long",
        ),
        (
            json.dumps({"type": "send", "id": "x4", "event": {"event": "chat_session_message"}}),
            "invalid_event",
        ),
        (json.dumps({"type": "hello", "after": "ten"}), "invalid_frame"),
    ],
)
def test_bad_frames_get_an_error_and_the_socket_stays_up(visitor, sim, raw, code):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    before = len(sim.chat(chat["chat_id"]).client_events)
    tab.send(raw)
    error = tab.wait_type("error")
    assert error["code"] == code and error["message"]
    if '"id"' in str(raw):
        assert error["id"].startswith("x")
    tab.send({"type": "ping"})
    tab.wait_type("pong")
    sent = tab.say("still here")
    tab.wait_type("ack", id=sent)
    events = sim.chat(chat["chat_id"]).client_events
    assert [e.get("msg") for e in events[before:] if e["event"] == "chat_session_message"] == [
        "still here"
    ]


def test_markup_in_a_message_is_passed_as_text(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    text = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    sent = tab.say(text)
    assert tab.wait_event("chat_session_message", msg_id=sent)["event"]["msg"] == text
    assert [
        e["msg"] for e in sim.chat(chat["chat_id"]).client_events if e.get("msg_id") == sent
    ] == [text]


def test_send_without_a_chat(visitor):
    v = visitor()
    tab = v.tab()
    tab.hello()
    tab.say("anyone?", "lonely")
    assert tab.wait_type("error", id="lonely")["code"] == "no_chat"


def test_foreign_origin_is_refused_before_the_handshake(visitor, server):
    v = visitor()
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        v.tab(origin="https://evil.example")
    assert info.value.status_code == 403
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(
            server.url.replace("http", "ws") + "/ws", suppress_origin=True, timeout=5
        )
    plain = requests.get(server.url + "/ws", headers={"Origin": "https://evil.example"})
    assert plain.status_code == 403 and plain.json()["error"]["code"] == "forbidden_origin"


def test_tampered_cookie_is_a_new_visitor_never_another(visitor, server, sim):
    owner = visitor()
    owner_tab = owner.tab()
    chat = owner.start_chat(owner_tab)
    cookie = owner.http.cookies["wc_visitor"]
    intruder = visitor()
    intruder.http.cookies.clear()
    forged = cookie[:-3] + ("AAA" if cookie[-3:] != "AAA" else "BBB")
    intruder.http.cookies.set("wc_visitor", forged)
    tab = Tab(intruder)
    state = tab.hello(after=0, chat_id=chat["chat_id"])
    assert state["chat"] is None
    assert tab.events() == []
    page = requests.get(server.url + "/chat", cookies={"wc_visitor": forged}, timeout=10)
    assert page.status_code == 200 and "wc_visitor" in page.cookies
    assert page.cookies["wc_visitor"] != cookie
    tab.close()
    for junk in ("x" * 5000, "a.b.c", "%FF%FE", ""):
        garbage = requests.get(server.url + "/chat", cookies={"wc_visitor": junk})
        assert garbage.status_code == 200
        assert garbage.cookies["wc_visitor"] not in (junk, cookie)


def test_visitors_are_isolated(visitor, server, sim):
    a, b = visitor(), visitor()
    tab_a, tab_b = a.tab(), b.tab()
    chat_a = a.start_chat(tab_a)
    chat_b = b.start_chat(tab_b)
    assert chat_a["chat_id"] != chat_b["chat_id"]
    secret = tab_a.say("my account number is 1234")
    tab_a.wait_type("ack", id=secret)
    sim.agent_say(chat_b["chat_id"], "only for b")
    tab_b.wait(lambda f: f["type"] == "event" and f["event"].get("msg") == "only for b")
    assert not any("1234" in json.dumps(f) for f in tab_b.frames)
    assert not any("only for b" in json.dumps(f) for f in tab_a.frames)
    # b asking for a's chat by id gets b's own chat and nothing of a's.
    other = b.tab()
    state = other.hello(after=0, chat_id=chat_a["chat_id"])
    assert state["chat"]["chat_id"] == chat_b["chat_id"]


def test_the_browser_never_learns_upstream_secrets(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    v.start_chat(tab)
    texts = [json.dumps(f) for f in tab.frames]
    pages = [
        v.http.get(server.url + p).text
        for p in ("/", "/chat", "/api/parameters", "/api/availability")
    ]
    for blob in texts + pages + [json.dumps(dict(v.http.cookies))]:
        for secret in (
            "SPCLIENT",
            "SPNODE",
            "0123456789abcdef0123456789abcdef",
            "tenant.example.com",
            "clientweb",
            "MOBILE-API",
        ):
            assert secret not in blob


def test_a_frame_over_the_transport_cap_closes_with_1009_and_harms_nothing(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    tab.send(
        {
            "type": "send",
            "id": "huge",
            "event": {"event": "chat_session_message", "msg": "z" * (1024 * 1024 + 10)},
        }
    )
    assert tab.close_code() == 1009
    again = v.tab()
    assert again.hello()["chat"]["chat_id"] == chat["chat_id"]
    sent = again.say("after the huge frame")
    again.wait_type("ack", id=sent)
