"""The pages: demo host pages, the chat page and its forms, the loader script, liveness."""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from typing import cast

from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request
from jinja2 import TemplateNotFound

from .. import theme
from ..visitor import current_visitor, make_token

bp = Blueprint("pages", __name__)
bp.record_once(lambda state: theme.init_app(cast(Flask, state.app)))

PLACEHOLDER = re.compile(r"\{(\w+)\}")
FORM_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DEMO_PAGES = {"": "home", "help": "help"}
# Strings of a part of the chat page loaded only when used (static/chat/calls.js): not in the
# page's JSON block, but fetched from /chat/strings/calls, so the page stays light.
LAZY = "calls."
CHAT_PERMISSIONS = (
    "microphone=(self), camera=(self), geolocation=(self), display-capture=(), usb=(), "
    "serial=(), hid=(), midi=(), payment=()"
)
# The loader's own strings: the `launcher.*` keys of every language (and `rtl` for a language
# read from right to left), put in at serve time.
LAUNCHER_KEYS = ("launcher.open", "launcher.close", "launcher.unread", "launcher.dismiss")
STRINGS_MARK = "/*STRINGS*/{}"
# What the mark becomes before minifying: a name, which the minifier keeps as it is.
STRINGS_SLOT = "__webchat_launcher_strings__"
# The launcher's default colour: the theme's brand colour (theme.brand_color), else ours.
COLOR_MARK = "/*COLOR*/'#1f5fbf'"
COLOR_SLOT = "__webchat_brand_color__"
DEFAULT_COLOR = "#1f5fbf"


def _strings_json(strings: dict) -> str:
    # No "<" at all: neither "</script" nor "<!--" can end or bend the page's JSON block.
    return json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")


def _page_context() -> dict:
    lang = theme.choose_language(current_app, request.args.get("lang"))
    strings = theme.strings(current_app, lang)
    settings = current_app.config["WEBCHAT_SETTINGS"]
    look = request.args.get("theme")
    return {
        "lang": lang,
        "dir": "rtl" if strings.get("dir") == "rtl" else "ltr",
        # The host's data-theme, on the page as it is first painted (not only once scripts ran).
        "page_theme": look if look in ("light", "dark") else None,
        "strings": strings,
        "t": lambda key, **values: PLACEHOLDER.sub(
            lambda m: str(values.get(m[1], m[0])), str(strings.get(key, key))
        ),
        "strings_json": _strings_json({k: v for k, v in strings.items() if not k.startswith(LAZY)}),
        "forms": theme.form_names(current_app),
        "config": {
            "max_message_chars": settings.max_message_chars,
            "max_upload_bytes": settings.max_upload_bytes,
            "soft_end": settings.post_chat_survey,
            "typing_preview": settings.typing_preview,
        },
    }


@bp.get("/", defaults={"page": ""})
@bp.get("/demo/<page>")
def demo(page: str) -> Response:
    """A plain company site with the widget embedded, as a customer's would have it.

    It carries a strict CSP of its own, proving the loader needs no inline script or style.
    """
    if page not in DEMO_PAGES:
        abort(404)
    response = Response(render_template("demo.html", page=DEMO_PAGES[page], **_page_context()))
    theme.secure_page(response, frame=False)
    policy = response.headers["Content-Security-Policy"].replace(
        "default-src 'none'", "default-src 'none'; frame-src 'self'"
    )
    response.headers["Content-Security-Policy"] = policy
    return response


@bp.get("/chat")
def chat() -> Response:
    """The chat page shown inside the widget's iframe; it gives the visitor their cookie."""
    token = make_token(current_visitor())
    # A new visitor here may be a returning one whose browser withholds our cookie in a frame:
    # the page then keeps using the token it stored before (static/chat/util.js).
    response = Response(
        render_template(
            "chat.html", visitor_token=token, new_visitor=g.visitor_new, **_page_context()
        )
    )
    response.headers["Cache-Control"] = "no-store"
    # Calls (static/chat/calls.js) take the microphone and camera, location sharing the
    # position, all in this page only (a host page's frame delegates them by its `allow`);
    # nothing else that asks the visitor for a device or their screen.
    response.headers["Permissions-Policy"] = CHAT_PERMISSIONS
    return theme.secure_page(response)


@bp.get("/chat/strings/calls")
def call_strings() -> Response:
    """The `calls.*` strings of the visitor's language (English filling gaps), for calls.js."""
    lang = theme.choose_language(current_app, request.args.get("lang"))
    strings = theme.strings(current_app, lang)
    body = json.dumps({k: v for k, v in strings.items() if k.startswith(LAZY)}, ensure_ascii=False)
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/forms/<name>")
def form(name: str) -> Response:
    """The fragment `templates/forms/<name>.html` for a `chat_session_form_show`; 404 if none."""
    if not FORM_NAME.match(name):
        abort(404)
    try:
        html = render_template(f"forms/{name}.html", form_name=name, **_page_context())
    except TemplateNotFound:
        abort(404)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return theme.secure_page(response)


def _launcher_strings() -> str:
    table = {}
    for lang in theme.languages(current_app):
        strings = theme.strings(current_app, lang)
        table[lang] = {key.split(".", 1)[1]: strings.get(key, "") for key in LAUNCHER_KEYS}
        if strings.get("dir") == "rtl":
            table[lang]["rtl"] = 1
    return json.dumps(table, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=8)
def _loader_source(path: str, mtime: float) -> str:
    """The loader minified once per version of the file, its strings' slot left as a name.

    The strings go in after minifying, so the minifier never sees text from a language file.
    """
    with open(path, encoding="utf-8") as handle:
        source = handle.read().replace(STRINGS_MARK, STRINGS_SLOT, 1)
        return theme.minify(source.replace(COLOR_MARK, COLOR_SLOT, 1), "js")


def widget_js() -> Response:
    """The embed loader, with the launcher's strings of every language and the theme's brand
    colour put in.

    Cached briefly so a release reaches every site within minutes. Registered at app level as
    endpoint `widget_js`, the name templates embed it by.
    """
    folder = theme.find_static(current_app, "widget.js")
    if folder is None:
        abort(404)
    path = os.path.join(folder, "widget.js")
    source = _loader_source(path, os.path.getmtime(path))
    color = json.dumps(theme.brand_color(current_app) or DEFAULT_COLOR)
    source = source.replace(STRINGS_SLOT, _launcher_strings(), 1).replace(COLOR_SLOT, color, 1)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon of our own: the host site's icon is the one people see."""
    return "", 204


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: answers without calling ServicePattern or the store."""
    return {"status": "ok"}
