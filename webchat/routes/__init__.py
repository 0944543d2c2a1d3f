"""HTTP and WebSocket routes, kept thin: they translate between the web and the relay."""

from __future__ import annotations

import ipaddress

from flask import Flask, Response, abort, current_app, request
from werkzeug.exceptions import HTTPException

from .. import limits
from ..store import StoreError
from ..visitor import set_visitor_cookie
from . import api, links, pages, ws
from .errors import api_error


def metrics_allowed(address: str | None, allowed: tuple) -> bool:
    """Whether the peer at `address` (the app's `remote_addr`) is in one of the `allowed` ranges.

    That is the TCP peer, or with TRUSTED_PROXIES the client the proxies name (ProxyFix): behind
    a proxy on this host without TRUSTED_PROXIES, every request comes from loopback.
    """
    try:
        peer = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:  # a unix socket, or nothing: not an address that can be allowed
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return any(peer in network for network in allowed)


def metrics() -> Response:
    """Prometheus text exposition of this process's figures, for METRICS_ALLOW peers only; to
    anyone else /metrics does not exist."""
    allowed = current_app.config["WEBCHAT_SETTINGS"].metrics_allow
    if not metrics_allowed(request.remote_addr, allowed):
        abort(404)
    body = current_app.extensions["webchat.metrics"].render()
    return Response(body, mimetype="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    """Register every route, the visitor cookie hook and JSON errors for the API."""
    app.register_blueprint(pages.bp)
    app.add_url_rule("/widget.js", "widget_js", pages.widget_js, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", api.readyz, methods=["GET"])
    app.register_blueprint(api.bp)
    app.register_blueprint(links.bp)
    ws.init_app(app)
    limits.init_app(app, app.config["WEBCHAT_SETTINGS"].store_url)
    app.after_request(set_visitor_cookie)

    @app.errorhandler(StoreError)
    def store_down(_error: StoreError) -> Response:
        return api_error(503, "unavailable", "Please try again in a moment.")

    @app.errorhandler(413)
    def too_large(_error: HTTPException) -> Response:
        return api_error(413, "too_large", "The file is larger than 25 MB.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return api_error(
            error.code or 500,
            (error.name or "error").lower().replace(" ", "_"),
            error.description or "",
        )
