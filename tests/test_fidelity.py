"""Behaving as a browser talking to ServicePattern directly would."""

from __future__ import annotations

import json
import uuid

import requests

BROWSER = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile"


def _send(tab, event: dict) -> str:
    send_id = uuid.uuid4().hex
    tab.send({"type": "send", "id": send_id, "event": event})
    tab.wait_type("ack", id=send_id)
    return send_id


def test_every_visitor_call_carries_the_visitors_browser(visitor, server, sim):
    v = visitor(user_agent=BROWSER)
    tab = v.tab()
    chat = v.start_chat(tab)
    tab.say("hi")
    party = tab.wait_event("chat_session_party_joined")["event"]["party_id"]
    assert v.http.get(server.url + f"/api/photos/{party}").status_code == 200
    assert (
        v.http.post(
            server.url + "/api/files", files={"file": ("a.txt", b"abc", "text/plain")}
        ).status_code
        == 200
    )
    polls_seen = sim.wait_for(
        lambda: (
            sum(
                1
                for r in sim.requests_log
                if r["method"] == "GET" and r["path"].endswith(f"/chats/{chat['chat_id']}/events")
            )
            >= 2
        )
    )
    assert polls_seen
    chat_calls = [r for r in sim.requests_log if chat["chat_id"] in r["path"]]
    client_cookie = next(
        part
        for part in chat_calls[0]["headers"]["Cookie"].split("; ")
        if part.startswith("SPCLIENT=")
    )
    mine = [
        r for r in sim.requests_log if client_cookie in r["headers"].get("Cookie", "").split("; ")
    ]
    kinds = {(r["method"], r["path"].rsplit("/", 1)[-1]) for r in mine}
    assert ("GET", "events") in kinds and ("POST", "events") in kinds
    assert any(r["path"].endswith("/files") for r in mine)
    assert {r["headers"].get("User-Agent") for r in mine} == {BROWSER}
    # The very first call (Request Chat, before any cookie existed) carried it too.
    assert any(
        r["path"].endswith("/chats")
        and r["method"] == "POST"
        and r["headers"].get("User-Agent") == BROWSER
        for r in sim.requests_log
    )


def test_tenant_wide_calls_carry_an_honest_product_name(server, sim):
    requests.get(server.url + "/api/parameters", timeout=10)
    tenant_calls = [
        r for r in sim.requests_log if r["path"].endswith(("/availability", "/parameters"))
    ]
    assert tenant_calls
    assert all(r["headers"]["User-Agent"].startswith("webchat-bff/") for r in tenant_calls)
    assert all("python-requests" in r["headers"]["User-Agent"] for r in tenant_calls)


def test_navigation_and_location_reach_the_agent(visitor, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    nav = _send(
        tab,
        {
            "event": "chat_session_navigation",
            "page": "https://shop.example.com/cart?item=7",
            "title": "Your cart",
        },
    )
    loc = _send(
        tab,
        {
            "event": "chat_session_location",
            "latitude": 52.520008,
            "longitude": 13.404954,
            "url": "https://www.openstreetmap.org/?mlat=52.520008&mlon=13.404954",
        },
    )
    events = {e.get("msg_id"): e for e in sim.chat(chat["chat_id"]).client_events}
    assert events[nav] == {
        "event": "chat_session_navigation",
        "msg_id": nav,
        "page": "https://shop.example.com/cart?item=7",
        "title": "Your cart",
    }
    assert events[loc]["latitude"] == "52.520008" and events[loc]["longitude"] == "13.404954"
    assert events[loc]["url"].startswith("https://www.openstreetmap.org/")


def test_phone_parameter_becomes_the_callback_number(visitor, sim):
    v = visitor()
    tab = v.tab()
    tab.hello()
    chat = tab.start(
        {"first_name": "Cal", "phone": "+1 555 0100"},
        phone_number="+1 555 0100",
        **{"from": "Cal Lee"},
    )
    body = sim.chat(chat["chat_id"]).request_body
    assert body["phone_number"] == "+1 555 0100" and body["from"] == "Cal Lee"
    assert body["parameters"]["phone"] == "+1 555 0100"


def test_soft_end_keeps_the_session_for_the_survey(visitor, server, sim):
    assert requests.get(server.url + "/api/config", timeout=10).json()["soft_end"] is False
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    _send(tab, {"event": "chat_session_disconnect"})
    form = tab.wait_event("chat_session_form_show")["event"]
    assert form["form_name"] == "survey"
    assert not any(
        f["type"] == "event" and f["event"]["event"] == "chat_session_ended" for f in tab.frames
    )
    _send(
        tab,
        {
            "event": "chat_session_form_data",
            "form_request_id": form["form_request_id"],
            "form_name": "survey",
            "data": {"rating": "5", "comment": "great"},
        },
    )
    tab.wait_event("chat_session_ended")
    answers = [
        e for e in sim.chat(chat["chat_id"]).client_events if e["event"] == "chat_session_form_data"
    ]
    assert answers[0]["data"] == {"rating": "5", "comment": "great"}
    assert tab.hello()["chat"]["ended"] is True


def test_metrics_readiness_and_json_logs_without_chat_text(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    secret_text = "my secret order 4417"
    sent = tab.say(secret_text)
    tab.wait_type("ack", id=sent)
    body = requests.get(server.url + "/metrics", timeout=10).text
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in body.splitlines()
        if line and not line.startswith("#")
    }
    assert values["webchat_open_sockets"] >= 1
    assert values["webchat_active_chats"] >= 1
    assert values["webchat_events_relayed_total"] >= 5
    assert values['webchat_upstream_seconds_count{method="poll"}'] >= 1
    assert values['webchat_upstream_seconds_count{method="send_events"}'] >= 1
    assert requests.get(server.url + "/readyz", timeout=10).json() == {"status": "ready"}
    sim.fail_next(1, 503, None, paths=f"/chats/{chat['chat_id']}/events")
    tab.wait_type("upstream", status="retrying")
    tab.wait_type("upstream", status="ok", timeout=15)
    log_lines = [
        json.loads(line)
        for line in server.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    assert log_lines, "no JSON log lines"
    failed = [line for line in log_lines if "poll of chat" in line["message"]]
    assert failed and failed[-1]["chat"] == chat["chat_id"] and failed[-1]["visitor"]
    assert failed[-1]["level"] == "warning"
    assert not any(secret_text in line["message"] for line in log_lines)
