"""Caps on what one visitor or one address may hold: sockets per visitor and per address,
a socket that never says hello, an upload body that does not arrive."""

from __future__ import annotations

import base64
import os
import socket
import struct
import uuid

import pytest
import requests
import websocket

from tests.harness import ServerProcess, Visitor
from tests.test_files import BROKEN_UPSTREAM, _file_head
from tests.test_oversized_frames import plain_oversized, wait_open_sockets
from webchat.sockets.caps import SocketCaps

PER_VISITOR = 3
PER_ADDRESS = 5
HELLO_TIMEOUT = 1
BODY_TIMEOUT = 4
IDLE_TIMEOUT = 1.5


@pytest.fixture(scope="module", params=["gthread", "gevent"])
def server(request, sim_server):
    env = {
        "WORKER_CLASS": request.param,
        "TRUSTED_PROXIES": "1",  # the client address is X-Forwarded-For's last entry
        "WS_MAX_PER_VISITOR": str(PER_VISITOR),
        "WS_MAX_PER_ADDRESS": str(PER_ADDRESS),
        "WS_HELLO_TIMEOUT": str(HELLO_TIMEOUT),
        "UPLOAD_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "UPLOAD_IDLE_TIMEOUT": str(IDLE_TIMEOUT),
        "FRAMES_PER_MINUTE": "100000",
        "SECRET_KEY": "socket-caps-" + uuid.uuid4().hex,
    }
    process = ServerProcess(sim_server.base_url, env)
    yield process
    process.stop()


def _visitor(base: str, address: str) -> Visitor:
    visitor = Visitor(base)
    visitor.http.headers["X-Forwarded-For"] = address
    return visitor


def _connect(visitor: Visitor) -> websocket.WebSocket:
    cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.http.cookies)
    return websocket.create_connection(
        visitor.base.replace("http", "ws", 1) + f"/ws?token={visitor.token}",
        origin=visitor.base,
        cookie=cookie,
        header=[f"X-Forwarded-For: {visitor.http.headers['X-Forwarded-For']}"],
        timeout=10,
    )


def _refused(visitor: Visitor) -> requests.Response:
    """A handshake the server must refuse: its HTTP answer."""
    return visitor.http.get(
        visitor.base + f"/ws?token={visitor.token}",
        headers={
            "Origin": visitor.base,
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
            "Sec-WebSocket-Version": "13",
        },
        timeout=10,
    )


def _close_code(ws: websocket.WebSocket) -> int | None:
    """Read until the server's close frame; its code."""
    ws.settimeout(10 * HELLO_TIMEOUT)
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else None


def _hello(ws: websocket.WebSocket) -> None:
    ws.send('{"type":"hello","after":0}')
    ws.recv()  # the state frame


def test_sockets_are_capped_per_visitor_and_given_back_however_they_end(server, sim):
    visitor = _visitor(server.url, "203.0.113.10")
    try:
        sockets = [_connect(visitor) for _ in range(PER_VISITOR)]
        for ws in sockets:
            _hello(ws)
        refused = _refused(visitor)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_sockets"
        # Another visitor from the same address is not held back by this one's cap.
        neighbour = _visitor(server.url, "203.0.113.10")
        next_door = _connect(neighbour)
        _hello(next_door)
        next_door.close()
        neighbour.close()
        # Each socket ends its own way: a polite close, a vanished client, a frame over the
        # cap, silence until the hello timeout. Every slot comes back.
        sockets[0].close()
        sockets[1].sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sockets[1].sock.close()  # a reset, no close frame
        sockets[2].close()
        assert wait_open_sockets(server.url, 0) == 0
        assert plain_oversized(visitor) in (1009, None)
        assert wait_open_sockets(server.url, 0) == 0
        silent = [_connect(visitor) for _ in range(PER_VISITOR)]
        assert [_close_code(ws) for ws in silent] == [1008] * PER_VISITOR
        assert wait_open_sockets(server.url, 0) == 0
        again = [_connect(visitor) for _ in range(PER_VISITOR)]
        for ws in again:
            _hello(ws)
        assert _refused(visitor).status_code == 429
        for ws in again:
            ws.close()
    finally:
        visitor.close()


def test_sockets_are_capped_per_address(server, sim):
    crowd = [_visitor(server.url, "198.51.100.7") for _ in range(PER_ADDRESS + 1)]
    elsewhere = _visitor(server.url, "198.51.100.8")
    try:
        held = [_connect(v) for v in crowd[:PER_ADDRESS]]
        refused = _refused(crowd[-1])
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_sockets"
        ws = _connect(elsewhere)  # another address is not held back
        _hello(ws)
        ws.close()
        held.pop().close()
        assert wait_open_sockets(server.url, PER_ADDRESS - 1) == PER_ADDRESS - 1
        late = _connect(crowd[-1])
        _hello(late)
        late.close()
        for ws in held:
            ws.close()
    finally:
        for v in [*crowd, elsewhere]:
            v.close()


def test_a_socket_that_never_says_hello_is_closed(server, sim):
    visitor = _visitor(server.url, "192.0.2.1")
    try:
        greeted = _connect(visitor)
        _hello(greeted)
        silent = _connect(visitor)
        silent.send('{"type":"ping"}')  # pings are answered, but keep no socket open
        assert '"pong"' in silent.recv()
        assert _close_code(silent) == 1008
        greeted.send('{"type":"ping"}')  # the socket that said hello stays
        assert '"pong"' in greeted.recv()
        greeted.close()
    finally:
        visitor.close()


def _answer_then_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(3 * BODY_TIMEOUT)
    got = b""
    try:
        while chunk := sock.recv(65536):
            got += chunk
    except ConnectionResetError:  # closed with bytes of ours unread: the answer came first
        pass
    return got


@pytest.mark.parametrize("how", ["stalled", "trickled"])
def test_an_upload_body_that_does_not_arrive_is_a_408(server, sim, how):
    visitor = _visitor(server.url, "192.0.2.2")
    try:
        visitor.start_chat(visitor.tab())
        raw = _file_head() + b"z" * 1_000_000 + b"\r\n--XyZ--\r\n"
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(visitor.raw_upload_head(len(raw)) + raw[:200_000])
            if how == "trickled":  # a byte now and then, never idle for IDLE_TIMEOUT
                sock.settimeout(IDLE_TIMEOUT / 3)
                for i in range(200_000, len(raw)):
                    sock.send(raw[i : i + 1])
                    try:
                        answer = sock.recv(65536)
                        break
                    except TimeoutError:
                        continue
                answer += _answer_then_closed(sock)
            else:
                answer = _answer_then_closed(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
        assert b'"upload_timeout"' in answer
        # The upstream call the file went into was broken off, not left waiting.
        assert sim.wait_for(lambda: BROKEN_UPSTREAM in sim.violations, 10)
        sim.violations.remove(BROKEN_UPSTREAM)
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        ok = visitor.http.post(server.url + "/api/files", files={"file": ("a.txt", b"fine")})
        assert ok.status_code == 200, ok.text
    finally:
        visitor.close()


def test_caps_count_and_give_back_per_key():
    caps = SocketCaps(per_visitor=2, per_address=3)
    a1, a2 = caps.acquire("a", "x"), caps.acquire("a", "x")
    assert a1 and a2 and caps.acquire("a", "y") is None
    b1 = caps.acquire("b", "x")
    assert b1 and caps.acquire("c", "x") is None
    a1.release()
    a1.release()  # twice: counted back once
    assert caps.acquire("c", "x") is not None and caps.acquire("d", "x") is None
    assert caps.counted() == (3, 1)
    for slot in (a2, b1):
        slot.release()
