"""deploy/nginx.conf as shipped, run by Debian's nginx over TLS (a CA made here) in front of two
gunicorn instances on one Redis: what a visitor sees through it, and a reload and a lost
instance mid-chat."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from tests.harness import Tab, Visitor
from tests.nginx_server import FORGED, Stack, start_stack, started_or_skip
from tests.tls import Certs, make_certs

SHOP = "https://shop.example"
MB25 = 25 * 1024 * 1024


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("nginx-certs"))


@pytest.fixture(scope="module")
def stack(
    tmp_path_factory: pytest.TempPathFactory, certs: Certs, sim_server: Any, redis_url: str
) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("nginx")
    made = started_or_skip(lambda: start_stack(folder, certs, sim_server.base_url, redis_url, SHOP))
    yield made
    made.stop()


@pytest.fixture(autouse=True)
def trust_test_ca(monkeypatch: pytest.MonkeyPatch, certs: Certs) -> None:
    """requests and websocket-client verify nginx's certificate against the test CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certs.ca))
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(certs.ca))


def agent_echo(tab: Tab, text: str, timeout: float = 15) -> dict:
    """The simulated agent's answer to `text`: proof the chat is polled through the proxy."""
    return tab.wait(
        lambda f: (
            f.get("type") == "event"
            and f["event"].get("event") == "chat_session_message"
            and f'You said: "{text}"' in (f["event"].get("msg") or "")
        ),
        timeout,
    )


def test_cookie_is_host_prefixed_secure_none_partitioned(stack: Stack) -> None:
    response = requests.get(stack.edge.url + "/chat", timeout=10)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-wc_visitor=")
    for part in ("Secure", "HttpOnly", "Path=/", "SameSite=None", "Partitioned"):
        assert part in cookie
    assert "Domain=" not in cookie


def test_origin_check_sees_the_public_https_origin(stack: Stack, sim: Any) -> None:
    v = Visitor(stack.edge.url)
    try:
        for origin in (stack.edge.url, SHOP):
            tab = v.tab(origin)
            tab.send({"type": "ping"})
            tab.wait_type("pong")
        for origin in ("https://evil.example", stack.edge.url.replace("https:", "http:")):
            with pytest.raises(websocket.WebSocketBadStatusException) as refused:
                v.tab(origin)
            assert refused.value.status_code == 403
    finally:
        v.close()


def test_a_forged_forwarded_for_is_not_believed(stack: Stack) -> None:
    forged = {"X-Forwarded-For": FORGED}
    # The app believes one proxy hop: straight to an instance, the header is taken...
    direct = requests.get(stack.apps[0].url + "/metrics", headers=forged, timeout=10)
    assert direct.status_code == 200
    # ...but nginx replaces what a client sends with the address it saw.
    through = requests.get(stack.edge.url + "/metrics", headers=forged, timeout=10)
    assert through.status_code == 404


def test_a_visitor_chats_and_moves_a_25_mb_file(stack: Stack, sim: Any) -> None:
    v = Visitor(stack.edge.url)
    try:
        tab = v.tab()
        chat = v.start_chat(tab, first_name="Nia")
        tab.say("hello through nginx")
        agent_echo(tab, "hello through nginx")
        payload = os.urandom(MB25)
        up = v.http.post(
            stack.edge.url + "/api/files",
            files={"file": ("big.bin", payload, "application/octet-stream")},
            timeout=120,
        )
        assert up.status_code == 200, up.text
        file_id = up.json()["file_id"]
        tab.wait_event("chat_session_file", file_id=file_id, timeout=30)
        with v.http.get(stack.edge.url + f"/api/files/{file_id}", stream=True, timeout=120) as down:
            assert down.status_code == 200
            assert b"".join(down.iter_content(1 << 20)) == payload
        # One byte more: the app's own JSON 413, not nginx's page (its limit is not lower).
        over = v.http.post(
            stack.edge.url + "/api/files", files={"file": ("big.bin", payload + b"x")}, timeout=120
        )
        assert over.status_code == 413
        assert over.headers["Content-Type"].startswith("application/json")
        posted = [
            e for e in sim.chat(chat["chat_id"]).client_events if e["event"] == "chat_session_file"
        ]
        assert len(posted) == 1
    finally:
        v.close()


def raw_request(edge: str, ca: Path, head: str, body: bytes = b"") -> tuple[int, str]:
    """Send a request head and the first bytes of its body over TLS, no more; the status and
    Content-Type of the answer that comes back while the rest of the body is still owed."""
    port = int(edge.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(ca))
    plain = socket.create_connection(("127.0.0.1", port), timeout=15)
    with context.wrap_socket(plain, server_hostname="127.0.0.1") as tls:
        tls.sendall(head.encode() + body)
        answer = http.client.HTTPResponse(tls)
        answer.begin()
        return answer.status, answer.getheader("Content-Type") or ""


def test_uploads_stream_to_the_app_and_the_edge_limit_is_ours(stack: Stack) -> None:
    head = (
        "POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n"
    )
    # Without request buffering the app sees the upload at once and refuses it (no token)
    # while most of the body is still to come; a buffering nginx would wait for all of it.
    status, kind = raw_request(stack.edge.url, stack.certs.ca, head.format(1_000_000), b"--b\r\n")
    assert (status, kind) == (403, "application/json")
    # Past the app's own limit (25 MB + 256 KiB) nginx refuses at the edge, before any byte.
    status, kind = raw_request(stack.edge.url, stack.certs.ca, head.format(25856 * 1024 + 1))
    assert status == 413 and kind.startswith("text/html")


def test_a_request_head_never_finished_is_dropped_at_the_edge(stack: Stack) -> None:
    """client_header_timeout: nginx, not gunicorn, waits out a slow head (10 s, not 60 s)."""
    port = int(stack.edge.url.rsplit(":", 1)[1])
    context = ssl.create_default_context(cafile=str(stack.certs.ca))
    plain = socket.create_connection(("127.0.0.1", port), timeout=30)
    with context.wrap_socket(plain, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        tls.settimeout(30)  # nginx's default would keep it 60 s
        try:
            left = tls.recv(1024)
        except (ConnectionResetError, ssl.SSLError):
            left = b""
        assert left == b""


def test_one_address_gets_64_connections_at_once(stack: Stack, sim: Any) -> None:
    """limit_conn: 64 sockets from one address stand; any further request is a 429."""
    visitors = [Visitor(stack.edge.url) for _ in range(8)]
    try:
        for v in visitors:
            for _ in range(8):
                v.tab()
        assert requests.get(stack.edge.url + "/healthz", timeout=10).status_code == 429
    finally:
        for v in visitors:
            v.close()


def ping_or_close(tab: Tab) -> int | None:
    """Ping; None once the pong comes, or the close code if the socket closes first. Events
    on the way are recorded, as the tab would have shown them."""
    with contextlib.suppress(OSError, websocket.WebSocketException):
        tab.send({"type": "ping"})
    tab.ws.settimeout(15)
    while True:
        # Raw frames: the server's close frame is read, not answered on a closed connection.
        raw = tab.ws.recv_frame()
        if raw.opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(raw.data[:2], "big") if len(raw.data) >= 2 else None
        if raw.opcode != websocket.ABNF.OPCODE_TEXT:
            continue
        frame = json.loads(raw.data)
        if frame.get("type") == "pong":
            return None
        tab.frames.append(frame)


def message_ids(frames: list[dict[str, Any]]) -> list[str]:
    """The msg_id of every chat message among `frames`, in order."""
    return [
        f["event"]["msg_id"]
        for f in frames
        if f.get("type") == "event" and f["event"].get("event") == "chat_session_message"
    ]


def test_reload_and_a_lost_instance_lose_and_double_nothing(
    tmp_path: Path, certs: Certs, sim_server: Any, redis_url: str, sim: Any
) -> None:
    own = started_or_skip(
        lambda: start_stack(tmp_path, certs, sim_server.base_url, redis_url, SHOP)
    )
    v = Visitor(own.edge.url)
    try:
        # One nginx worker, round-robin: two sockets opened in a row land on both instances.
        first, second = v.tab(), v.tab()
        chat = v.start_chat(first, first_name="Rey")
        second.hello()
        first.say("before the reload")
        for tab in (first, second):
            agent_echo(tab, "before the reload")
        own.edge.reload()
        second.say("after the reload")
        for tab in (first, second):
            agent_echo(tab, "after the reload")
        # One instance leaves (SIGTERM, waited for): its socket closed with 1012, the other's
        # is up.
        own.apps[0].stop()
        codes = [ping_or_close(first), ping_or_close(second)]
        assert sorted(codes, key=str) == [1012, None]
        gone, stayed = (first, second) if codes[0] == 1012 else (second, first)
        stayed.say("while one is gone")
        agent_echo(stayed, "while one is gone")
        # The widget reconnects at once after 1012, asking for what it has not seen.
        seen = gone.seqs()[-1]
        back = v.tab()
        back.hello(after=seen)
        back.say("after reconnecting")
        last = [agent_echo(tab, "after reconnecting")["seq"] for tab in (back, stayed)]
        assert last[0] == last[1]
        # Each tab saw the chat's log once, in order, to the end: 1, 2, 3 ... with no gap.
        for events in (gone.events() + back.events(), stayed.events()):
            seqs = [f["seq"] for f in events]
            assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= last[0]
            ids = message_ids(events)
            assert len(ids) == len(set(ids))
        texts = [
            e.get("msg")
            for e in sim.chat(chat["chat_id"]).client_events
            if e["event"] == "chat_session_message"
        ]
        assert texts == [
            "before the reload",
            "after the reload",
            "while one is gone",
            "after reconnecting",
        ]
    finally:
        v.close()
        own.stop()
