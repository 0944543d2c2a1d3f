"""Per-visitor ServicePattern cookie jars, and their plain-data form for the store.

ServicePattern tells WebChat clients apart only by their cookies (a client cookie, and often a
load balancer's affinity cookie that comes later), so every cookie it sets must go back on
every later call of that visitor, and never on another visitor's call.
"""

from __future__ import annotations

import time
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any

from requests.cookies import RequestsCookieJar


class RefuseAllPolicy(DefaultCookiePolicy):
    """For the shared session's own jar: a shared session must never remember anyone's cookie."""

    def set_ok(self, cookie: Cookie, request: Any) -> bool:  # noqa: ARG002
        return False


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


def cookie_key(cookie: dict[str, Any]) -> str:
    """Identity of a cookie within a jar: same name, domain and path replace each other."""
    return f"{cookie['domain']}\t{cookie['path']}\t{cookie['name']}"


def jar_to_list(jar: CookieJar) -> list[dict[str, Any]]:
    """Every live cookie in the jar as plain data, expired ones left out."""
    now = time.time()
    return [cookie_to_dict(c) for c in jar if not c.is_expired(now)]


def jar_from_list(items: list[dict[str, Any]]) -> RequestsCookieJar:
    """A fresh jar holding the stored cookies (expired ones dropped)."""
    jar = RequestsCookieJar()
    now = time.time()
    for item in items:
        expires = item.get("expires")
        if expires is not None and expires <= now:
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


def cookie_header(jar: CookieJar, host: str, path: str, secure: bool) -> str | None:
    """The Cookie header a call to `host` and `path` carries: what CookieJar.add_cookie_header
    sends for ServicePattern's cookies, at a fraction of its CPU (it runs on every long poll).

    The rules are http.cookiejar's, so that both paths of the client send the same cookies: a
    host without a dot is known as `<host>.local`; a cookie set without a Domain attribute goes
    back to its own host only (RFC 6265 and http.cookiejar's strict setting: the default would
    also send it to subdomains, which this client never calls); a Domain cookie (kept with a
    leading dot) to that domain and below; the path must be the cookie's or lie under it;
    Secure cookies over HTTPS only; expired cookies never. Longer paths come first.
    """
    host = host.lower()
    effective = host if "." in host else host + ".local"
    dotted = "." + effective
    now = time.time()
    matched = []
    for cookie in jar:
        if cookie.is_expired(now) or (cookie.secure and not secure):
            continue
        domain = cookie.domain.lower()
        if not domain.startswith("."):
            if not cookie.domain_specified and domain != effective:
                continue
            domain = "." + domain
        if not dotted.endswith(domain):
            continue
        cookie_path = cookie.path or "/"
        if path != cookie_path and not (
            path.startswith(cookie_path)
            and (cookie_path.endswith("/") or path[len(cookie_path)] == "/")
        ):
            continue
        matched.append(cookie)
    if not matched:
        return None
    matched.sort(key=lambda c: len(c.path or ""), reverse=True)
    return "; ".join(c.name if c.value is None else f"{c.name}={c.value}" for c in matched)
