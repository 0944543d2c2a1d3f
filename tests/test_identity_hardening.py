"""Who a request is, against a hostile visitor: a planted cookie under HTTPS adopts no one, a
file link opens one file for minutes (never the chat), and a token can be revoked and expires."""

from __future__ import annotations

import json
import re
import threading

import pytest
import requests
import websocket

from tests.harness import ServerProcess, Tab, Visitor
from webchat.settings import SettingsError, load_settings

HTTPS = {"X-Forwarded-Proto": "https"}


def _token(page: requests.Response) -> str:
    return re.search(r'data-token="([^"]+)"', page.text).group(1)


def _link(base: str, token: str, path: str, cookies: dict | None = None) -> requests.Response:
    return requests.get(
        f"{base}{path}/link", headers={"X-Webchat-Token": token}, cookies=cookies, timeout=10
    )


def _ws_status(base: str, query: str, cookie: str | None = None) -> int:
    """The handshake's answer: 101 when the socket opened, else the refusal's status."""
    try:
        ws = websocket.create_connection(
            base.replace("http", "ws", 1) + "/ws" + query, origin=base, cookie=cookie, timeout=10
        )
    except websocket.WebSocketBadStatusException as refused:
        return refused.status_code
    ws.close()
    return 101


def _until(check, timeout: float = 10.0) -> bool:
    """Ask again every 0.2 s until `check()` holds; the credentials under test expire on a
    clock, so time is the only thing to wait on."""
    tick = threading.Event()
    for _ in range(int(timeout / 0.2)):
        if check():
            return True
        tick.wait(0.2)
    return check()


# -- a planted cookie under HTTPS -------------------------------------------------------------


@pytest.fixture(scope="module")
def behind_tls(sim_server):
    server = ServerProcess(sim_server.base_url, {"TRUSTED_PROXIES": "1"})
    yield server
    server.stop()


def test_a_planted_plain_cookie_adopts_no_one_under_https(behind_tls, sim):
    base = behind_tls.url
    # The attacker gets a validly signed plain cookie of his own over plain HTTP ...
    attacker = Visitor(base)
    planted = attacker.http.cookies["wc_visitor"]
    # ... and plants it in the victim's browser (a sibling subdomain, a plain-HTTP MITM).
    victim = requests.Session()
    victim.headers.update(HTTPS)
    victim.cookies.set("wc_visitor", planted)
    page = victim.get(base + "/chat", timeout=10)
    assert 'data-new-visitor="true"' in page.text
    assert _token(page) != attacker.token
    host_cookie = page.cookies["__Host-wc_visitor"]
    assert host_cookie
    # The victim chats over HTTPS, both cookies in the jar as a browser would send them.
    cookie = f"wc_visitor={planted}; __Host-wc_visitor={host_cookie}"
    ws = websocket.create_connection(
        base.replace("http", "ws", 1) + f"/ws?token={_token(page)}",
        origin=base.replace("http:", "https:", 1),
        header=[f"{k}: {v}" for k, v in HTTPS.items()],
        cookie=cookie,
        timeout=10,
    )
    try:
        ws.send('{"type":"hello","after":0}')
        ws.send('{"type":"start","parameters":{"first_name":"Vic"}}')
        ws.send(
            '{"type":"send","id":"v1","event":{"event":"chat_session_message","msg":"my secret"}}'
        )
        while json.loads(ws.recv()) != {"type": "ack", "id": "v1"}:
            pass
        # The attacker's own token shows him no chat of the victim's, over HTTP or HTTPS.
        tab = Tab(attacker)
        try:
            assert tab.hello()["chat"] is None
        finally:
            tab.close()
        spy = websocket.create_connection(
            base.replace("http", "ws", 1) + f"/ws?token={attacker.token}",
            origin=base.replace("http:", "https:", 1),
            header=[f"{k}: {v}" for k, v in HTTPS.items()],
            cookie=f"wc_visitor={planted}",
            timeout=10,
        )
        try:
            spy.send('{"type":"hello","after":0}')
            state = json.loads(spy.recv())
            assert state["type"] == "state" and state["chat"] is None, state
        finally:
            spy.close()
    finally:
        ws.close()
        attacker.close()


def test_the_plain_cookie_still_works_over_plain_http(server):
    """Without TLS there is no `__Host-` cookie to prefer: a returning visitor keeps theirs."""
    first = requests.get(server.url + "/chat", timeout=10)
    again = requests.get(server.url + "/chat", cookies=first.cookies, timeout=10)
    assert 'data-new-visitor="false"' in again.text


# -- file links ----------------------------------------------------------------------------------


def _share(v: Visitor, base: str, name: str, body: bytes) -> str:
    shared = v.http.post(base + "/api/files", files={"file": (name, body, "text/plain")})
    assert shared.status_code == 200, shared.text
    return shared.json()["file_id"]


def test_a_file_link_opens_its_file_only_for_its_visitor_and_never_the_chat(visitor, server):
    base = server.url
    a, b = visitor(), visitor()
    tab = a.tab()
    a.start_chat(tab)
    party = tab.wait_event("chat_session_party_joined")["event"]["party_id"]
    b.start_chat(b.tab())
    mine = _share(a, base, "mine.txt", b"mine")
    other = _share(a, base, "other.txt", b"other")
    theirs = _share(b, base, "theirs.txt", b"theirs")
    link = _link(base, a.token, f"/api/files/{mine}").json()
    assert link["expires_in"] == 600 and a.token not in link["url"]
    key = link["url"].split("?key=", 1)[1]
    # Works with no cookie at all (a frame whose cookie is blocked), and with the owner's.
    plain = requests.get(base + link["url"], timeout=10)
    assert plain.status_code == 200 and plain.content == b"mine"
    assert requests.get(base + link["url"], cookies=a.http.cookies, timeout=10).ok
    # Not for another file, nor for a photo.
    for path in (f"/api/files/{other}", f"/api/files/{theirs}", f"/api/photos/{party}"):
        assert requests.get(f"{base}{path}?key={key}", timeout=10).status_code == 403
    # The link's visitor decides, not a cookie sent along (a new tab's may be another's).
    crossed = requests.get(base + link["url"], cookies=b.http.cookies, timeout=10)
    assert crossed.status_code == 200 and crossed.content == b"mine"
    # Another visitor's link to a's file finds nothing in his own chat.
    stolen_id = _link(base, b.token, f"/api/files/{mine}").json()["url"]
    assert requests.get(base + stolen_id, timeout=10).status_code == 404
    # The link's credential is no token: it opens no socket, mints no links.
    assert _ws_status(base, f"?token={key}") == 403
    assert _link(base, key, f"/api/files/{mine}").status_code == 403
    # The page's token in a download's URL opens nothing any more.
    for path in (f"/api/files/{mine}", f"/api/photos/{party}"):
        assert requests.get(f"{base}{path}?token={a.token}", timeout=10).status_code == 403
    # A photo link shows that agent's photo.
    photo = requests.get(base + _link(base, a.token, f"/api/photos/{party}").json()["url"])
    assert photo.status_code == 200 and photo.content.startswith(b"\x89PNG")
    assert _link(base, "forged", f"/api/files/{mine}").status_code == 403


@pytest.fixture(scope="module")
def short_lived(sim_server):
    server = ServerProcess(sim_server.base_url, {"FILE_LINK_MAX_AGE": "2", "TOKEN_MAX_AGE": "3"})
    yield server
    server.stop()


def test_links_and_tokens_expire(short_lived, sim):
    base = short_lived.url
    v = Visitor(base)
    try:
        v.start_chat(v.tab())
        file_id = _share(v, base, "soon.txt", b"soon gone")
        url = _link(base, v.token, f"/api/files/{file_id}").json()["url"]
        assert requests.get(base + url, timeout=10).content == b"soon gone"
        assert _until(lambda: requests.get(base + url, timeout=10).status_code == 403)
        # The token outlives the link (3 s against 2), then opens nothing either.
        assert _until(lambda: _ws_status(base, f"?token={v.token}") == 403)
        assert _link(base, v.token, f"/api/files/{file_id}").status_code == 403
        # A reload gives the browser (its cookie) a fresh token for the same chat.
        fresh = _token(v.http.get(base + "/chat", timeout=10))
        assert _ws_status(base, f"?token={fresh}", cookie=_cookie(v)) == 101
    finally:
        v.close()


def _cookie(v: Visitor) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in v.http.cookies)


# -- revoking ------------------------------------------------------------------------------------


def test_a_revoked_token_opens_nothing_and_its_successor_keeps_the_chat(visitor, server):
    base = server.url
    v = visitor()
    chat = v.start_chat(v.tab())
    file_id = _share(v, base, "kept.txt", b"kept")
    old_link = _link(base, v.token, f"/api/files/{file_id}").json()["url"]
    rotated = v.http.post(base + "/api/token")
    assert rotated.status_code == 200
    new = rotated.json()["token"]
    assert new != v.token
    for cookie in (_cookie(v), None):
        assert _ws_status(base, f"?token={v.token}", cookie=cookie) == 403
    assert _link(base, v.token, f"/api/files/{file_id}").status_code == 403
    assert requests.get(base + old_link, timeout=10).status_code == 403
    stale = requests.post(
        base + "/api/files",
        headers={"X-Webchat-Token": v.token},
        files={"file": ("x.txt", b"x")},
        timeout=10,
    )
    assert stale.status_code == 403
    # The new token is the same visitor: same chat, and links work again.
    v.token = new
    v.http.headers["X-Webchat-Token"] = new
    assert v.tab().hello()["chat"]["chat_id"] == chat["chat_id"]
    fresh = _link(base, new, f"/api/files/{file_id}").json()["url"]
    assert requests.get(base + fresh, timeout=10).content == b"kept"
    # Revoking needs the current token.
    assert requests.post(base + "/api/token", timeout=10).status_code == 403


# -- settings ------------------------------------------------------------------------------------


def test_token_and_link_ages_are_settings():
    defaults = load_settings({})
    assert defaults.token_max_age == 7 * 24 * 3600 and defaults.file_link_max_age == 600
    chosen = load_settings({"TOKEN_MAX_AGE": "3600", "FILE_LINK_MAX_AGE": "60"})
    assert (chosen.token_max_age, chosen.file_link_max_age) == (3600, 60)
    for name in ("TOKEN_MAX_AGE", "FILE_LINK_MAX_AGE"):
        for bad in ("0", "-5", "ten", "1.5"):
            with pytest.raises(SettingsError) as info:
                load_settings({name: bad})
            assert str(info.value).startswith(f"{name}:")
