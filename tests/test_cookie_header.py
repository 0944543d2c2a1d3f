"""The lean client's Cookie header must be what http.cookiejar would send: checked against
CookieJar.add_cookie_header for cookies really set through Set-Cookie, on random hosts, paths
and schemes, after the round trip through the store that the relay makes on every call.

One difference is deliberate: a cookie set without a Domain attribute goes back to its own host
only (RFC 6265), where http.cookiejar's default Netscape rules also send it to subdomains; the
reference is therefore http.cookiejar with `DomainStrictNonDomain`. Our client only ever calls
one ServicePattern host, so the two agree on every call it makes.
"""

from __future__ import annotations

import urllib.request
from email.message import Message
from http.cookiejar import CookieJar, DefaultCookiePolicy

from hypothesis import given, settings
from hypothesis import strategies as st

from webchat.servicepattern.cookies import cookie_header, jar_from_list, jar_to_list

HOSTS = ["sp.example.com", "a.sp.example.com", "example.com", "localhost", "127.0.0.1"]
PATHS = ["/", "/clientweb", "/clientweb/", "/clientweb/api/v1", "/clientwebx", "/other/x"]


class _Response:
    def __init__(self, headers: list[str]) -> None:
        self._message = Message()
        for header in headers:
            self._message["Set-Cookie"] = header

    def info(self) -> Message:
        return self._message


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
origin = st.tuples(st.sampled_from(["http", "https"]), st.sampled_from(HOSTS),
                   st.sampled_from(PATHS))


@given(st.lists(st.tuples(origin, st.lists(set_cookie, max_size=4)), max_size=4), origin)
@settings(max_examples=500, deadline=None)
def test_cookie_header_matches_http_cookiejar(responses, request_origin):
    jar = CookieJar()
    for (scheme, host, path), headers in responses:
        jar.extract_cookies(_Response(headers), urllib.request.Request(f"{scheme}://{host}{path}"))
    stored = jar_from_list(jar_to_list(jar))  # what the relay rebuilds on every call
    strict = DefaultCookiePolicy(strict_ns_domain=DefaultCookiePolicy.DomainStrictNonDomain)
    reference = CookieJar(strict)
    for cookie in stored:
        reference.set_cookie(cookie)
    scheme, host, path = request_origin
    request = urllib.request.Request(f"{scheme}://{host}{path}")
    reference.add_cookie_header(request)
    expected = request.get_header("Cookie")
    got = cookie_header(stored, host, path, scheme == "https")
    if expected is None:
        assert got is None
        return
    assert got is not None
    assert sorted(got.split("; ")) == sorted(expected.split("; "))
    pairs = got.split("; ")
    named = [f"{c.name}={c.value}" for c in stored]
    if len(set(named)) == len(named):  # each pair names one cookie: check the order too
        paths = {f"{c.name}={c.value}": len(c.path) for c in stored}
        lengths = [paths[pair] for pair in pairs]
        assert lengths == sorted(lengths, reverse=True)  # longer paths first, as RFC 6265 asks
