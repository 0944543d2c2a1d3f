"""The host's data-theme is on the chat page as the server sends it, so the page is first
painted in it (not light, then dark once its scripts ran); nothing else gets through."""

from __future__ import annotations

import re

import pytest

from app import create_app
from webchat.settings import load_settings


@pytest.fixture()
def client():
    settings = load_settings({"SECRET_KEY": "page-theme-test-secret-" + "x" * 16})
    return create_app({"SETTINGS": settings, "TESTING": True}).test_client()


def _html_tag(client, query: str) -> str:
    page = client.get("/chat" + query).get_data(as_text=True)
    found = re.search(r"<html[^>]*>", page)
    assert found, page[:300]
    return found.group(0)


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_hosts_theme_is_rendered_on_the_page(client, theme):
    assert f'data-theme="{theme}"' in _html_tag(client, f"?theme={theme}&lang=en")


@pytest.mark.parametrize("query", ["", "?theme=auto", '?theme="><script>', "?theme=DARK"])
def test_anything_else_leaves_the_visitors_own_scheme(client, query):
    tag = _html_tag(client, query)
    assert "data-theme" not in tag and "<script" not in tag
