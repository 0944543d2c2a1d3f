"""The one transport to ServicePattern, tried as a broken or hostile upstream would: a raw
socket server answers scripted bytes, and each case must end as an UpstreamError for that one
call (or do no harm), never reach another visitor, never leave a bad connection in the pool,
and never stop later calls from working.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import socket
import threading
from collections.abc import Callable

import pytest

from tests.stub_http import recv_head
from webchat.servicepattern import Identity, ServicePatternClient, UpstreamError
from webchat.servicepattern.cookies import cookie_header

Script = Callable[[socket.socket, bytes], bool]  # (conn, request) -> keep the connection open
EMPTY = b'{"events": []}'
SMUGGLED = (
    b"HTTP/1.1 200 OK\r\nSet-Cookie: SPCLIENT=stolen; Path=/\r\nContent-Length: 68\r\n\r\n"
    b'{"events": [{"event": "chat_session_message", "msg": "not yours"}]}\n'
)


class RawServer:
    """Accepts connections; hands each request (head + Content-Length body) to `script`."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script: Script = lambda conn, request: False
        self.requests: list[bytes] = []
        self.connections = 0
        self.closed = threading.Event()  # a connection ended from the client's side
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
        try:
            self._requests(conn)
        except OSError:  # the client closed the connection while a script was writing
            self.closed.set()

    def _requests(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while True:
                received = recv_head(conn, data)
                if received is None:
                    self.closed.set()
                    return
                head, data = received
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(data) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        self.closed.set()
                        return
                    data += chunk
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


@pytest.fixture
def client(raw):
    client = ServicePatternClient(raw.url, "t.example.com", "app", call_timeout=5, poll_timeout=5)
    yield client
    client.close()


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


def _clean_jar(who: Identity) -> bool:
    return all(
        not any(ord(c) < 32 or ord(c) == 127 for c in f"{cookie.name}{cookie.value or ''}")
        for cookie in who.jar
    )


# -- one visitor's answer never reaches another -------------------------------------------


@pytest.mark.parametrize("later", [False, True], ids=["same-write", "later-write"])
def test_bytes_past_an_answer_never_become_the_next_callers_answer(raw, client, later):
    smuggled = threading.Event()

    def script(conn: socket.socket, request: bytes) -> bool:
        if len(raw.requests) == 1:
            first = answer(EMPTY)
            if later:
                conn.sendall(first)
                conn.sendall(SMUGGLED)
            else:
                conn.sendall(first + SMUGGLED)
            smuggled.set()
            return True
        conn.sendall(answer(EMPTY))
        return True

    raw.script = script
    first, second = Identity(), Identity()
    assert client.get_new_events(first, "c1") == []
    assert smuggled.wait(5)
    try:
        events = client.get_new_events(second, "c2")
    except UpstreamError:
        events = None
    else:
        assert events == []
        assert len(raw.requests) == 2  # the server answered the second call itself
    assert events != [{"event": "chat_session_message", "msg": "not yours"}]
    assert list(second.jar) == [] and not second.cookies_changed
    assert list(first.jar) == []


# -- framing: strict, per call, the connection never reused -------------------------------


def _chunked(body: bytes, size: bytes | None = None) -> bytes:
    return (size or b"%x" % len(body)) + b"\r\n" + body + b"\r\n0\r\n\r\n"


BAD_FRAMING = {
    "two Content-Length": answer(EMPTY, "Content-Length: 14", "Content-Length: 2"),
    "Content-Length +14": answer(EMPTY, "Content-Length: +14"),
    "Content-Length 1_4": answer(EMPTY, "Content-Length: 1_4"),
    "chunk size 0x5": answer(_chunked(b"{}   ", b"0x5"), "Transfer-Encoding: chunked"),
    "chunk size +5": answer(_chunked(b"{}   ", b"+5"), "Transfer-Encoding: chunked"),
    "gzip, chunked": answer(_chunked(EMPTY), "Transfer-Encoding: gzip, chunked"),
    "gzip, chunked (gzip body)": answer(
        _chunked(gzip.compress(EMPTY)), "Transfer-Encoding: gzip, chunked"
    ),
    "TE and CL": answer(_chunked(EMPTY), "Transfer-Encoding: chunked", "Content-Length: 19"),
    "two TE": answer(_chunked(EMPTY), "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"),
    "line without colon": answer(EMPTY, "no colon here"),
    "102 as the answer": b"HTTP/1.1 102 Processing\r\n\r\n" + answer(EMPTY),
}


@pytest.mark.parametrize("reply", BAD_FRAMING.values(), ids=BAD_FRAMING.keys())
def test_bad_framing_fails_that_call_and_the_connection_is_not_reused(raw, client, reply):
    raw.script = keep(reply)
    who = Identity()
    with pytest.raises(UpstreamError) as info:
        client.get_new_events(who, "c1")
    assert info.value.status is None and info.value.transient
    assert "refused" in info.value.message or "broke off" in info.value.message
    raw.script = keep(answer(EMPTY))
    assert client.get_new_events(who, "c1") == []
    assert raw.connections == 2


def test_good_framings_are_read_and_the_connection_kept(raw, client):
    replies = [
        answer(_chunked(EMPTY, b"E;ext=1"), "Transfer-Encoding: Chunked"),
        answer(b'{"events": [], "x": 1}'),
        answer(EMPTY, "Content-Length: 14"),  # the same Content-Length only once: fine
        b"HTTP/1.1 100 Continue\r\n\r\n" + answer(EMPTY),
    ]
    raw.script = lambda conn, request: conn.sendall(replies[len(raw.requests) - 1]) or True
    for _ in replies:
        assert client.get_new_events(Identity(), "c1") == []
    assert raw.connections == 1


# -- hostile heads: an error or harmless, and calls go on ----------------------------------

HOSTILE = {
    "status 2²0 (UTF-8)": "HTTP/1.1 2²0 OK\r\nContent-Length: 2\r\n\r\n{}".encode(),
    "status 2²0 (Latin-1)": "HTTP/1.1 2²0 OK\r\nContent-Length: 2\r\n\r\n{}".encode("latin-1"),
    "status +200": b"HTTP/1.1 +200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "3,000 interim answers": b"HTTP/1.1 100 Continue\r\n\r\n" * 3000 + answer(EMPTY),
    "bare LF in Set-Cookie": answer(EMPTY, "Set-Cookie: SPCLIENT=abc\nX: y"),
    "bare CR in Set-Cookie": answer(EMPTY, "Set-Cookie: SPCLIENT=abc\rX: y"),
    "control character in a cookie": answer(EMPTY, "Set-Cookie: SPCLIENT=a\x01b; Path=/"),
    "NUL in a cookie": answer(EMPTY, "Set-Cookie: SPCLIENT=a\x00b; Path=/"),
    "tab in a cookie": answer(EMPTY, "Set-Cookie: SPCLIENT=a\tb; Path=/"),
}


@pytest.mark.parametrize("reply", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_heads_end_as_upstream_errors_or_harmless(raw, client, reply):
    raw.script = keep(reply)
    who = Identity()
    with contextlib.suppress(UpstreamError):
        client.get_new_events(who, "c1")
    assert _clean_jar(who)
    raw.script = keep(answer(EMPTY, "Set-Cookie: SPNODE=n1; Path=/"))
    for _ in range(2):
        assert client.get_new_events(who, "c1") == []
    sent = raw.requests[-1].split(b"\r\n\r\n")[0]
    assert all(b >= 32 or b in b"\r\n" for b in sent)
    assert b"Cookie: " in sent and b"SPNODE=n1" in sent


def test_any_failure_inside_the_transport_is_an_upstream_error(raw, client, monkeypatch):
    """Whatever the library or the parsing raises, the caller sees an UpstreamError."""
    import http.client

    def broken(self):  # noqa: ANN001, ANN202
        raise RecursionError("deep")

    monkeypatch.setattr(http.client.HTTPResponse, "begin", broken)
    raw.script = keep(answer(EMPTY))
    with pytest.raises(UpstreamError):
        client.get_new_events(Identity(), "c1")


# -- retries: never a POST once sent; `sent` says what may have arrived --------------------


def test_a_post_on_a_connection_closed_after_reading_it_is_sent_once(raw, client):
    def script(conn: socket.socket, request: bytes) -> bool:
        if request.startswith(b"POST"):
            return False  # read it, then hang up without a byte of answer
        conn.sendall(answer(EMPTY))
        return True

    raw.script = script
    who = Identity()
    assert client.get_new_events(who, "c1") == []  # a pooled connection to reuse
    with pytest.raises(UpstreamError) as info:
        client.send_events(who, "c1", [{"event": "chat_session_message", "msg": "hi"}])
    assert info.value.sent is True and info.value.status is None
    assert [r.split(b" ", 1)[0] for r in raw.requests] == [b"GET", b"POST"]
    raw.script = keep(answer(EMPTY))
    assert client.get_new_events(who, "c1") == []
    assert sum(r.startswith(b"POST") for r in raw.requests) == 1


def test_a_get_on_a_pooled_connection_closed_unanswered_is_tried_once_more(raw, client):
    def script(conn: socket.socket, request: bytes) -> bool:
        if len(raw.requests) == 2:
            return False  # read the second request, then hang up unanswered
        conn.sendall(answer(EMPTY))
        return True

    raw.script = script
    assert client.get_new_events(Identity(), "c1") == []
    assert client.get_new_events(Identity(), "c1") == []
    assert len(raw.requests) == 3 and raw.connections == 2
    raw.script = lambda conn, request: False  # never answers: tried twice, then an error
    with pytest.raises(UpstreamError) as info:
        client.get_new_events(Identity(), "c1")
    assert info.value.sent is True and len(raw.requests) == 5


def test_sent_is_false_when_the_request_never_went_out(raw):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = ServicePatternClient(f"http://127.0.0.1:{port}/api", "t", "a", connect_timeout=1)
    with pytest.raises(UpstreamError) as info:
        refused.send_events(Identity(), "c1", [])
    assert info.value.sent is False and info.value.transient

    # TLS to a server that does not speak it: the handshake fails before the request.
    raw.script = lambda conn, request: False
    tls = ServicePatternClient(f"https://127.0.0.1:{raw.port}/api", "t", "a", verify=False)
    with pytest.raises(UpstreamError) as info:
        tls.send_events(Identity(), "c1", [])
    assert info.value.sent is False
    assert raw.requests == []


def test_a_call_that_timed_out_may_have_been_sent(raw):
    stalled = threading.Event()
    raw.script = lambda conn, request: stalled.wait(5) and False
    slow = ServicePatternClient(raw.url, "t", "a", call_timeout=0.3)
    with pytest.raises(UpstreamError) as info:
        slow.send_events(Identity(), "c1", [])
    stalled.set()
    assert info.value.sent is True and "in time" in info.value.message


# -- uploads and downloads ------------------------------------------------------------------


class BrowserGone(ValueError):
    """What the upload route's reader raises when the browser's upload breaks."""


class _BreakingFile(io.RawIOBase):
    """A browser upload that gives some bytes, then breaks with `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.calls = 0

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise self.error
        return b"x" * 1000


@pytest.mark.parametrize("error", [BrowserGone("the browser left"), ConnectionResetError(104)])
def test_a_broken_upload_source_raises_unchanged_at_once(raw, error):
    raw.script = keep(answer(b'{"file_id": "f1"}'))
    # A read timeout far longer than the wait below: only an immediate failure passes.
    client = ServicePatternClient(raw.url, "t", "a", call_timeout=60)
    raised: list[BaseException] = []

    def upload() -> None:
        try:
            client.upload_file(Identity(), _BreakingFile(error), 5000, "a.txt", "text/plain")
        except BaseException as failure:  # noqa: BLE001 - the test looks at what came
            raised.append(failure)

    worker = threading.Thread(target=upload, daemon=True)
    worker.start()
    worker.join(15)
    assert not worker.is_alive(), "the upload waited on upstream instead of failing"
    assert raised == [error] and raised[0] is error
    assert raw.closed.wait(5)  # the half-sent upstream connection was closed
    assert raw.requests == []  # never a complete request


def test_an_early_answer_to_an_upload_is_returned(raw):
    refused = answer(b'{"error_code": "413"}', "Connection: close", status="413 Too Large")

    def serve(conn: socket.socket) -> None:
        recv_head(conn)
        conn.sendall(refused)
        conn.close()

    raw._serve = serve  # type: ignore[method-assign]
    client = ServicePatternClient(raw.url, "t", "a", call_timeout=5)
    size = 25 * 1024 * 1024
    with pytest.raises(UpstreamError) as info:
        client.upload_file(Identity(), io.BytesIO(b"y" * size), size, "big.bin", "x/y")
    assert info.value.status == 413


def test_a_download_cut_short_on_the_wire_is_an_upstream_error(raw, client):
    raw.script = lambda conn, request: conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nfirst bytes"
    ) or False
    download = client.get_file(Identity(), "c1", "f1")
    got = download.read1(100)
    with pytest.raises(UpstreamError, match="broke off"):
        while piece := download.read1(100):
            got += piece
    assert got == b"first bytes"


def test_downloads_stream_over_the_pooled_connection(raw, client):
    body = bytes(range(256)) * 4096
    raw.script = keep(answer(body, "Content-Type: application/pdf"))
    for _ in range(2):
        download = client.get_file(Identity(), "c1", "f1")
        assert download.headers["Content-Type"] == "application/pdf"
        got = b""
        while piece := download.read1(65536):
            got += piece
        assert got == body
        download.close()
    assert raw.connections == 1


def test_the_cookie_header_is_http_cookiejar_s(raw, client):
    raw.script = keep(
        answer(
            EMPTY,
            "Set-Cookie: SPCLIENT=abc; Path=/",
            "Set-Cookie: DEEP=1; Path=/api/chats",
            "Set-Cookie: ELSEWHERE=1; Path=/other",
            "Set-Cookie: SECURE=1; Path=/; Secure",
        )
    )
    who = Identity()
    client.get_new_events(who, "c1")
    client.get_new_events(who, "c1")
    sent = raw.requests[-1].split(b"\r\n\r\n")[0].decode()
    line = next(h for h in sent.split("\r\n") if h.startswith("Cookie: "))
    assert line == "Cookie: DEEP=1; SPCLIENT=abc"
    assert cookie_header(who.jar, client.api_url + "/chats/c1/events") == "DEEP=1; SPCLIENT=abc"
