"""Files both ways, streamed through the server, and only ever to their owner."""

from __future__ import annotations

import os

import requests

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
            b"--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
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

    upstream = requests.Response()
    upstream.raw = urllib3.HTTPResponse(
        body=io.BytesIO(b"first bytes"),
        headers={"Content-Length": "1000"},
        preload_content=False,
        enforce_content_length=True,
    )
    got = []
    with pytest.raises(Exception) as failure:  # noqa: PT011 - urllib3's own error, whichever
        for piece in _stream(upstream):
            got.append(piece)
    assert b"".join(got) == b"first bytes"
    assert "IncompleteRead" in repr(failure.value) or "Protocol" in type(failure.value).__name__
