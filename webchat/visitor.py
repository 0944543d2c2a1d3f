"""The visitor's identity: an opaque random id in a signed, HttpOnly cookie, and a token.

The id is the only thing the browser holds; the visitor's ServicePattern cookies and chat live
server-side under it. A tampered, foreign or missing cookie simply makes a new visitor.

The chat page also carries a signed token for the same id, which only our page can read
(the same-origin policy keeps it from other sites). The socket and every state-changing
request must present it: a page on another site that makes the browser send our cookie
(cross-site WebSocket hijacking, CSRF) cannot. Where the browser blocks or partitions the
cookie of a framed page (third-party cookie blocking), the token alone identifies the visitor,
so the chat still survives reconnects and reloads of the same page.

A token lives TOKEN_MAX_AGE and carries the visitor's token epoch: revoking raises the epoch in
the store, and every token and link issued before stops working. Links to chat files and agent
photos carry their own credential, for one file of one visitor and a few minutes, never the
token: a link that leaks gives away that file, not the chat.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, Request, Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

COOKIE = "wc_visitor"
TOKEN_HEADER = "X-Webchat-Token"
HOST_COOKIE = "__Host-wc_visitor"  # under HTTPS: host-only, Secure, Path=/ by the browser's rule
LINK_PARAM = "key"  # the query parameter of a file or photo link's own credential
MAX_AGE = 30 * 24 * 3600


def _serializer(app: Flask) -> URLSafeSerializer:
    return URLSafeSerializer(app.config["SECRET_KEY"], salt="webchat-visitor")


def _tokens(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="webchat-token")


def _links(app: Flask) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="webchat-link")


def _settings(app: Flask) -> Any:
    return app.config["WEBCHAT_SETTINGS"]


def _epoch(app: Flask, visitor_id: str) -> int:
    return app.extensions["webchat.store"].token_epoch(visitor_id)


def _current(app: Flask, visitor_id: Any, epoch: Any) -> str | None:
    """The visitor of a credential, if well formed and not revoked (issued at or after the
    visitor's token epoch)."""
    if not isinstance(visitor_id, str) or len(visitor_id) != 32 or not isinstance(epoch, int):
        return None
    return visitor_id if epoch >= _epoch(app, visitor_id) else None


def make_token(visitor_id: str, app: Flask | None = None) -> str:
    """The page's proof of who it was served to: valid TOKEN_MAX_AGE, until revoked."""
    app = app or current_app
    return _tokens(app).dumps([visitor_id, _epoch(app, visitor_id)])


def revoke_tokens(visitor_id: str, app: Flask | None = None) -> str:
    """Void every token and link of the visitor issued so far; a new token for the caller."""
    app = app or current_app
    epoch = app.extensions["webchat.store"].revoke_tokens(visitor_id, _settings(app).token_max_age)
    return _tokens(app).dumps([visitor_id, epoch])


def read_token(req: Request, app: Flask, *, query: bool = False) -> str | None:
    """The visitor id from a valid token in the header (or, where `query`, the `token` query
    parameter: the socket handshake, which cannot carry headers).

    Never from the query of a page: a link to /chat?token=… must not make a visitor's browser
    chat as someone else, whom the link's author could then read along with. Never from a
    download's: links carry their own short-lived credential (`make_link`), so a URL that
    leaks (history, logs, a forwarded link) cannot open the chat.
    """
    raw = req.headers.get(TOKEN_HEADER) or (req.args.get("token") if query else None)
    if not raw or len(raw) > 300:
        return None
    try:
        value = _tokens(app).loads(raw, max_age=_settings(app).token_max_age)
    except BadSignature:
        return None
    if isinstance(value, str):  # a token from before epochs: the first epoch's
        value = [value, 0]
    if not isinstance(value, list) or len(value) != 2:
        return None
    return _current(app, *value)


def bound_visitor(req: Request, app: Flask, *, query: bool = False) -> str | None:
    """The visitor of a token-bound request: a valid token whose id matches the cookie's,
    or the token alone when the browser sent no cookie. None means: refuse (403)."""
    token_visitor = read_token(req, app, query=query)
    if token_visitor is None:
        return None
    cookie_visitor = read_visitor(req, app)
    if cookie_visitor is not None and cookie_visitor != token_visitor:
        return None
    return token_visitor


def make_link(path: str, kind: str, item_id: str, visitor_id: str, app: Flask | None = None) -> str:
    """`path` with a credential for one file ("file") or agent photo ("photo") of one visitor,
    valid FILE_LINK_MAX_AGE seconds: all a link in the page needs, and all it gives away."""
    app = app or current_app
    key = _links(app).dumps([kind, item_id, visitor_id, _epoch(app, visitor_id)])
    return f"{path}?{LINK_PARAM}={key}"


def link_visitor(req: Request, app: Flask, kind: str, item_id: str) -> str | None:
    """The visitor of a download: its link's credential, for this very file or photo, or else
    the page's token in the header. None means: refuse (403).

    The link alone decides, whatever cookie comes with it: a link followed into a new tab is
    first-party there, where the browser may hold another visitor's cookie for us than the
    framed chat's (partitioned, or none)."""
    raw = req.args.get(LINK_PARAM)
    if raw is None:
        return bound_visitor(req, app)
    if len(raw) > 500:
        return None
    try:
        value = _links(app).loads(raw, max_age=_settings(app).file_link_max_age)
    except BadSignature:
        return None
    if not isinstance(value, list) or len(value) != 4 or value[:2] != [kind, item_id]:
        return None
    return _current(app, value[2], value[3])


def read_visitor(req: Request, app: Flask) -> str | None:
    """The visitor id from a valid cookie, or None.

    Over HTTPS only the `__Host-` cookie counts: anyone who can set a cookie for the host (a
    sibling subdomain, a man in the middle of a plain-HTTP request) can plant an unprefixed
    one, and with it his own visitor id, whose chat he could then read with his own token.
    """
    raw = req.cookies.get(HOST_COOKIE)
    if not req.is_secure:
        raw = raw or req.cookies.get(COOKIE)
    if not raw or len(raw) > 200:
        return None
    try:
        value = _serializer(app).loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) and len(value) == 32 else None


def current_visitor() -> str:
    """This request's visitor id; a new one (cookie set on the response) when there was none.

    Without a cookie (blocked in a frame?) the page's token in the header says who it is.
    """
    if "visitor_id" not in g:
        visitor_id = read_visitor(request, current_app)
        if visitor_id is None:
            visitor_id = read_token(request, current_app)
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
