"""The socket and uploads are bound to the visitor by the page's token as well as the cookie;
the token alone carries a visitor whose browser withholds our cookie in a frame."""

from __future__ import annotations

import re

import pytest
import requests
import websocket

from tests.harness import Tab, Visitor


def _token(page: requests.Response) -> str:
    return re.search(r'data-token="([^"]+)"', page.text).group(1)


def test_socket_without_token_or_with_anothers_is_refused(visitor, server):
    a, b = visitor(), visitor()
    url = server.url.replace("http", "ws") + "/ws"
    cookie_a = f"wc_visitor={a.http.cookies['wc_visitor']}"
    for suffix, cookie in (
        ("", cookie_a),
        (f"?token={b.token}", cookie_a),
        ("?token=forged", cookie_a),
        (f"?token={a.token[:-2]}xx", cookie_a),
    ):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            websocket.create_connection(url + suffix, origin=server.url, cookie=cookie, timeout=5)
        assert info.value.status_code == 403
    ok = websocket.create_connection(
        url + f"?token={a.token}", origin=server.url, cookie=cookie_a, timeout=5
    )
    ok.close()


def test_upload_needs_the_pages_token(visitor, server):
    a, b = visitor(), visitor()
    a.start_chat(a.tab())
    files = {"file": ("a.txt", b"hi", "text/plain")}
    forged = requests.post(
        server.url + "/api/files", files=files, cookies=a.http.cookies, timeout=10
    )
    assert forged.status_code == 403
    assert forged.json()["error"]["code"] == "forbidden_token"
    crossed = requests.post(
        server.url + "/api/files",
        files=files,
        cookies=a.http.cookies,
        headers={"X-Webchat-Token": b.token},
        timeout=10,
    )
    assert crossed.status_code == 403
    assert a.http.post(server.url + "/api/files", files=files).status_code == 200


def test_a_page_link_with_someones_token_does_not_adopt_their_identity(visitor, server, sim):
    owner = visitor()
    chat = owner.start_chat(owner.tab())
    lured = requests.get(server.url + f"/chat?token={owner.token}", timeout=10)
    assert _token(lured) != owner.token
    assert 'data-new-visitor="true"' in lured.text
    assert chat["chat_id"] not in lured.text


def test_cookie_blocked_visitor_keeps_their_chat_by_token(server, sim):
    """A browser that never keeps our cookie (third-party cookie blocking in a frame)."""
    first = Visitor(server.url)
    first.http.cookies.clear()
    token = first.token
    try:
        tab = Tab(first)
        chat = first.start_chat(tab)
        tab.close()
        # A reload: the server sees no cookie and renders a new visitor's token; the page keeps
        # the one it stored (static/chat/util.js), so the socket is the same visitor's.
        reload = requests.get(server.url + "/chat", timeout=10)
        assert 'data-new-visitor="true"' in reload.text and _token(reload) != token
        again = Tab(first)
        state = again.hello()
        assert state["chat"]["chat_id"] == chat["chat_id"]
        again.wait_event("chat_session_party_joined")
        uploaded = requests.post(
            server.url + "/api/files",
            headers={"X-Webchat-Token": token},
            files={"file": ("n.txt", b"note", "text/plain")},
            timeout=10,
        )
        assert uploaded.status_code == 200
        file_id = uploaded.json()["file_id"]
        # Its link, minted for the page's token, downloads without any cookie; the token
        # itself in a download's URL opens nothing.
        link = requests.get(
            server.url + f"/api/files/{file_id}/link",
            headers={"X-Webchat-Token": token},
            timeout=10,
        ).json()["url"]
        download = requests.get(server.url + link, timeout=10)
        assert download.status_code == 200 and download.content == b"note"
        refused = requests.get(server.url + f"/api/files/{file_id}?token={token}", timeout=10)
        assert refused.status_code == 403
        assert requests.get(server.url + f"/api/files/{file_id}", timeout=10).status_code == 403
    finally:
        first.close()
