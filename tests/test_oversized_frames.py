"""A frame over the transport cap ends its socket, handler and all: no socket outlives its
connection, however the frame came (plain, or ~1 KB compressed with permessage-deflate).
"""

from __future__ import annotations

import base64
import os
import re
import socket
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests
import websocket

from tests.harness import ServerProcess, Visitor

CAP = 1024 * 1024  # ws_max_frame_bytes
FRAMES = 50
TOO_BIG = 1009


def open_sockets(base: str) -> int:
    """webchat_open_sockets from /metrics."""
    text = requests.get(base + "/metrics", timeout=10).text
    found = re.search(r"^webchat_open_sockets (\S+)$", text, re.M)
    assert found, text
    return int(float(found.group(1)))


def wait_open_sockets(base: str, count: int, timeout: float = 20) -> int:
    """Poll /metrics until it reports `count` open sockets (or the time is up); the last
    figure. The server offers no event to wait on, so this asks again every 0.1 s."""
    deadline = time.monotonic() + timeout
    while True:
        now = open_sockets(base)
        if now == count or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


def _cookie(visitor: Visitor) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in visitor.http.cookies)


def plain_oversized(visitor: Visitor) -> int | None:
    """One socket, one text frame of CAP + 1 bytes; the code of the server's close."""
    ws = websocket.create_connection(
        visitor.base.replace("http", "ws", 1) + f"/ws?token={visitor.token}",
        origin=visitor.base,
        cookie=_cookie(visitor),
        timeout=20,
    )
    try:
        ws.send("a" * (CAP + 1))
        while True:
            opcode, data = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else None
    except (websocket.WebSocketConnectionClosedException, ConnectionError):
        return None
    finally:
        ws.close()


def _masked_frame(payload: bytes, opcode: int, rsv1: bool) -> bytes:
    """A client frame: FIN, optional RSV1 (compressed), masked as clients must."""
    head = bytes([0x80 | (0x40 if rsv1 else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", size)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", size)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def deflated_oversized(visitor: Visitor) -> tuple[int, int | None]:
    """A raw handshake offering permessage-deflate, then one compressed text frame that
    inflates past the cap: its size on the wire and the code of the server's close."""
    parts = urlsplit(visitor.base)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws?token={visitor.token} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\nOrigin: {visitor.base}\r\nCookie: {_cookie(visitor)}\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
    )
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, head
            head += chunk
        answer, _, rest = head.partition(b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 101"), answer
        assert b"permessage-deflate" in answer.lower(), answer
        squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
        body = squeeze.compress(b"a" * (CAP + 4096)) + squeeze.flush(zlib.Z_SYNC_FLUSH)
        assert body.endswith(b"\x00\x00\xff\xff")
        frame = _masked_frame(body[:-4], 0x1, rsv1=True)
        sock.sendall(frame)
        data = rest
        while True:  # the server's frames, until its close (or the connection's end)
            if len(data) >= 2:
                opcode, size = data[0] & 0x0F, data[1] & 0x7F
                if opcode == 0x8 and len(data) >= 2 + size:
                    payload = data[2 : 2 + size]
                    return len(frame), int.from_bytes(payload[:2], "big") if size >= 2 else None
            try:
                chunk = sock.recv(4096)
            except OSError:
                return len(frame), None
            if not chunk:
                return len(frame), None
            data += chunk


@pytest.fixture(params=["gthread", "gevent"])
def server(request, sim_server):
    process = ServerProcess(
        sim_server.base_url,
        {"WORKER_CLASS": request.param, "FRAMES_PER_MINUTE": "100000", "WS_MAX_PER_VISITOR": "100"},
    )
    yield process
    process.stop()


def test_oversized_frames_leave_no_socket_behind(server, sim):
    visitor = Visitor(server.url)
    try:
        with ThreadPoolExecutor(10) as pool:
            plain = list(pool.map(lambda _: plain_oversized(visitor), range(FRAMES)))
            deflated = list(pool.map(lambda _: deflated_oversized(visitor), range(FRAMES)))
        assert set(plain) <= {TOO_BIG, None} and TOO_BIG in plain, plain
        assert {code for _, code in deflated} <= {TOO_BIG, None}, deflated
        assert TOO_BIG in {code for _, code in deflated}, deflated
        assert max(size for size, _ in deflated) < 4096  # a ~1 KB frame on the wire
        assert wait_open_sockets(server.url, 0) == 0
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        # The server still chats.
        tab = visitor.tab()
        visitor.start_chat(tab)
    finally:
        visitor.close()
