"""Per-visitor ServicePattern cookie jars, and their plain-data form for the store.

ServicePattern tells WebChat clients apart only by their cookies (a client cookie, and often a
load balancer's affinity cookie that comes later), so every cookie it sets must go back on
every later call of that visitor, and never on another visitor's call. Which cookies a call
sends and which an answer sets are http.cookiejar's rules (as requests applies them), one
implementation for both.
"""

from __future__ import annotations

import math
import re
import time
import urllib.request
from collections.abc import Callable
from http.cookiejar import Cookie, CookieJar
from typing import Any

from requests.cookies import RequestsCookieJar

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNKNOWN = object()


def clean(name: str, value: str | None) -> bool:
    """A cookie fit to keep: no control character in its name or value (a CR, LF or NUL
    there would break, or add to, every later request of the visitor)."""
    return not _CONTROL.search(name) and not (value and _CONTROL.search(value))


class _Answer:
    """What CookieJar.make_cookies needs of an answer: its headers, via info()."""

    def __init__(self, headers: Any) -> None:
        self._headers = headers

    def info(self) -> _Answer:
        return self

    def get_all(self, name: str, default: Any = None) -> Any:
        return self._headers.get_all(name) or default


def cookie_header(jar: CookieJar, url: str) -> str | None:
    """The Cookie header a call to `url` carries: http.cookiejar's own choice."""
    request = urllib.request.Request(url)
    jar.add_cookie_header(request)
    return request.get_header("Cookie")


def keep_cookies(jar: CookieJar, url: str, headers: Any) -> bool:
    """Store in `jar` the cookies an answer from `url` sets, by http.cookiejar's rules, but
    never one with a control character. `headers` has get_all(name). True when any was set."""
    values = headers.get_all("set-cookie")
    if not values:
        return False
    request = urllib.request.Request(url)
    for cookie in jar.make_cookies(_Answer(headers), request):  # type: ignore[arg-type]
        if clean(cookie.name, cookie.value):
            jar.set_cookie_if_ok(cookie, request)
    return True


def cookie_to_dict(cookie: Cookie) -> dict[str, Any]:
    """Plain data for the store: enough to rebuild the cookie exactly."""
    return {
        "name": cookie.name,
        "value": cookie.value,
        "domain": cookie.domain,
        "path": cookie.path,
        "secure": cookie.secure,
        "expires": cookie.expires,
        "domain_specified": cookie.domain_specified,
        "rest": {"HttpOnly": None} if cookie.has_nonstandard_attr("HttpOnly") else {},
    }


def jar_to_list(jar: CookieJar) -> list[dict[str, Any]]:
    """Every live cookie in the jar as plain data, expired ones left out."""
    now = int(time.time())  # whole seconds, as a cookie's expiry is kept
    return [cookie_to_dict(c) for c in jar if not c.is_expired(now)]


def jar_from_list(items: list[dict[str, Any]]) -> RequestsCookieJar:
    """A fresh jar holding the stored cookies (expired ones dropped)."""
    jar = RequestsCookieJar()
    now = time.time()
    for item in items:
        expires = item.get("expires")
        if (expires is not None and expires <= now) or not clean(item["name"], item["value"]):
            continue
        domain = item.get("domain", "")
        jar.set_cookie(
            Cookie(
                version=0,
                name=item["name"],
                value=item["value"],
                port=None,
                port_specified=False,
                domain=domain,
                domain_specified=bool(item.get("domain_specified", True)),
                domain_initial_dot=domain.startswith("."),
                path=item.get("path", "/"),
                path_specified=True,
                secure=bool(item.get("secure")),
                expires=expires,
                discard=expires is None,
                comment=None,
                comment_url=None,
                rest=item.get("rest") or {},
            )
        )
    return jar


class StoredCookies:
    """A visitor's cookies as the store gave them, with the Cookie header for each URL
    remembered: the same stored cookies give the same header (http.cookiejar's, computed once
    from the jar they make) until the first of them expires, so a poll need not rebuild the
    jar and rerun the cookie rules on every call."""

    MAX_URLS = 8  # URLs remembered; more (many file downloads) start the memory afresh

    __slots__ = ("items", "expires", "_headers")

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.expires = min(
            (float(e) for e in (i.get("expires") for i in items) if e is not None),
            default=math.inf,
        )
        self._headers: dict[str, str | None] = {}

    def jar(self) -> RequestsCookieJar:
        """A fresh jar of these cookies (a call may add to it)."""
        return jar_from_list(self.items)

    def header(self, url: str, make_jar: Callable[[], CookieJar] | None = None) -> str | None:
        """The Cookie header a call to `url` carries: what `cookie_header` gives for `jar()`.
        When it must be computed, it is from `make_jar()` (a jar from `jar()` not changed since:
        the caller keeps it for the cookies its answer sets) or a new one."""
        headers = self._headers
        known = headers.get(url, _UNKNOWN)
        if known is not _UNKNOWN and time.time() < self.expires:
            return known  # type: ignore[return-value]
        header = cookie_header(make_jar() if make_jar is not None else self.jar(), url)
        # Remembered only when no cookie expired while it was computed (it would be left out).
        if time.time() < self.expires:
            if len(headers) >= self.MAX_URLS:
                headers.clear()
            headers[url] = header
        return header


class Identity:
    """Who a call is made for: the visitor's cookie jar, and whether a call changed it.

    Made from the store's cookies (`stored`), the jar is built only when something needs it
    (an answer set a cookie); until then the Cookie header is the stored cookies' own.
    """

    __slots__ = ("_jar", "stored", "user_agent", "cookies_changed")

    def __init__(
        self,
        jar: CookieJar | None = None,
        user_agent: str | None = None,
        cookies_changed: bool = False,
        *,
        stored: StoredCookies | None = None,
    ) -> None:
        self._jar = jar
        self.stored = stored
        self.user_agent = user_agent
        self.cookies_changed = cookies_changed

    @property
    def jar(self) -> CookieJar:
        """The visitor's jar (from then on the one source of the Cookie header)."""
        if self._jar is None:
            self._jar = self.stored.jar() if self.stored is not None else RequestsCookieJar()
        return self._jar

    def cookie_header(self, url: str) -> str | None:
        """The Cookie header of a call to `url`: http.cookiejar's choice from the jar."""
        if self._jar is None:
            # On a miss the jar is built once: for this header and for what the answer sets.
            return self.stored.header(url, lambda: self.jar) if self.stored is not None else None
        return cookie_header(self._jar, url)
