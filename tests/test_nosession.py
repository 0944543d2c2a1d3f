"""Flask's session is not used: every request shares one empty session that refuses writes,
so a chat socket keeps no session object of its own, and no session cookie is ever set."""

from __future__ import annotations

import pytest
from flask import session

from app import create_app
from webchat.nosession import NoSessions
from webchat.settings import load_settings


@pytest.fixture()
def app(sim_server):
    settings = load_settings(
        {
            "SP_API_URL": sim_server.base_url,
            "SP_TENANT_URL": "tenant.example.com",
            "SP_APP_ID": "app",
            "SECRET_KEY": "nosession-test-secret-" + "x" * 16,
        }
    )
    return create_app({"SETTINGS": settings, "TESTING": True})


def test_requests_share_one_empty_session_that_refuses_writes(app):
    assert isinstance(app.session_interface, NoSessions)
    with app.test_request_context("/chat"):
        first = session._get_current_object()  # type: ignore[attr-defined]
        assert not first
        with pytest.raises(RuntimeError):
            session["visitor"] = "someone"
    with app.test_request_context("/ws"):
        assert session._get_current_object() is first  # type: ignore[attr-defined]


def test_no_page_sets_a_flask_session_cookie(app):
    client = app.test_client()
    for path in ("/", "/chat", "/healthz"):
        response = client.get(path)
        cookies = response.headers.getlist("Set-Cookie")
        assert not [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")]
