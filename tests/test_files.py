"""Files both ways, streamed through the server, and only ever to their owner."""

from __future__ import annotations

import os
import re
import socket
import struct
import time

import pytest
import requests

from tests.harness import ServerProcess, Visitor

PNG = bytes.fromhex("89504e470d0a1a0a") + os.urandom(2000)


def test_upload_is_shared_and_downloadable_by_the_owner_only(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    chat = v.start_chat(tab)
    payload = os.urandom(300_000)
    response = v.http.post(
        server.url + "/api/files",
        files={"file": ("../../etc/report<1>.pdf", payload, "application/pdf")},
    )
    assert response.status_code == 200, response.text
    shared = response.json()
    assert shared["file_name"] == "report1.pdf"
    assert shared["file_type"] == "attachment"
    own = tab.wait_event("chat_session_file", file_id=shared["file_id"])["event"]
    assert own["party_id"] == chat["chat_id"]
    posted = [
        e for e in sim.chat(chat["chat_id"]).client_events if e["event"] == "chat_session_file"
    ]
    assert [e["file_id"] for e in posted] == [shared["file_id"]]
    # The agent answers a file with a file.
    agent_file = tab.wait(
        lambda f: (
            f["type"] == "event"
            and f["event"]["event"] == "chat_session_file"
            and f["event"]["party_id"] != chat["chat_id"]
        )
    )
    for file_id, expected in ((shared["file_id"], payload), (agent_file["event"]["file_id"], None)):
        down = v.http.get(server.url + f"/api/files/{file_id}", stream=True)
        assert down.status_code == 200
        body = b"".join(down.iter_content(65536))
        if expected is not None:
            assert body == expected
        assert down.headers["X-Content-Type-Options"] == "nosniff"
        assert down.headers["Cache-Control"] == "private, no-store"
        assert down.headers["Content-Type"] == "application/octet-stream"
        assert down.headers["Content-Disposition"].startswith("attachment; filename=")
        assert "Set-Cookie" not in down.headers or "SPCLIENT" not in down.headers["Set-Cookie"]
    stranger = visitor()
    stranger.tab().hello()
    assert stranger.http.get(server.url + f"/api/files/{shared['file_id']}").status_code == 404
    assert v.http.get(server.url + "/api/files/not-a-file").status_code == 404
    assert v.http.get(server.url + "/api/files/..%2F..%2Fetc").status_code == 404


def test_images_are_inline_and_named_safely(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    v.start_chat(tab)
    response = v.http.post(
        server.url + "/api/files", files={"file": ('a"b\r\nc.png', PNG, "image/png")}
    )
    assert response.status_code == 200
    shared = response.json()
    assert shared["file_type"] == "image"
    down = v.http.get(server.url + f"/api/files/{shared['file_id']}")
    assert down.content == PNG
    assert down.headers["Content-Type"] == "image/png"
    disposition = down.headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="')
    assert "\r" not in disposition and "\n" not in disposition and 'a"b' not in disposition
    assert down.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_oversized_and_malformed_uploads_get_clear_errors(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    v.start_chat(tab)
    big = b"\0" * (25 * 1024 * 1024 + 1)
    response = v.http.post(server.url + "/api/files", files={"file": ("big.bin", big)})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    huge = requests.post(
        server.url + "/api/files",
        data=b"x" * (27 * 1024 * 1024),
        headers={"Content-Type": "application/octet-stream", "X-Webchat-Token": v.token},
        cookies=v.http.cookies,
    )
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "too_large"
    wrong_part = v.http.post(server.url + "/api/files", files={"upload": ("a.txt", b"hi")})
    assert wrong_part.status_code == 400 and wrong_part.json()["error"]["code"] == "no_file"
    empty = v.http.post(server.url + "/api/files", files={"file": ("a.txt", b"")})
    assert empty.status_code == 400
    # The socket is unharmed and the chat goes on.
    tab.send({"type": "ping"})
    tab.wait_type("pong")


def test_upload_without_a_chat_is_refused(visitor, server):
    v = visitor()
    response = v.http.post(server.url + "/api/files", files={"file": ("a.txt", b"hi")})
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_chat"


def test_agent_photo_for_the_owner_only(visitor, server, sim):
    v = visitor()
    tab = v.tab()
    v.start_chat(tab)
    party = tab.wait_event("chat_session_party_joined")["event"]["party_id"]
    photo = v.http.get(server.url + f"/api/photos/{party}")
    assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/png"
    assert photo.content.startswith(b"\x89PNG")
    assert v.http.get(server.url + "/api/photos/someone-else").status_code == 404
    stranger = visitor()
    assert stranger.http.get(server.url + f"/api/photos/{party}").status_code == 404


def _multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += (
            (
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{boundary}--\r\n".encode()


def test_upload_must_be_one_file_part_and_is_checked_to_the_end(visitor, server, sim):
    v = visitor()
    chat = v.start_chat(v.tab())
    url = server.url + "/api/files"
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    extra = _multipart("XyZ", [("file", "a.bin", b"a" * 1000), ("note", None, b"hi")])
    refused = v.http.post(url, data=extra, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "one_file"
    # The file is relayed while it arrives, so ServicePattern got the start of it before the
    # second part showed; the upload was broken off there and is not shared.
    broken = "POST /clientweb/api/v1/files: 400 Bad Request"
    assert sim.wait_for(lambda: broken in sim.violations, 5)
    sim.violations.remove(broken)
    field_first = _multipart("XyZ", [("note", None, b"hi"), ("file", "a.bin", b"a")])
    refused = v.http.post(url, data=field_first, headers=headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "no_file"

    def chunked():
        yield _multipart("XyZ", [("file", "a.bin", b"abc")])

    refused = v.http.post(url, data=chunked(), headers=headers)
    assert refused.status_code == 411
    shared = [
        e for e in sim.chat(chat["chat_id"]).client_events if e["event"] == "chat_session_file"
    ]
    assert shared == []
    good = _multipart("XyZ", [("file", "r\u00e9sum\u00e9 final.pdf", b"%PDF" + b"x" * 70_000)])
    ok = v.http.post(url, data=good, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["file_name"] == "r\u00e9sum\u00e9 final.pdf"
    body = v.http.get(server.url + f"/api/files/{ok.json()['file_id']}").content
    assert body == b"%PDF" + b"x" * 70_000


def test_uploads_leave_the_connection_ready_for_the_next_request(visitor, server, sim):
    """The upload body is read beneath gunicorn's own body buffer: gunicorn must still see the
    whole body consumed, accepted or refused, and serve the next request on the connection."""
    import http.client
    from urllib.parse import urlsplit

    v = visitor()
    v.start_chat(v.tab())
    cookie = "; ".join(f"{c.name}={c.value}" for c in v.http.cookies)
    base = {"Cookie": cookie, "X-Webchat-Token": v.token, "User-Agent": v.user_agent}
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)

    def upload(content: bytes) -> http.client.HTTPResponse:
        body = (
            b'--b0\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--b0--\r\n"
        )
        headers = dict(base, **{"Content-Type": "multipart/form-data; boundary=b0"})
        conn.request("POST", "/api/files", body=body, headers=headers)
        return conn.getresponse()

    accepted = upload(os.urandom(2_500_000))
    assert accepted.status == 200, accepted.read()
    accepted.read()
    sock = conn.sock
    refused = upload(b"")  # empty file: refused, its body drained
    assert refused.status == 400 and b"empty_file" in refused.read()
    conn.request("GET", "/api/config", headers=base)
    after = conn.getresponse()
    assert after.status == 200 and after.read()
    assert conn.sock is sock  # one connection throughout: nothing left unread on it
    conn.close()


def test_a_download_cut_short_upstream_fails_instead_of_ending_early():
    """A file whose bytes stop before its Content-Length must not reach the browser as a
    complete (shorter) file: the relayed stream raises, so the server breaks the response."""
    import io

    import pytest
    import urllib3

    from webchat.routes.api import _stream
    from webchat.servicepattern import Streamed, UpstreamError

    upstream = Streamed(
        urllib3.HTTPResponse(
            body=io.BytesIO(b"first bytes"),
            headers={"Content-Length": "1000"},
            preload_content=False,
            enforce_content_length=True,
        ),
        "GET /file",
    )
    got = []
    with pytest.raises(UpstreamError, match="broke off"):
        for piece in _stream(upstream):
            got.append(piece)
    assert b"".join(got) == b"first bytes"


BROKEN_UPSTREAM = "POST /clientweb/api/v1/files: 400 Bad Request"  # the sim, on a body cut short
CALL_TIMEOUT = 3.0  # SP_CALL_TIMEOUT in tests/harness.py: an upstream call that waits fails then


def _shared_files(sim, chat_id: str) -> list[dict]:
    return [e for e in sim.chat(chat_id).client_events if e["event"] == "chat_session_file"]


def _forget_broken_upstream_upload(sim, within: float = 5) -> None:
    """The file went upstream while it arrived, so ServicePattern saw the start of a body that
    was then broken off: expected here, and taken out of the simulator's violations."""
    assert sim.wait_for(lambda: BROKEN_UPSTREAM in sim.violations, within)
    sim.violations.remove(BROKEN_UPSTREAM)


def _file_head(name: str = "a.bin", boundary: str = "XyZ") -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()


def test_a_body_not_closed_by_its_delimiter_is_refused_and_not_shared(visitor, server, sim):
    v = visitor()
    chat = v.start_chat(v.tab())
    headers = {"Content-Type": "multipart/form-data; boundary=XyZ"}
    data = os.urandom(200_000)
    closing = b"\r\n--XyZ--\r\n"
    for raw in (
        _file_head() + data + b"g" * len(closing),  # garbage instead of the delimiter
        _file_head() + data + closing + b"garbage",  # garbage after it
        _file_head() + data,  # no delimiter at all
        _file_head() + data + closing[:-2],  # cut short of its line break
    ):
        refused = v.http.post(server.url + "/api/files", data=raw, headers=headers)
        assert refused.status_code == 400, refused.text
        _forget_broken_upstream_upload(sim)
    assert _shared_files(sim, chat["chat_id"]) == []
    ok = v.http.post(server.url + "/api/files", data=_file_head() + data + closing, headers=headers)
    assert ok.status_code == 200, ok.text
    assert [e["file_id"] for e in _shared_files(sim, chat["chat_id"])] == [ok.json()["file_id"]]


def test_a_file_name_ending_in_a_backslash_is_accepted(visitor, server, sim):
    """Browsers send a backslash in a file name unescaped: `filename="notes\\"`."""
    v = visitor()
    v.start_chat(v.tab())
    raw = _file_head("notes\\") + b"plain text" + b"\r\n--XyZ--\r\n"
    response = v.http.post(
        server.url + "/api/files",
        data=raw,
        headers={"Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["file_name"] == "file"  # clean_filename: no name after the last \
    down = v.http.get(server.url + f"/api/files/{response.json()['file_id']}")
    assert down.content == b"plain text"


@pytest.fixture(scope="module")
def logged_server(sim_server):
    """Our server with gunicorn's access log (status and microseconds of each request)."""
    log_format = "access %(m)s %(U)s %(s)s %(D)s"
    process = ServerProcess(
        sim_server.base_url,
        {"GUNICORN_CMD_ARGS": f"--access-logfile - --access-logformat '{log_format}'"},
    )
    yield process
    process.stop()


def _access_log(server: ServerProcess, count: int, within: float = 10) -> list[tuple[int, float]]:
    """The status and seconds of the first `count` uploads the server has logged."""
    pattern = re.compile(r"^access POST /api/files (\d{3}) (\d+)$", re.MULTILINE)
    deadline = time.monotonic() + within
    while True:
        found = pattern.findall(server.log_path.read_text())
        if len(found) >= count or time.monotonic() > deadline:
            return [(int(status), int(micros) / 1e6) for status, micros in found]
        time.sleep(0.02)  # gunicorn writes the line once the answer went out: nothing to await


def _read_answer(sock: socket.socket) -> bytes:
    """One whole HTTP answer (head and its Content-Length body), however the reads split it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    want = int(found.group(1)) if found else 0
    while len(body) < want and (chunk := sock.recv(65536)):
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.mark.parametrize("how", ["half-closed", "reset"])
def test_an_upload_the_browser_breaks_off_is_a_400_at_once(logged_server, sim, how):
    """The browser's body stops half-way while the file is relayed: the upstream call is broken
    off at once (not after the read timeout) and the answer is 400, not ServicePattern's 502."""
    v = Visitor(logged_server.url)
    try:
        chat = v.start_chat(v.tab())
        logged = len(_access_log(logged_server, 0, 0))
        size = 16 * 1024 * 1024
        raw = _file_head() + b"\x5a" * size + b"\r\n--XyZ--\r\n"
        request = v.raw_upload_head(len(raw))
        sock = socket.socket()
        # A small send buffer: once sendall returns, most of the half was read by the server,
        # and so relayed upstream (the server reads only as fast as it relays).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.connect(("127.0.0.1", logged_server.port))
        sock.settimeout(10)
        sock.sendall(request + raw[: len(raw) // 2])
        broke = time.monotonic()
        if how == "half-closed":
            sock.shutdown(socket.SHUT_WR)
            answer = _read_answer(sock)
            assert time.monotonic() - broke < CALL_TIMEOUT
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
            assert b'"truncated"' in answer
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # with SO_LINGER 0: a reset
        # The upstream call ended well before its read timeout would have ended it.
        assert sim.wait_for(lambda: BROKEN_UPSTREAM in sim.violations, CALL_TIMEOUT * 0.8)
        sim.violations.remove(BROKEN_UPSTREAM)
        status, seconds = _access_log(logged_server, logged + 1)[logged]
        assert status == 400 and seconds < CALL_TIMEOUT
        assert _shared_files(sim, chat["chat_id"]) == []
        # The server goes on serving, this visitor too.
        ok = v.http.post(
            logged_server.url + "/api/files", files={"file": ("after.txt", b"still here")}
        )
        assert ok.status_code == 200, ok.text
        assert [e["file_name"] for e in _shared_files(sim, chat["chat_id"])] == ["after.txt"]
    finally:
        v.close()
