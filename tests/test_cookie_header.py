"""One cookie rule: which cookies an answer sets and which a call sends are http.cookiejar's,
and the store's round trip (jar to plain data and back, on every call of the relay) must not
change what is sent; a cookie with a control character never enters a jar.
"""

from __future__ import annotations

import time
import urllib.request
from http.cookiejar import CookieJar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict

from webchat.relay.identities import Identities
from webchat.servicepattern.cookies import (
    StoredCookies,
    cookie_header,
    jar_from_list,
    jar_to_list,
    keep_cookies,
)
from webchat.store.memory import MemoryStore

HOSTS = ["sp.example.com", "a.sp.example.com", "example.com", "localhost", "127.0.0.1"]
PATHS = ["/", "/clientweb", "/clientweb/", "/clientweb/api/v1", "/clientwebx", "/other/x"]

set_cookie = st.builds(
    lambda name, value, domain, path, secure, max_age: "; ".join(
        part
        for part in (
            f"{name}={value}",
            f"Domain={domain}" if domain else "",
            f"Path={path}" if path else "",
            "Secure" if secure else "",
            f"Max-Age={max_age}" if max_age is not None else "",
        )
        if part
    ),
    st.sampled_from(["SPCLIENT", "AWSALB", "a", "b"]),
    st.sampled_from(["1", "x-y", "", "q=="]),
    st.sampled_from([None, "example.com", ".example.com", "sp.example.com", "localhost"]),
    st.sampled_from([None, "/", "/clientweb", "/clientweb/api", "/other"]),
    st.booleans(),
    st.sampled_from([None, 3600, 0]),
)
origin = st.tuples(
    st.sampled_from(["http", "https"]), st.sampled_from(HOSTS), st.sampled_from(PATHS)
)


def _headers(values: list[str]) -> HTTPHeaderDict:
    headers = HTTPHeaderDict()
    for value in values:
        headers.add("Set-Cookie", value)
    return headers


@given(st.lists(st.tuples(origin, st.lists(set_cookie, max_size=4)), max_size=4), origin)
@settings(max_examples=500, deadline=None)
def test_what_is_sent_survives_the_store_round_trip(responses, request_origin):
    jar = CookieJar()
    reference = CookieJar()
    for (scheme, host, path), values in responses:
        url = f"{scheme}://{host}{path}"
        keep_cookies(jar, url, _headers(values))
        reference.extract_cookies(_Message(values), urllib.request.Request(url))
    scheme, host, path = request_origin
    url = f"{scheme}://{host}{path}"
    expected = cookie_header(reference, url)  # http.cookiejar, by its own entry point
    assert cookie_header(jar, url) == expected
    stored = jar_from_list(jar_to_list(jar))  # what the relay rebuilds on every call
    got = cookie_header(stored, url)
    if expected is None:
        assert got is None
    else:
        assert got is not None and sorted(got.split("; ")) == sorted(expected.split("; "))


class _Message:
    """An answer for CookieJar.extract_cookies."""

    def __init__(self, values: list[str]) -> None:
        self.values = values

    def info(self) -> _Message:
        return self

    def get_all(self, name: str, default: object = None) -> object:
        return self.values if name.lower() == "set-cookie" and self.values else default


CONTROL = st.sampled_from([chr(c) for c in [*range(0, 9), *range(10, 32), 127]] + ["\t"])


@given(st.text("abc=", max_size=4), CONTROL, st.text("xyz", max_size=4))
@settings(max_examples=200, deadline=None)
def test_a_cookie_with_a_control_character_never_enters_a_jar(before, control, after):
    jar = CookieJar()
    value = f"{before}{control}{after}"
    keep_cookies(jar, "https://sp.example.com/api", _headers([f"SPCLIENT={value}; Path=/"]))
    assert all(c.value is None or control not in c.value for c in jar)
    stored = [
        {"name": "SPCLIENT", "value": value, "domain": "sp.example.com", "path": "/"},
        {"name": f"A{control}", "value": "1", "domain": "sp.example.com", "path": "/"},
        {"name": "OK", "value": "1", "domain": "sp.example.com", "path": "/"},
    ]
    assert [c.name for c in jar_from_list(stored)] == ["OK"]


@given(
    st.lists(st.tuples(origin, st.lists(set_cookie, max_size=4)), max_size=4),
    st.lists(origin, min_size=1, max_size=6),
)
@settings(max_examples=300, deadline=None)
def test_remembered_headers_are_the_jars_own(responses, request_origins):
    jar = CookieJar()
    for (scheme, host, path), values in responses:
        keep_cookies(jar, f"{scheme}://{host}{path}", _headers(values))
    items = jar_to_list(jar)
    stored = StoredCookies(items)
    for _ in range(2):  # computed, then remembered
        for scheme, host, path in request_origins:
            url = f"{scheme}://{host}{path}"
            assert stored.header(url) == cookie_header(jar_from_list(items), url)


def _item(name: str, expires: float | None) -> dict:
    return {
        "name": name,
        "value": "1",
        "domain": "sp.example.com",
        "path": "/",
        "domain_specified": False,
        "expires": expires,
    }


def test_a_remembered_header_leaves_out_a_cookie_once_it_expired(monkeypatch):
    now = 2_000_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    url = "https://sp.example.com/api"
    stored = StoredCookies([_item("A", None), _item("B", now + 10)])
    assert sorted(stored.header(url).split("; ")) == ["A=1", "B=1"]
    now += 10  # B's expiry: http.cookiejar no longer sends it
    assert stored.header(url) == "A=1" == cookie_header(jar_from_list(stored.items), url)


@pytest.fixture
def identities():
    return Identities(MemoryStore())


def test_a_visitor_gets_the_cookies_the_store_holds_now(identities):
    url = "https://sp.example.com/api"
    store = identities.store
    store.merge_cookies("v1", [_item("A", None)])
    store.merge_cookies("v2", [_item("C", None)])
    assert identities.load("v1", "ua").cookie_header(url) == "A=1"
    assert identities.load("v2", "ua").cookie_header(url) == "C=1"
    store.merge_cookies("v1", [_item("B", None)])
    assert identities.load("v1", "ua").cookie_header(url) == "A=1; B=1"
    who = identities.load("v1", "ua")
    keep_cookies(who.jar, url, _headers(["A=2; Path=/"]))  # a call set one: the jar decides
    assert who.cookie_header(url) == "A=2; B=1"
    assert identities.load("v1", "ua").cookie_header(url) == "A=1; B=1"  # not saved yet
