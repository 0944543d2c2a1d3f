"""Credentials the chat page asks for: a file's or an agent photo's link, a fresh token.

A link carries its own short-lived credential for one file of one visitor (webchat.visitor),
never the page's token: a link that leaks (browser history, a proxy's log, a forwarded URL)
opens that one file for minutes, not the chat. The page asks with its token in the header.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, request

from ..visitor import bound_visitor, make_link, revoke_tokens
from .api import ID
from .errors import api_error

bp = Blueprint("links", __name__, url_prefix="/api")

PATHS = {"file": "/api/files/", "photo": "/api/photos/"}


def _link(kind: str, item_id: str) -> Response | tuple[dict, int, dict[str, str]]:
    visitor_id = bound_visitor(request, current_app)
    if visitor_id is None:
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    if not ID.match(item_id):
        return api_error(404, "not_found", "No such file in your chat.")
    path = PATHS[kind] + quote(item_id, safe="")
    max_age = current_app.config["WEBCHAT_SETTINGS"].file_link_max_age
    body = {"url": make_link(path, kind, item_id, visitor_id), "expires_in": max_age}
    return body, 200, {"Cache-Control": "no-store"}


@bp.get("/files/<file_id>/link")
def file_link(file_id: str) -> Response | tuple[dict, int, dict[str, str]]:
    """A link to one file of the chat (it need not exist yet: the download checks that)."""
    return _link("file", file_id)


@bp.get("/photos/<party_id>/link")
def photo_link(party_id: str) -> Response | tuple[dict, int, dict[str, str]]:
    """A link to one agent's photo."""
    return _link("photo", party_id)


@bp.post("/token")
def rotate_token() -> Response | tuple[dict, int, dict[str, str]]:
    """Revoke every token and link of the visitor issued so far; the caller gets a new token.

    For a page that believes its token was exposed: the old one no longer opens a socket,
    uploads or mints links (open sockets are not closed).
    """
    visitor_id = bound_visitor(request, current_app)
    if visitor_id is None:
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    return {"token": revoke_tokens(visitor_id)}, 200, {"Cache-Control": "no-store"}
