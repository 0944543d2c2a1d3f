"""The lean HTTP/1.1 client against a raw socket server that answers with scripted bytes, so
each framing (length, chunked, until close, interim 1xx) and each failure is exercised on the
wire, and the pooled-connection rules (reuse, a stale connection retried once) are observable.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable

import pytest

from tests.stub_http import recv_head
from webchat.servicepattern.http11 import (
    HTTP11Client,
    TransportError,
    TransportTimeout,
)

Script = Callable[[socket.socket, bytes], bool]  # (conn, request) -> keep the connection open


class RawServer:
    """Accepts connections; hands each request (head + Content-Length body) to `script`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script: Script = lambda conn, request: False
        self.requests: list[bytes] = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                received = recv_head(conn, data)
                if received is None:
                    return
                head, data = received
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    data += conn.recv(65536)
                request, data = head + b"\r\n\r\n" + data[:length], data[length:]
                self.requests.append(request)
                if not self.script(conn, request):
                    return

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def raw():
    server = RawServer()
    yield server
    server.close()


def answer(body: bytes, *headers: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", *headers]
    if not any(h.lower().startswith(("content-length", "transfer-encoding")) for h in headers):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def keep(reply: bytes) -> Script:
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(reply)
        return True

    return script


TIMEOUT = (2.0, 2.0)


def test_request_goes_out_as_written_and_the_connection_is_reused(raw):
    raw.script = keep(answer(b'{"a": 1}', "Set-Cookie: A=1", "Set-Cookie: B=2"))
    client = HTTP11Client(raw.url, verify=False)
    first = client.request("POST", "/api/x?q=1", {"Authorization": "t"}, b"{}", TIMEOUT)
    second = client.request("GET", "/api/y", {}, None, TIMEOUT)
    assert (first.status, first.body) == (200, b'{"a": 1}')
    assert first.get_all("Set-Cookie") == ["A=1", "B=2"]
    assert second.body == b'{"a": 1}'
    assert raw.connections == 1
    head = raw.requests[0].split(b"\r\n")
    assert head[0] == b"POST /api/x?q=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{raw.port}".encode() in head
    assert b"Authorization: t" in head and b"Content-Length: 2" in head
    assert raw.requests[0].endswith(b"\r\n\r\n{}")
    assert b"Content-Length" not in raw.requests[1]


def test_chunked_body_with_extensions_and_trailers(raw):
    body = b"4;ext=1\r\n{\"a\"\r\n5\r\n: 12}\r\n0\r\nX-Trailer: y\r\n\r\n"
    raw.script = keep(answer(body, "Transfer-Encoding: chunked"))
    client = HTTP11Client(raw.url, verify=False)
    assert client.request("GET", "/api/c", {}, None, TIMEOUT).body == b'{"a": 12}'
    assert client.request("GET", "/api/c", {}, None, TIMEOUT).body == b'{"a": 12}'
    assert raw.connections == 1


def test_body_until_close_and_connection_close_are_not_pooled(raw):
    def script(conn: socket.socket, request: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 100_000)
        return False

    raw.script = script
    client = HTTP11Client(raw.url, verify=False)
    assert client.request("GET", "/api/a", {}, None, TIMEOUT).body == b"x" * 100_000
    raw.script = lambda conn, request: conn.sendall(answer(b"", "Connection: close")) or False
    client.request("GET", "/api/a", {}, None, TIMEOUT)
    client.request("GET", "/api/a", {}, None, TIMEOUT)
    assert raw.connections == 3


def test_interim_answers_are_skipped(raw):
    raw.script = keep(b"HTTP/1.1 100 Continue\r\n\r\n" + answer(b"ok", status="404 Not Found"))
    got = HTTP11Client(raw.url, verify=False).request("GET", "/api/a", {}, None, TIMEOUT)
    assert (got.status, got.body) == (404, b"ok")


def test_a_pooled_connection_the_server_closed_is_replaced(raw):
    """The server closes idle keep-alive connections when it likes; the next call must not
    fail for it (closed while idle: detected before sending; closed as the request went out:
    retried once on a new connection)."""
    calls = 0

    def script(conn: socket.socket, request: bytes) -> bool:
        nonlocal calls
        calls += 1
        conn.sendall(answer(b"ok"))
        return False  # closes after answering, without saying so

    raw.script = script
    client = HTTP11Client(raw.url, verify=False)
    for _ in range(3):
        assert client.request("GET", "/api/a", {}, None, TIMEOUT).body == b"ok"
    assert calls == 3 and raw.connections == 3


def test_a_reused_connection_dropped_with_the_request_is_retried_once(raw):
    served = []

    def script(conn: socket.socket, request: bytes) -> bool:
        served.append(request)
        if len(served) == 2:
            return False  # read the request, then hang up without a byte of answer
        conn.sendall(answer(b"ok"))
        return True

    raw.script = script
    client = HTTP11Client(raw.url, verify=False)
    assert client.request("GET", "/api/a", {}, None, TIMEOUT).body == b"ok"
    assert client.request("GET", "/api/b", {}, None, TIMEOUT).body == b"ok"
    assert len(served) == 3 and raw.connections == 2


def test_a_new_connection_closed_without_answer_is_an_error(raw):
    raw.script = lambda conn, request: False
    with pytest.raises(TransportError, match="without an answer"):
        HTTP11Client(raw.url, verify=False).request("GET", "/api/a", {}, None, TIMEOUT)
    assert raw.connections == 1  # not retried: nothing says a new connection would do better


@pytest.mark.parametrize(
    "reply, message",
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "mid-answer"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd", "CRLF"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", "too large"),
        (b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000, "too long"),
    ],
)
def test_broken_answers_are_transport_errors_and_the_connection_is_dropped(raw, reply, message):
    raw.script = lambda conn, request: conn.sendall(reply) or False
    client = HTTP11Client(raw.url, verify=False)
    with pytest.raises(TransportError, match=message):
        client.request("GET", "/api/a", {}, None, TIMEOUT)
    raw.script = keep(answer(b"fine"))
    assert client.request("GET", "/api/a", {}, None, TIMEOUT).body == b"fine"
    assert raw.connections == 2


def test_read_timeout_counts_from_the_last_bytes_not_the_whole_answer(raw):
    stalled = threading.Event()

    def script(conn: socket.socket, request: bytes) -> bool:
        if b"/slow" in request:
            stalled.wait(5)  # never answers within the read timeout
            return False
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nab")
        for part in (b"cd", b"ef"):
            time.sleep(0.15)  # trickles: each gap is under the 0.3 s read timeout
            conn.sendall(part)
        return True

    raw.script = script
    client = HTTP11Client(raw.url, verify=False)
    assert client.request("GET", "/api/trickle", {}, None, (1.0, 0.3)).body == b"abcdef"
    started = time.monotonic()
    with pytest.raises(TransportTimeout):
        client.request("GET", "/api/slow", {}, None, (1.0, 0.3))
    stalled.set()
    assert time.monotonic() - started < 2


def test_refused_connection_is_a_transport_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="ConnectionRefused"):
        HTTP11Client(f"http://127.0.0.1:{port}", verify=False).request(
            "GET", "/", {}, None, TIMEOUT
        )


def test_idle_pool_is_bounded(raw):
    raw.script = keep(answer(b"ok"))
    client = HTTP11Client(raw.url, verify=False, max_idle=1)
    results: list[bytes] = []
    barrier = threading.Barrier(3)

    def call() -> None:
        barrier.wait()
        results.append(client.request("GET", "/api/a", {}, None, TIMEOUT).body)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [b"ok"] * 3
    assert len(client._idle) == 1
    client.close()
    assert client._idle == []


def test_host_header_drops_the_default_port_and_brackets_ipv6():
    assert HTTP11Client("https://sp.example.com/api", verify=False).host_header == (
        "sp.example.com"
    )
    assert HTTP11Client("http://[::1]:8080/", verify=False).host_header == "[::1]:8080"
    with pytest.raises(ValueError):
        HTTP11Client("ftp://x/", verify=False)


def test_connection_checks_work_past_select_s_1024_descriptors():
    """A process holding thousands of polls has descriptors past FD_SETSIZE, where select()
    fails: a pooled connection must still be judged open or closed correctly there."""
    import resource

    from webchat.servicepattern.http11 import _still_open

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2100 and hard >= 2100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (2100, hard))
    ours, theirs = socket.socketpair()
    high = socket.socket(fileno=os.dup2(ours.fileno(), 2000))
    ours.close()
    try:
        assert high.fileno() > 1024
        assert _still_open(high)
        theirs.close()
        assert not _still_open(high)
    finally:
        high.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_streamed_body_goes_out_piece_by_piece_with_its_length(raw):
    raw.script = keep(answer(b'{"file_id": "f1"}'))
    client = HTTP11Client(raw.url, verify=False)
    pieces = [b"head-", b"x" * 300_000, b"-tail"]
    got = client.send_stream("POST", "/api/files", {}, iter(pieces), 300_010, TIMEOUT)
    assert got.body == b'{"file_id": "f1"}'
    assert b"Content-Length: 300010\r\n" in raw.requests[0]
    assert raw.requests[0].endswith(b"\r\n\r\n" + b"".join(pieces))
    assert client.request("GET", "/api/a", {}, None, TIMEOUT).status == 200
    assert raw.connections == 1  # kept alive after a streamed call


def test_streamed_body_refused_early_returns_the_server_s_answer(raw):
    refused = answer(b'{"error_code": "413"}', "Connection: close", status="413 Too Large")
    # The server reads only the head, answers 413 and hangs up while the body is still coming.
    raw._serve = lambda conn: _answer_after_head(conn, refused)  # type: ignore[method-assign]
    client = HTTP11Client(raw.url, verify=False)
    body = (b"y" * 65536 for _ in range(400))  # 25 MiB: far more than the socket buffers
    got = client.send_stream("POST", "/api/files", {}, body, 65536 * 400, TIMEOUT)
    assert got.status == 413 and b"413" in got.body


def _answer_after_head(conn: socket.socket, reply: bytes) -> None:
    recv_head(conn)
    conn.sendall(reply)
    conn.close()


def test_streamed_body_shorter_than_its_length_or_failing_is_not_sent_as_complete(raw):
    raw.script = keep(answer(b"ok"))
    client = HTTP11Client(raw.url, verify=False)
    with pytest.raises(ValueError, match="shorter"):
        client.send_stream("POST", "/api/f", {}, iter([b"abc"]), 10, TIMEOUT)

    def failing():
        yield b"abc"
        raise RuntimeError("the visitor's upload broke off")

    with pytest.raises(RuntimeError, match="broke off"):
        client.send_stream("POST", "/api/f", {}, failing(), 10, TIMEOUT)
    assert client._idle == []  # neither half-sent connection was pooled


@pytest.mark.parametrize(
    "headers, target",
    [({"X-A": "ok\r\nEvil: 1"}, "/api/a"), ({"X-A\nB": "v"}, "/api/a"), ({}, "/api/a b")],
)
def test_nothing_can_add_a_header_or_split_the_request(raw, headers, target):
    raw.script = keep(answer(b"ok"))
    with pytest.raises(ValueError, match="break"):
        HTTP11Client(raw.url, verify=False).request("GET", target, headers, None, TIMEOUT)
    assert raw.requests == []
