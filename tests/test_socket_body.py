"""An upload body read straight from gunicorn's socket: gunicorn's own account of the body stays
right, so the next request on a connection is found where it begins, whatever the upload did.

First on gunicorn's real reader classes over a socket pair, then through real gunicorn servers
of both worker classes, with requests pipelined behind uploads on one connection."""

from __future__ import annotations

import io
import os
import re
import socket

import pytest
from gunicorn.http.body import Body, ChunkedReader, LengthReader
from gunicorn.http.unreader import SocketUnreader

from tests.harness import ServerProcess, Visitor
from webchat.socket_body import socket_body


def _gunicorn_body(held: bytes, length: int) -> tuple[dict, socket.socket, Body]:
    """gunicorn's body of `length` bytes whose reader already holds `held`, read ahead with the
    request's head; the other end of its socket to send the rest."""
    ours, theirs = socket.socketpair()
    ours.settimeout(5)  # a read past what was sent fails the test instead of hanging it
    unreader = SocketUnreader(ours)
    unreader.unread(held)
    body = Body(LengthReader(unreader, length))
    return {"wsgi.input": body, "gunicorn.socket": ours}, theirs, body


def _read_all(reader, step: int) -> bytes:
    got = b""
    while chunk := reader.read(step):
        got += chunk
    return got


def test_bytes_read_ahead_come_first_then_the_socket():
    environ, peer, body = _gunicorn_body(b"0123456789", 25)
    reader = socket_body(environ)
    assert reader is not None
    peer.sendall(b"abcdefghijklmno" + b"GET /next")  # the body's last 15 bytes, then more
    assert _read_all(reader, 4) == b"0123456789abcdefghijklmno"
    assert body.reader.length == 0  # gunicorn finds nothing of this body left to drain
    assert body.reader.unreader.read(9) == b"GET /next"  # where gunicorn parses the next request
    assert not body.failed


def test_the_next_request_read_ahead_with_the_body_is_handed_back():
    environ, peer, body = _gunicorn_body(b"0123456789" + b"GET /next", 10)
    reader = socket_body(environ)
    assert reader is not None
    assert reader.read(100) == b"0123456789"
    assert reader.read(100) == b""
    assert body.reader.unreader.read(9) == b"GET /next"
    peer.close()


def test_a_body_left_half_read_is_drained_by_gunicorn_to_its_end_and_no_further():
    environ, peer, body = _gunicorn_body(b"head-of-body", 100)
    reader = socket_body(environ)
    assert reader is not None
    peer.sendall(b"x" * 88 + b"NEXT")
    assert reader.read(5) == b"head-"
    assert reader.read(20) == b"of-body"
    body.read()  # what gunicorn does before it parses the next request
    assert body.reader.unreader.read(4) == b"NEXT"


def test_a_connection_that_ends_or_fails_marks_gunicorns_body_failed():
    environ, peer, body = _gunicorn_body(b"", 50)
    reader = socket_body(environ)
    assert reader is not None
    peer.sendall(b"y" * 10)
    peer.close()
    assert reader.read(100) == b"y" * 10
    assert reader.read(100) == b""
    assert body.failed  # gunicorn will not look for another request on this connection

    environ, peer, body = _gunicorn_body(b"", 50)
    reader = socket_body(environ)
    assert reader is not None
    environ["gunicorn.socket"].settimeout(0.01)
    with pytest.raises(TimeoutError):
        reader.read(10)
    assert body.failed
    peer.close()


def test_anything_but_an_untouched_gunicorn_length_body_is_left_to_wsgi():
    assert socket_body({"wsgi.input": io.BytesIO(b"x"), "gunicorn.socket": object()}) is None
    environ, peer, body = _gunicorn_body(b"abc", 3)
    assert socket_body({"wsgi.input": body}) is None  # no socket
    body.read(1)  # a byte already read through gunicorn: its buffers hold the rest
    assert socket_body(environ) is None
    ours, _ = socket.socketpair()
    unreader = SocketUnreader(ours)
    chunked = Body(ChunkedReader(None, unreader))
    assert socket_body({"wsgi.input": chunked, "gunicorn.socket": ours}) is None
    peer.close()


@pytest.fixture(scope="module", params=["gevent", "gthread"])
def any_worker(request, sim_server):
    process = ServerProcess(sim_server.base_url, {"WORKER_CLASS": request.param})
    process.worker_class = request.param
    yield process
    process.stop()


def _answers(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` HTTP answers read off one connection: status and body of each."""
    data = b""
    answers: list[tuple[int, bytes]] = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} answers"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        want = int(found.group(1)) if found else 0
        while len(data) < want:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside an answer"
            data += chunk
        answers.append((int(head.split(b" ", 2)[1]), data[:want]))
        data = data[want:]
    return answers


def _upload_request(v: Visitor, body: bytes) -> bytes:
    return v.raw_upload_head(len(body)) + body


def _config_request(v: Visitor) -> bytes:
    cookie = "; ".join(f"{c.name}={c.value}" for c in v.http.cookies)
    return (
        f"GET /api/config HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
        f"X-Webchat-Token: {v.token}\r\nUser-Agent: {v.user_agent}\r\n\r\n"
    ).encode()


def _part(name: str, data: bytes) -> bytes:
    return (
        (
            f'--XyZ\r\nContent-Disposition: form-data; name="{name}"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + b"\r\n--XyZ--\r\n"
    )


def test_requests_pipelined_behind_uploads_are_all_answered(any_worker, sim):
    """Small uploads and requests sent in one write: gunicorn reads the next request with the
    upload's head, and must still find it after the upload was read from its socket."""
    v = Visitor(any_worker.url)
    try:
        chat = v.start_chat(v.tab())
        small, large = os.urandom(3000), os.urandom(3_000_000)
        pipelined = (
            _upload_request(v, _part("file", small))
            + _config_request(v)
            + _upload_request(v, _part("note", b"not the file"))  # refused at its head
            + _config_request(v)
            + _upload_request(v, _part("file", large))
            + _config_request(v)
        )
        with socket.create_connection(("127.0.0.1", any_worker.port), timeout=20) as sock:
            sock.sendall(pipelined)
            answers = _answers(sock, 6)
        statuses = [status for status, _ in answers]
        assert statuses == [200, 200, 400, 200, 200, 200], answers
        assert b'"no_file"' in answers[2][1]
        ids = [re.search(rb'"file_id":\s*"([^"]+)"', answers[i][1]) for i in (0, 4)]
        assert all(ids), answers
        first, last = (found.group(1).decode() for found in ids if found)
        shared = [
            e for e in sim.chat(chat["chat_id"]).client_events if e["event"] == "chat_session_file"
        ]
        assert [e["file_id"] for e in shared] == [first, last]
        assert v.http.get(f"{any_worker.url}/api/files/{first}").content == small
        assert v.http.get(f"{any_worker.url}/api/files/{last}").content == large
    finally:
        v.close()


@pytest.mark.parametrize("size", [50_000, 2_000_000])
def test_an_upload_refused_at_its_head_leaves_the_connection_as_gunicorn_would(
    any_worker, sim, size
):
    """Refused before its file was read, the rest of the body is left to gunicorn: it must skip
    exactly what is left (the bytes read from its socket counted) and answer the next request.
    Past 64 KiB the gthread worker does not drain a body but closes the connection, after the
    answer."""
    v = Visitor(any_worker.url)
    try:
        v.start_chat(v.tab())
        refused = _upload_request(v, _part("other", os.urandom(size)))
        drains = size < 64 * 1024 or any_worker.worker_class == "gevent"
        with socket.create_connection(("127.0.0.1", any_worker.port), timeout=20) as sock:
            sock.sendall(refused + _config_request(v))
            answers = _answers(sock, 2 if drains else 1)
            if not drains:
                assert sock.recv(65536) == b""  # closed once the answer was sent
        status, answer = answers[0]
        assert status == 400 and b'"no_file"' in answer
        if drains:
            after, config = answers[1]
            assert after == 200 and b"max_upload_bytes" in config
    finally:
        v.close()
