"""Theming and page security: THEME_DIR overrides, translations, and the pages' CSP.

`THEME_DIR` names a folder with `templates/` and/or `static/`. Its templates are found before
ours (ours stay reachable as `default/<name>`, so a theme's `chat.html` can extend
`default/chat.html` and replace only a block), and its static files are served before ours
under the same `/static/` URLs. Translations live in `static/i18n/<lang>.json`; a theme may add
languages or override ours the same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import rcssmin
import rjsmin
from flask import Flask, Response, current_app, request, send_from_directory
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

DEFAULT_LANG = "en"
# A theme's brand colour as its stylesheets declare it: `--wc-primary: #8a1538;` (hex only).
BRAND = re.compile(r"--wc-primary\s*:\s*(#(?:[0-9a-fA-F]{3}){1,2})\s*[;}]")
FORM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def static_dirs(app: Flask) -> tuple[str, ...]:
    """Where static files are looked up, the theme's first."""
    return app.config["WEBCHAT_STATIC_DIRS"]


def find_static(app: Flask, filename: str) -> str | None:
    """The folder that holds static `filename` (theme first), or None."""
    for folder in static_dirs(app):
        path = safe_join(folder, filename)
        if path is not None and os.path.isfile(path):
            return folder
    return None


def minify(text: str, kind: str) -> str:
    """Our scripts (`kind` "js") and styles ("css") as sent: comments and spaces left out.

    rJSmin and rCSSmin know strings, regular expressions and template literals, so text that
    looks like a comment inside them is kept; the sources stay documented and the visitor's
    browser gets less to load. Names and statements are untouched.
    """
    return (rjsmin.jsmin(text) if kind == "js" else rcssmin.cssmin(text)) + "\n"


@lru_cache(maxsize=128)
def minified_file(path: str, mtime: float, kind: str) -> tuple[str, str]:
    """`path` minified and its ETag, once per version of the file (`mtime` is the key)."""
    with open(path, encoding="utf-8") as handle:
        body = minify(handle.read(), kind)
    return body, hashlib.sha256(body.encode()).hexdigest()[:32]


def serve_static(filename: str) -> Response:
    """The `static` endpoint: the theme's file when it has one, else ours; scripts and styles
    minified (see `minify`), with an ETag so browsers revalidate cheaply."""
    folder = find_static(current_app, filename)
    if folder is None:
        raise NotFound()
    kind = filename.rsplit(".", 1)[-1]
    if kind in ("js", "css"):
        path = os.path.join(folder, filename)
        body, etag = minified_file(path, os.path.getmtime(path), kind)
        mimetype = "text/javascript" if kind == "js" else "text/css"
        response = Response(body, mimetype=mimetype)
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache"
        response = cast(Response, response.make_conditional(request))  # returns itself
    else:
        response = send_from_directory(folder, filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@lru_cache(maxsize=64)
def _read_json(path: str, mtime: float) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return data if isinstance(data, dict) else {}


def _strings_file(app: Flask, lang: str) -> dict[str, Any]:
    folder = find_static(app, f"i18n/{lang}.json")
    if folder is None:
        return {}
    path = os.path.join(folder, "i18n", f"{lang}.json")
    return _read_json(path, os.path.getmtime(path))


def languages(app: Flask) -> list[str]:
    """Every language with a `static/i18n/<lang>.json`, ours and the theme's, sorted."""
    found: set[str] = set()
    for folder in static_dirs(app):
        i18n = Path(folder) / "i18n"
        if i18n.is_dir():
            found.update(p.stem for p in i18n.glob("*.json") if LANG.match(p.stem))
    return sorted(found)


def form_names(app: Flask) -> list[str]:
    """The forms with a template (`templates/forms/<name>.html`), ours and the theme's."""
    theme = app.extensions.get("webchat.theme")
    folders = [Path(app.root_path) / (app.template_folder or "templates") / "forms"]
    if theme is not None:
        folders.append(theme / "templates" / "forms")
    names: set[str] = set()
    for folder in folders:
        if folder.is_dir():
            names.update(p.stem for p in folder.glob("*.html") if FORM.match(p.stem))
    return sorted(names)


@lru_cache(maxsize=16)
def _brand_in(files: tuple[tuple[str, float], ...]) -> str | None:
    for path, _mtime in files:
        with open(path, encoding="utf-8") as handle:
            found = BRAND.search(handle.read())
        if found:
            return found[1].lower()
    return None


def brand_color(app: Flask) -> str | None:
    """The THEME_DIR theme's brand colour: the first `--wc-primary: #hex` in its stylesheets
    (`static/**/*.css`, by path), so the launcher on the host page wears the colour the chat
    does without a second setting; None without a theme or such a declaration."""
    theme = app.extensions.get("webchat.theme")
    folder = theme / "static" if theme is not None else None
    if folder is None or not folder.is_dir():
        return None
    files = tuple((str(p), p.stat().st_mtime) for p in sorted(folder.rglob("*.css")))
    return _brand_in(files)


def strings(app: Flask, lang: str) -> dict[str, Any]:
    """The strings of `lang`, English filling any gap."""
    merged = dict(_strings_file(app, DEFAULT_LANG))
    if lang != DEFAULT_LANG:
        merged.update(_strings_file(app, lang))
    return merged


def choose_language(app: Flask, wanted: str | None) -> str:
    """`wanted` (data-lang) when we have it, else the browser's best match, else English."""
    available = languages(app)
    if wanted:
        wanted = wanted.strip()
        for candidate in (wanted, wanted.split("-")[0].lower()):
            if candidate in available:
                return candidate
    best = request.accept_languages.best_match(available)
    return best or DEFAULT_LANG


def csp(app: Flask, frame: bool = True) -> str:
    """The chat page's Content-Security-Policy; frame-ancestors from ALLOWED_ORIGINS."""
    host = request.host
    ancestors = " ".join(["'self'", *app.config["WEBCHAT_SETTINGS"].allowed_origins])
    parts = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        f"connect-src 'self' ws://{host} wss://{host}",
        "img-src 'self' data: blob:",
        "font-src 'self'",
        "media-src 'self' blob:",
        "form-action 'self'",
        f"frame-ancestors {ancestors}" if frame else "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ]
    return "; ".join(parts)


def secure_page(response: Response, frame: bool = True) -> Response:
    """Headers of our HTML pages: strict CSP, no sniffing, no referrer to linked sites."""
    response.headers["Content-Security-Policy"] = csp(current_app, frame)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def init_app(app: Flask) -> None:
    """Bind theme lookups (templates, static files) to the app; safe to call twice."""
    if "webchat.theme" in app.extensions:
        return
    theme = app.config["WEBCHAT_SETTINGS"].theme_dir
    app.extensions["webchat.theme"] = theme
    ours = FileSystemLoader(os.path.join(app.root_path, app.template_folder or "templates"))
    loaders: list = [ours, PrefixLoader({"default": ours})]
    dirs = [app.static_folder or os.path.join(app.root_path, "static")]
    if theme is not None:
        if (theme / "templates").is_dir():
            loaders.insert(0, FileSystemLoader(str(theme / "templates")))
        if (theme / "static").is_dir():
            dirs.insert(0, str(theme / "static"))
    app.jinja_loader = ChoiceLoader(loaders)
    app.config["WEBCHAT_STATIC_DIRS"] = tuple(dirs)
    app.view_functions["static"] = serve_static
