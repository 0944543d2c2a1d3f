"""The visitor's identity: an opaque random id in a signed, HttpOnly cookie.

The id is the only thing the browser holds; the visitor's ServicePattern cookies and chat live
server-side under it. A tampered, foreign or missing cookie simply makes a new visitor.
"""

from __future__ import annotations

import secrets

from flask import Flask, Request, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "wc_visitor"
HOST_COOKIE = "__Host-wc_visitor"  # under HTTPS: host-only, Secure, Path=/ by the browser's rule
MAX_AGE = 30 * 24 * 3600


def _serializer(app: Flask) -> URLSafeSerializer:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt="webchat-visitor")


def read_visitor(req: Request, app: Flask) -> str | None:
    """The visitor id from a valid cookie, or None."""
    raw = req.cookies.get(HOST_COOKIE) or req.cookies.get(COOKIE)
    if not raw or len(raw) > 200:
        return None
    try:
        value = _serializer(app).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and len(value) == 32 else None


def current_visitor() -> str:
    """This request's visitor id; a new one (cookie set on the response) when there was none."""
    if "visitor_id" not in g:
        visitor_id = read_visitor(request, current_app)
        g.visitor_new = visitor_id is None
        g.visitor_id = visitor_id or secrets.token_hex(16)
    return g.visitor_id


def set_visitor_cookie(response: Response) -> Response:
    """after_request: give a new visitor its cookie.

    Under HTTPS the chat page is usually framed by the company's site, another site: the cookie
    is then `__Host-` prefixed, Secure, `SameSite=None` and `Partitioned` (CHIPS), so browsers
    that block third-party cookies still keep it, partitioned under the company's site.
    """
    if g.get("visitor_new"):
        secure = request.is_secure
        response.set_cookie(
            HOST_COOKIE if secure else COOKIE,
            _serializer(current_app).dumps(g.visitor_id),
            max_age=MAX_AGE,
            httponly=True,
            secure=secure,
            samesite="None" if secure else "Lax",
            partitioned=secure,
            path="/",
        )
    return response
