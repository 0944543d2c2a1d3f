"""The pages: demo host page, chat page, loader script, liveness."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory

from ..visitor import current_visitor

bp = Blueprint("pages", __name__)


@bp.get("/")
def demo() -> str:
    """A plain company page with the widget embedded, as a customer's site would have it."""
    return render_template("demo.html")


@bp.get("/chat")
def chat() -> str:
    """The chat page shown inside the widget's iframe; it gives the visitor their cookie."""
    current_visitor()
    return render_template("chat.html")


def widget_js() -> Response:
    """The embed loader; cached briefly so a release reaches every site within minutes.

    Registered at app level as endpoint `widget_js`, the name templates embed it by.
    """
    response = send_from_directory(current_app.static_folder or "static", "widget.js")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon of our own: the host site's icon is the one people see."""
    return "", 204


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers without calling ServicePattern or the store."""
    return {"status": "ok"}
