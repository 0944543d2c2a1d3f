"""The visitor cookie's attributes, and serving behind a TLS-terminating load balancer."""

from __future__ import annotations

import re

import pytest
import requests
import websocket

from tests.harness import ServerProcess


@pytest.fixture(scope="module")
def behind_lb(sim_server):
    server = ServerProcess(sim_server.base_url, {"TRUSTED_PROXIES": "1"})
    yield server
    server.stop()


def _set_cookie(response: requests.Response) -> str:
    return response.headers["Set-Cookie"]


def test_plain_http_cookie_is_httponly_lax(server):
    cookie = _set_cookie(requests.get(server.url + "/chat", timeout=10))
    assert cookie.startswith("wc_visitor=")
    for part in ("HttpOnly", "Path=/", "SameSite=Lax"):
        assert part in cookie
    assert "Secure" not in cookie


def test_https_cookie_is_host_prefixed_secure_partitioned(behind_lb):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com"}
    cookie = _set_cookie(requests.get(behind_lb.url + "/chat", headers=forwarded, timeout=10))
    assert cookie.startswith("__Host-wc_visitor=")
    for part in ("Secure", "HttpOnly", "Path=/", "SameSite=None", "Partitioned"):
        assert part in cookie
    assert "Domain=" not in cookie


def test_untrusted_forwarded_headers_are_ignored(server):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    cookie = _set_cookie(requests.get(server.url + "/chat", headers=forwarded, timeout=10))
    assert cookie.startswith("wc_visitor=") and "Secure" not in cookie


def test_origin_check_sees_the_public_address_behind_the_lb(behind_lb):
    public = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "chat.example.com"}
    page = requests.get(behind_lb.url + "/chat", headers=public, timeout=10)
    token = re.search(r'data-token="([^"]+)"', page.text).group(1)
    cookie = f"__Host-wc_visitor={page.cookies['__Host-wc_visitor']}"
    url = behind_lb.url.replace("http", "ws") + f"/ws?token={token}"
    headers = [f"{k}: {v}" for k, v in public.items()]
    ws = websocket.create_connection(url, origin="https://chat.example.com", header=headers,
                                     cookie=cookie, timeout=10)
    ws.send('{"type":"ping"}')
    assert ws.recv() == '{"type":"pong"}'
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, origin=behind_lb.url, header=headers, cookie=cookie,
                                    timeout=10)
