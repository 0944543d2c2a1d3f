"""The visitor's identity: an opaque random id in a signed, HttpOnly cookie, and a token.

The id is the only thing the browser holds; the visitor's ServicePattern cookies and chat live
server-side under it. A tampered, foreign or missing cookie simply makes a new visitor.

The chat page also carries a signed token for the same id, which only our page can read
(the same-origin policy keeps it from other sites). The socket and every state-changing
request must present it: a page on another site that makes the browser send our cookie
(cross-site WebSocket hijacking, CSRF) cannot. Where the browser blocks or partitions the
cookie of a framed page (third-party cookie blocking), the token alone identifies the visitor,
so the chat still survives reconnects and reloads of the same page.
"""

from __future__ import annotations

import secrets

from flask import Flask, Request, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

COOKIE = "wc_visitor"
TOKEN_HEADER = "X-Webchat-Token"
HOST_COOKIE = "__Host-wc_visitor"  # under HTTPS: host-only, Secure, Path=/ by the browser's rule
MAX_AGE = 30 * 24 * 3600


def _serializer(app: Flask) -> URLSafeSerializer:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt="webchat-visitor")


def _tokens(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="webchat-token")


def make_token(visitor_id: str, app: Flask | None = None) -> str:
    """The page's proof of who it was served to (valid for as long as the cookie)."""
    return _tokens(app or current_app).dumps(visitor_id)


def read_token(req: Request, app: Flask, *, query: bool = False) -> str | None:
    """The visitor id from a valid token in the header (or, where `query`, the `token` query
    parameter: the socket handshake and downloads, which cannot carry headers).

    Never from the query of a page: a link to /chat?token=… must not make a visitor's browser
    chat as someone else, whom the link's author could then read along with.
    """
    raw = req.headers.get(TOKEN_HEADER) or (req.args.get("token") if query else None)
    if not raw or len(raw) > 300:
        return None
    try:
        value = _tokens(app).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    return value if isinstance(value, str) and len(value) == 32 else None


def bound_visitor(req: Request, app: Flask) -> str | None:
    """The visitor of a token-bound request: a valid token whose id matches the cookie's,
    or the token alone when the browser sent no cookie. None means: refuse (403)."""
    token_visitor = read_token(req, app, query=True)
    if token_visitor is None:
        return None
    cookie_visitor = read_visitor(req, app)
    if cookie_visitor is not None and cookie_visitor != token_visitor:
        return None
    return token_visitor


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


def current_visitor(*, token_in_query: bool = False) -> str:
    """This request's visitor id; a new one (cookie set on the response) when there was none.

    Without a cookie (blocked in a frame?) the page's token says who it is: from the header,
    or for downloads (`token_in_query`) from the URL.
    """
    if "visitor_id" not in g:
        visitor_id = read_visitor(request, current_app)
        if visitor_id is None:
            visitor_id = read_token(request, current_app, query=token_in_query)
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
