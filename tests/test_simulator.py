"""The ServicePattern simulator, driven over real HTTP with plain `requests`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from webchat.simulator import SimConfig, Simulator, SimulatorServer

FAST = {"poll_hold": 1.0, "join_delay": 0.05, "typing_delay": 0.02, "reply_delay": 0.05}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def auth_header(client_id: str = "WebChat", app_id: str = "demo") -> str:
    return f'MOBILE-API-140-327-PLAIN appId="{app_id}", clientId="{client_id}"'


class Api:
    """A minimal v1 client: one requests.Session (cookie jar) per simulated browser/app."""

    def __init__(self, base_url: str, client_id: str = "WebChat") -> None:
        self.base = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = auth_header(client_id)

    def call(self, method: str, path: str, tenant: bool = True, **kw: Any) -> requests.Response:
        params = dict(kw.pop("params", {}))
        if tenant:
            params["tenantUrl"] = "demo.local"
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.base + path, params=params, **kw)

    def request_chat(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = self.call("POST", "/chats", json=body or {})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def send(self, chat_id: str, *events: dict[str, Any]) -> requests.Response:
        return self.call("POST", f"/chats/{chat_id}/events", json={"events": list(events)})

    def poll(self, chat_id: str) -> requests.Response:
        return self.call("GET", f"/chats/{chat_id}/events")

    def collect(
        self, chat_id: str, until: Callable[[dict[str, Any]], bool], limit: int = 20
    ) -> list[dict[str, Any]]:
        """Poll until an event matching ``until`` arrives; return everything received."""
        seen: list[dict[str, Any]] = []
        for _ in range(limit):
            resp = self.poll(chat_id)
            assert resp.status_code == 200, resp.text
            batch = resp.json()["events"] if resp.content else []
            seen.extend(batch)
            if any(until(e) for e in batch):
                return seen
        raise AssertionError(f"event never arrived; got {[e['event'] for e in seen]}")


def is_event(name: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items())


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


@pytest.fixture
def make() -> Iterator[Callable[..., tuple[Simulator, SimulatorServer]]]:
    servers: list[SimulatorServer] = []

    def factory(**overrides: Any) -> tuple[Simulator, SimulatorServer]:
        sim = Simulator(SimConfig(**{**FAST, **overrides}))
        servers.append(SimulatorServer(sim).start())
        return sim, servers[-1]

    yield factory
    for server in servers:
        server.stop()


@pytest.fixture
def sim_server(make) -> tuple[Simulator, SimulatorServer]:
    return make()


@pytest.fixture
def sim(sim_server) -> Simulator:
    return sim_server[0]


@pytest.fixture
def api(sim_server) -> Iterator[Api]:
    client = Api(sim_server[1].base_url)
    yield client
    client.session.close()


def greeted(api: Api) -> tuple[str, list[dict[str, Any]]]:
    chat_id = api.request_chat({"parameters": {"first_name": "John"}})["chat_id"]
    events = api.collect(chat_id, is_event("chat_session_not_typing"))
    return chat_id, events


# -- transport rules ----------------------------------------------------------------------


def test_server_basics(sim_server):
    sim, server = sim_server
    assert server.base_url == f"http://127.0.0.1:{server.port}/clientweb/api/v1"
    assert server.simulator is sim


def test_authorization_header_is_checked(sim, api):
    url = api.base + "/availability?tenantUrl=demo.local"
    cases = [
        ({}, "2000"),
        ({"Authorization": "MOBILE-API-140-327-PLAIN appId=demo, clientId=WebChat"}, "2001"),
        ({"Authorization": auth_header(app_id="other")}, "3000"),
    ]
    for headers, code in cases:
        resp = requests.get(url, headers=headers, timeout=5)
        assert resp.status_code == 401
        assert resp.json()["error_code"] == code
    assert len(sim.violations) == 3
    assert api.call("GET", "/availability").status_code == 200
    assert len(sim.violations) == 3


def test_tenant_url_is_required_where_documented(sim, api):
    for query in ({}, {"tenantUrl": "other.local"}):
        resp = api.call("GET", "/availability", tenant=False, params=query)
        assert resp.status_code == 400
        assert resp.json() == {"error_code": "1000", "error_message": resp.json()["error_message"]}
    assert len(sim.violations) == 2
    # Cache busters are ignored; file downloads do not need tenantUrl.
    assert api.call("GET", "/parameters", params={"timestamp": "1", "nonce": "2"}).ok
    assert api.call("GET", "/chats/x/files/y", tenant=False).status_code == 404
    assert len(sim.violations) == 2


def test_availability_and_parameter_shapes(sim, api):
    assert api.call("GET", "/availability").json() == {"chat": "available"}
    params = api.call("GET", "/parameters").json()["parameters"]
    assert params[0] == {"name": "first_name", "type": "FIRST_NAME"}
    sim.config.parameter_shape = "single_key"
    sim.config.availability = "notAvailable"
    assert api.call("GET", "/parameters").json()["parameters"][3] == {"phone": "PHONE"}
    assert api.call("GET", "/availability").json() == {"chat": "notAvailable"}


def test_cookies_are_issued_and_a_dropped_cookie_is_a_violation(make):
    sim, server = make(cookie_grace=0)
    api = Api(server.base_url)
    first = api.call("GET", "/availability")
    assert "SPCLIENT=" in first.headers["Set-Cookie"]
    assert "HttpOnly" in first.headers["Set-Cookie"]
    second = api.call("POST", "/chats", json={})
    assert "SPNODE=node-" in second.headers["Set-Cookie"]
    assert "SPCLIENT" not in second.headers["Set-Cookie"]
    chat_id = second.json()["chat_id"]
    assert api.call("GET", "/chats/active").json()["chat_id"] == chat_id
    assert sim.violations == []

    api.session.cookies.clear(domain="127.0.0.1", path="/", name="SPNODE")
    lost = api.call("GET", "/chats/active")
    assert lost.status_code == 404 and "SPCLIENT=" in lost.headers["Set-Cookie"]
    assert len(sim.violations) == 1 and "SPNODE" in sim.violations[0]
    assert not sim.chat(chat_id).ended  # the old client's chat lives on, unreachable


def test_spnode_race_with_request_chat_is_tolerated(sim, api):
    api.call("GET", "/availability")
    stale = dict(api.session.cookies)  # what a concurrent request would carry
    api.request_chat()
    resp = requests.get(
        api.base + "/availability?tenantUrl=demo.local",
        headers={"Authorization": auth_header()},
        cookies=stale,
        timeout=5,
    )
    assert resp.ok and "Set-Cookie" not in resp.headers
    assert sim.violations == []


def test_client_id_identifies_non_webchat_clients(sim_server):
    sim, server = sim_server
    one, two = Api(server.base_url, "app-1"), Api(server.base_url, "app-2")
    resp = one.call("POST", "/chats", json={})
    assert "Set-Cookie" not in resp.headers
    assert two.request_chat()["chat_id"] != resp.json()["chat_id"]
    assert Api(server.base_url, "app-1").request_chat()["is_new_chat"] is False


# -- chat lifecycle -------------------------------------------------------------------------


def test_request_chat_twice_returns_the_live_chat(sim, api):
    body = {"phone_number": "3001", "from": "John", "parameters": {"first_name": "John"}}
    first = api.request_chat(body)
    assert first["state"] == "queued" and first["is_new_chat"] is True
    assert first["ewt"] == "20" and first["phone_number"] == "3001"
    again = api.request_chat({})
    assert again["chat_id"] == first["chat_id"] and again["is_new_chat"] is False
    assert sim.chat(first["chat_id"]).request_body == body
    active = api.call("GET", "/chats/active").json()
    assert active["chat_id"] == first["chat_id"]


def test_agent_joins_and_greets(sim, api):
    chat_id, events = greeted(api)
    assert names(events) == [
        "chat_session_status",
        "chat_session_party_joined",
        "chat_session_status",
        "chat_session_typing",
        "chat_session_message",
        "chat_session_not_typing",
    ]
    queued, joined, connected, _, greeting, _ = events
    assert queued == {"event": "chat_session_status", "state": "queued", "ewt": "20"}
    assert connected["state"] == "connected"
    assert joined["type"] == "internal" and joined["display_name"] == "Alice Martin"
    assert greeting["party_id"] == joined["party_id"]
    assert greeting["msg"].startswith("Hi John, I'm Alice")
    assert (
        isinstance(greeting["timestamp"], str) and abs(int(greeting["timestamp"]) - time.time()) < 5
    )
    assert api.call("GET", "/chats/active").json()["state"] == "connected"


def test_idle_polls_answer_empty_list_or_empty_body(make):
    sim, server = make(poll_hold=0.3, join_delay=30)
    api = Api(server.base_url)
    chat_id = api.request_chat()["chat_id"]
    assert names(api.poll(chat_id).json()["events"]) == ["chat_session_status"]
    bodies = []
    for _ in range(2):
        started = time.monotonic()
        resp = api.poll(chat_id)
        assert resp.status_code == 200 and time.monotonic() - started >= 0.25
        bodies.append(resp.content)
    assert sorted(bodies) == [b"", b'{"events": []}']


def test_second_concurrent_poll_is_rejected(make):
    sim, server = make(join_delay=30)
    api = Api(server.base_url)
    chat_id = api.request_chat()["chat_id"]
    api.poll(chat_id)  # drain the queued status so the next poll is held
    held: list[requests.Response] = []
    thread = threading.Thread(target=lambda: held.append(api.poll(chat_id)))
    thread.start()
    assert sim.wait_for(lambda: sim.polls_in_flight(chat_id) == 1, timeout=5)
    second = api.poll(chat_id)
    assert second.status_code == 400 and second.json()["error_code"] == "5509"
    assert sim.max_concurrent_polls == 2
    assert any("concurrent poll" in v for v in sim.violations)
    sim.agent_say(chat_id, "still there")
    thread.join(timeout=5)
    assert held[0].json()["events"][0]["msg"] == "still there"


def test_message_gets_a_reply_and_history_echoes_it(sim, api):
    chat_id, _ = greeted(api)
    assert api.send(chat_id, {"event": "chat_session_message", "msg_id": "1", "msg": "hello"}).ok
    events = api.collect(chat_id, is_event("chat_session_not_typing"))
    assert names(events) == [
        "chat_session_typing",
        "chat_session_message",
        "chat_session_not_typing",
    ]
    assert events[1]["msg"].startswith('You said: "hello".')
    assert sim.chat(chat_id).client_events == [
        {"event": "chat_session_message", "msg_id": "1", "msg": "hello"}
    ]
    history = api.call("GET", f"/chats/{chat_id}/history").json()["events"]
    mine = [e for e in history if e.get("party_id") == chat_id]
    assert [(e["event"], e["msg"]) for e in mine] == [("chat_session_message", "hello")]
    assert history.index(mine[0]) < history.index(events[1])
    assert sim.violations == []


def test_customer_end_ends_the_chat(sim, api):
    chat_id, _ = greeted(api)
    assert api.send(chat_id, {"event": "chat_session_end"}).content == b""
    events = api.collect(chat_id, is_event("chat_session_ended"))
    assert names(events) == ["chat_session_party_left", "chat_session_ended"]
    for path in ("/events", "/history"):  # the ended event was delivered: chat is gone
        resp = api.call("GET", f"/chats/{chat_id}{path}")
        assert resp.status_code == 404 and resp.json()["error_code"] == "5005"
    assert api.send(chat_id, {"event": "chat_session_typing"}).status_code == 404
    assert api.call("GET", "/chats/active").status_code == 404
    assert sim.chat(chat_id).ended and sim.scheduler.pending(chat_id) == 0
    assert api.request_chat()["is_new_chat"] is True


def test_bye_and_agent_end(sim, api):
    chat_id, _ = greeted(api)
    api.send(chat_id, {"event": "chat_session_message", "msg_id": "1", "msg": " Bye "})
    events = api.collect(chat_id, is_event("chat_session_ended"))
    assert names(events)[-3:] == [
        "chat_session_not_typing",
        "chat_session_party_left",
        "chat_session_ended",
    ]
    other = api.request_chat()["chat_id"]
    sim.agent_end(other)
    assert names(api.collect(other, is_event("chat_session_ended")))[-1] == "chat_session_ended"


def test_disconnect_then_survey_then_ended(sim, api):
    chat_id, _ = greeted(api)
    api.send(chat_id, {"event": "chat_session_disconnect"})
    events = api.collect(chat_id, is_event("chat_session_form_show"))
    assert names(events) == ["chat_session_party_left", "chat_session_form_show"]
    form = events[1]
    assert form["form_name"] == "survey"
    api.send(
        chat_id,
        {
            "event": "chat_session_form_data",
            "form_request_id": form["form_request_id"],
            "form_name": "survey",
            "data": {"rating": "5"},
        },
    )
    assert names(api.collect(chat_id, is_event("chat_session_ended"))) == ["chat_session_ended"]


def test_special_words_and_signaling(sim, api):
    chat_id, _ = greeted(api)
    for i, word in enumerate(["file", "photo", "survey", "signal"]):
        api.send(chat_id, {"event": "chat_session_message", "msg_id": str(i), "msg": word})
        api.collect(chat_id, is_event("chat_session_not_typing"))
    events = sim.chat(chat_id).events
    files = [e for e in events if e["event"] == "chat_session_file"]
    assert [(f["file_name"], f["file_type"]) for f in files] == [
        ("notes.txt", "attachment"),
        ("photo.png", "image"),
    ]
    photo = api.call("GET", f"/chats/{chat_id}/files/{files[1]['file_id']}", tenant=False)
    assert photo.headers["Content-Type"] == "image/png" and photo.content.startswith(PNG_MAGIC)
    assert any(e["event"] == "chat_session_form_show" for e in events)
    history = api.call("GET", f"/chats/{chat_id}/history").json()["events"]
    assert any(e["event"] == "chat_session_signaling" for e in history)


def test_inactivity_warning_then_timeout(make):
    sim, server = make(warning_after=0.1, timeout_after=0.2, join_delay=30)
    api = Api(server.base_url)
    chat_id = api.request_chat()["chat_id"]
    events = api.collect(chat_id, is_event("chat_session_inactivity_timeout"))
    assert names(events) == [
        "chat_session_status",
        "chat_session_timeout_warning",
        "chat_session_inactivity_timeout",
    ]
    assert sim.chat(chat_id).ended and api.poll(chat_id).status_code == 404


def test_piggyback_drains_events_into_send_reply(make):
    sim, server = make(piggyback=True, join_delay=30)
    api = Api(server.base_url)
    chat_id = api.request_chat()["chat_id"]
    sim.agent_say(chat_id, "psst")
    reply = api.send(chat_id, {"event": "chat_session_typing"}).json()
    assert names(reply["events"]) == ["chat_session_status", "chat_session_message"]


def test_bad_bodies_are_violations(sim, api):
    chat_id = api.request_chat()["chat_id"]
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    resp = api.call("POST", f"/chats/{chat_id}/events", data=b"not json", headers=headers)
    assert resp.status_code == 400 and resp.json()["error_code"] == "5003"
    api.send(chat_id, {"event": "chat_session_message_read", "ref_msg_id": "1"})  # v2 only
    api.call("POST", f"/chats/{chat_id}/events", data=b'{"events": []}')  # no Content-Type
    assert len(sim.violations) == 3
    assert "Content-Type" in sim.violations[-1]
    assert api.call("GET", "/chats").status_code == 405
    assert api.call("GET", "/nope").status_code == 404
    assert len(sim.violations) == 5


# -- files and photos -------------------------------------------------------------------


def test_upload_download_and_ownership(sim_server, api):
    sim, server = sim_server
    chat_id, _ = greeted(api)
    files = {"file-upload-input": ("scan.txt", b"hello file", "text/plain")}
    up = api.call("POST", "/files", files=files).json()
    assert up["file_name"] == "scan.txt"
    event = {"event": "chat_session_file", "msg_id": "", "file_type": "attachment", **up}
    api.send(chat_id, event)
    events = api.collect(chat_id, is_event("chat_session_file"))
    assert '"scan.txt"' in events[1]["msg"]
    receipt = events[2]
    assert receipt["file_name"] == "receipt.txt"

    own = api.call("GET", f"/chats/{chat_id}/files/{up['file_id']}", tenant=False)
    assert own.status_code == 200 and own.content == b"hello file"
    assert own.headers["Content-Type"].startswith("text/plain")
    got = api.call("GET", f"/chats/{chat_id}/files/{receipt['file_id']}", tenant=False)
    assert got.content == b"Receipt for scan.txt\n"

    stranger = Api(server.base_url)
    stranger.request_chat()
    for file_id in (up["file_id"], receipt["file_id"]):
        resp = stranger.call("GET", f"/chats/{chat_id}/files/{file_id}", tenant=False)
        assert resp.status_code == 404
    history = api.call("GET", f"/chats/{chat_id}/history").json()["events"]
    assert any(e["event"] == "chat_session_file" and e["party_id"] == chat_id for e in history)
    assert sim.violations == []


def test_oversized_upload_is_rejected(make):
    sim, server = make(max_upload=1000, max_files=2)
    api = Api(server.base_url)
    big = api.call("POST", "/files", files={"file": ("big.bin", b"x" * 5000)})
    assert big.status_code == 400 and big.json()["error_code"] == "5501"
    ids = [
        api.call("POST", "/files", files={"file": (f"f{i}.bin", b"y" * 1000)}).json()["file_id"]
        for i in range(3)
    ]
    assert len(set(ids)) == 3
    chat_id = api.request_chat()["chat_id"]
    event = {"event": "chat_session_file", "msg_id": "", "file_type": "attachment"}
    api.send(chat_id, {**event, "file_id": ids[0], "file_name": "f0.bin"})
    assert any("unknown file" in v for v in sim.violations)  # the oldest was dropped


def test_profile_photo_only_for_agent_of_own_chat(sim_server, api):
    sim, server = sim_server
    chat_id, events = greeted(api)
    party = events[1]["party_id"]
    photo = api.call("GET", f"/chats/{chat_id}/profilephotos/{party}", tenant=False)
    assert photo.status_code == 200 and photo.content.startswith(PNG_MAGIC)
    assert api.call("GET", f"/chats/{chat_id}/profilephotos/{chat_id}").status_code == 404
    stranger = Api(server.base_url)
    assert stranger.call("GET", f"/chats/{chat_id}/profilephotos/{party}").status_code == 404


# -- test hooks ---------------------------------------------------------------------------


def test_fail_next_and_hang_next(sim, api):
    sim.fail_next(1, 200, b"<html>garbage", paths="/availability")
    sim.fail_next(1)
    garbage = api.call("GET", "/availability")
    assert garbage.status_code == 200 and garbage.content == b"<html>garbage"
    assert api.call("GET", "/parameters").status_code == 503
    assert api.call("GET", "/availability").json() == {"chat": "available"}

    sim.hang_next(1, 0.3, paths="/parameters")
    started = time.monotonic()
    assert api.call("GET", "/availability").ok
    assert time.monotonic() - started < 0.3
    assert api.call("GET", "/parameters").ok
    assert time.monotonic() - started >= 0.3
    assert [e["status"] for e in sim.requests_log[-5:]] == [200, 503, 200, 200, 200]
    assert sim.requests_log[-1]["query"] == {"tenantUrl": "demo.local"}

    sim.fail_next(5, 500)
    sim.hang_next(5, 30)
    sim.clear_faults()
    assert api.call("GET", "/availability").ok


def test_agent_send_file_hook(sim, api):
    chat_id = api.request_chat()["chat_id"]
    file_id = sim.agent_send_file(chat_id, "doc.pdf", b"%PDF-1.4", "attachment")
    event = api.collect(chat_id, is_event("chat_session_file"))[-1]
    assert event["file_id"] == file_id
    resp = api.call("GET", f"/chats/{chat_id}/files/{file_id}", tenant=False)
    assert resp.headers["Content-Type"] == "application/pdf" and resp.content == b"%PDF-1.4"


def test_stop_releases_a_held_poll(make):
    sim, server = make(poll_hold=30, join_delay=30)
    api = Api(server.base_url)
    chat_id = api.request_chat()["chat_id"]
    api.poll(chat_id)
    held: list[requests.Response] = []
    thread = threading.Thread(target=lambda: held.append(api.poll(chat_id)))
    thread.start()
    assert sim.wait_for(lambda: sim.polls_in_flight(chat_id) == 1, timeout=5)
    started = time.monotonic()
    server.stop()
    thread.join(timeout=5)
    assert held and held[0].status_code == 200
    assert time.monotonic() - started < 2


# -- as lenient as the real server where Bright Pattern's own clients need it ------------------


def test_files_and_photos_download_by_cookie_alone(sim_server, api):
    """Bright Pattern's browser client puts these URLs straight into <img src> and links: no
    Authorization header, only the client's cookies."""
    sim, server = sim_server
    chat_id, events = greeted(api)
    party = events[1]["party_id"]
    up = api.call("POST", "/files", files={"file": ("a.txt", b"by cookie", "text/plain")}).json()
    api.send(chat_id, {"event": "chat_session_file", "msg_id": "", "file_type": "attachment", **up})
    browser = requests.Session()  # the same cookies, no Authorization header
    browser.cookies.update(api.session.cookies)
    got = browser.get(f"{api.base}/chats/{chat_id}/files/{up['file_id']}", timeout=5)
    assert got.status_code == 200 and got.content == b"by cookie"
    photo = browser.get(f"{api.base}/chats/{chat_id}/profilephotos/{party}", timeout=5)
    assert photo.status_code == 200 and photo.content.startswith(PNG_MAGIC)
    assert sim.violations == []
    # Strict where it must be: no cookie of a known client, no file, and a violation noted.
    for cookies in ({}, {"SPCLIENT": "forged"}):
        stranger = requests.get(
            f"{api.base}/chats/{chat_id}/files/{up['file_id']}", cookies=cookies, timeout=5
        )
        assert stranger.status_code == 401 and stranger.json()["error_code"] == "2000"
    assert len(sim.violations) == 2
    # Every other call still needs the header.
    bare = browser.get(f"{api.base}/chats/{chat_id}/history?tenantUrl=demo.local", timeout=5)
    assert bare.status_code == 401


def test_a_client_file_without_file_name_is_taken(sim, api):
    """Bright Pattern's legacy Android client shares uploads without a file_name."""
    chat_id, _ = greeted(api)
    up = api.call("POST", "/files", files={"file": ("scan.pdf", b"%PDF", "application/pdf")})
    event = {"event": "chat_session_file", "msg_id": "", "file_type": "attachment"}
    api.send(chat_id, {**event, "file_id": up.json()["file_id"]})
    events = api.collect(chat_id, is_event("chat_session_file"))
    assert '"scan.pdf"' in events[1]["msg"]  # the agent names the stored file
    assert sim.violations == []
    api.send(chat_id, {"event": "chat_session_file", "msg_id": "", "file_type": "attachment"})
    assert f"chat {chat_id}: chat_session_file lacks 'file_id'" in sim.violations
    sim.violations.clear()


def test_history_leaves_the_clients_own_signalling_out(sim, api):
    chat_id, _ = greeted(api)
    signal = {
        "event": "chat_session_signaling",
        "msg_id": "9",
        "destination_party_id": sim.chat(chat_id).agent_party_id,
        "data": {"type": "END_CALL"},
    }
    assert api.send(chat_id, signal).status_code == 200
    api.send(chat_id, {"event": "chat_session_message", "msg_id": "10", "msg": "hello"})
    history = api.call("GET", f"/chats/{chat_id}/history").json()["events"]
    mine = [(e["event"], e.get("msg_id")) for e in history if e.get("party_id") == chat_id]
    assert mine == [("chat_session_message", "10")]
    assert sim.violations == []


def test_the_word_rich_gets_a_message_with_markup(sim, api):
    chat_id, _ = greeted(api)
    api.send(chat_id, {"event": "chat_session_message", "msg_id": "1", "msg": "rich"})
    events = api.collect(chat_id, is_event("chat_session_not_typing"))
    said = [e["msg"] for e in events if e["event"] == "chat_session_message"]
    assert any("<ul><li>" in text and 'href="https://' in text for text in said)
