"""THEME_DIR overrides (templates, static files) and the pages' security headers. The first tests
use Flask's test client (no browser); the last shows the example theme in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app import create_app
from tests.browser.widget import Widget, axe_violations
from tests.harness import ROOT, ServerProcess
from webchat.settings import Settings, SettingsError, load_settings

ACME = ROOT / "examples" / "theme-acme"


def _app(monkeypatch, theme: str | None = None, origins: tuple[str, ...] = ()):
    settings = Settings(
        sp_api_url="http://127.0.0.1:9", sp_tenant_url="t.example", sp_app_id="app",
        allowed_origins=origins, theme_dir=load_settings({"THEME_DIR": theme or ""}).theme_dir,
    )
    return create_app({"SETTINGS": settings, "TESTING": True}).test_client()


def test_chat_page_csp_is_strict_and_frame_ancestors_follow_allowed_origins(monkeypatch):
    client = _app(monkeypatch, origins=("https://www.shop.example", "https://help.shop.example"))
    response = client.get("/chat")
    header = response.headers["Content-Security-Policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["frame-ancestors"] == "'self' https://www.shop.example https://help.shop.example"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self' ws://localhost wss://localhost"
    assert policy["img-src"] == "'self' data: blob:"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert "<script>" not in response.text and " style=" not in response.text
    assert client.get("/forms/survey").headers["Content-Security-Policy"] == (
        response.headers["Content-Security-Policy"]
    )
    assert client.get("/forms/nope").status_code == 404
    assert client.get("/forms/..%2Fchat").status_code == 404
    own = _app(monkeypatch).get("/chat").headers["Content-Security-Policy"]
    assert "frame-ancestors 'self';" in own


def test_theme_templates_and_static_files_override_ours(monkeypatch):
    client = _app(monkeypatch, theme=str(ACME))
    page = client.get("/chat").text
    assert "ACME Support" in page and "/static/acme.css" in page and "/static/chat.css" in page
    assert 'id="wc-transcript"' in page  # the rest is still our page
    assert client.get("/static/acme.css").status_code == 200
    assert b"--wc-primary" in client.get("/static/chat.css").data  # ours where no override
    assert client.get("/static/i18n/en.json").status_code == 200
    plain = _app(monkeypatch).get("/chat").text
    assert "ACME Support" not in plain


def test_a_bad_theme_dir_is_named(monkeypatch, tmp_path):
    with pytest.raises(SettingsError, match="THEME_DIR"):
        _app(monkeypatch, theme=str(tmp_path / "missing"))


def test_the_example_theme_in_the_browser(context, sim_server, sim):
    server = ServerProcess(sim_server.base_url, {"THEME_DIR": str(ACME)})
    try:
        page = context.new_page()
        widget = Widget(page)
        page.goto(server.url + "/")
        widget.open()
        expect(widget.chat.get_by_role("heading", name="ACME Support")).to_be_visible()
        header = widget.chat.locator(".wc-header")
        expect(header).to_have_css("background-color", "rgb(27, 27, 58)")
        widget.start("Themed")
        widget.shot("15-theme-acme")
        assert axe_violations(widget.frame) == []
    finally:
        server.stop()
