"""HTTP and WebSocket routes, kept thin: they translate between the web and the relay."""

from __future__ import annotations

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from .. import limits
from ..store import StoreError
from ..visitor import set_visitor_cookie
from . import api, pages, ws
from .errors import api_error


def metrics() -> Response:
    """Prometheus text exposition of this process's figures."""
    body = current_app.extensions["webchat.metrics"].render()
    return Response(body, mimetype="text/plain; version=0.0.4")


def init_app(app: Flask) -> None:
    """Register every route, the visitor cookie hook and JSON errors for the API."""
    app.register_blueprint(pages.bp)
    app.add_url_rule("/widget.js", "widget_js", pages.widget_js, methods=["GET"])
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    app.add_url_rule("/readyz", "readyz", api.readyz, methods=["GET"])
    app.register_blueprint(api.bp)
    ws.init_app(app)
    limits.init_app(app, app.config["WEBCHAT_SETTINGS"].store_url)
    app.after_request(set_visitor_cookie)

    @app.errorhandler(StoreError)
    def store_down(_error: StoreError):  # type: ignore[no-untyped-def]
        return api_error(503, "unavailable", "Please try again in a moment.")

    @app.errorhandler(413)
    def too_large(_error: HTTPException):  # type: ignore[no-untyped-def]
        return api_error(413, "too_large", "The file is larger than 25 MB.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        return api_error(
            error.code or 500,
            (error.name or "error").lower().replace(" ", "_"),
            error.description or "",
        )
