"""No Flask session: visitors are known by their own signed cookie and token (webchat/visitor.py),
and nothing is kept in Flask's.

Flask would still open a session for every request (reading and verifying its cookie) and
keep the session object for as long as the request lives, which for a chat socket is the whole
chat: about half a KiB for each of thousands of open chats. Every request gets one shared empty
session instead, which refuses writes, so a change that starts using the session fails loudly.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import NullSession, SessionInterface

_EMPTY = NullSession()


class NoSessions(SessionInterface):
    """Flask's session interface, for an app that keeps nothing in the session."""

    def open_session(self, app: Flask, request: Any) -> NullSession:
        return _EMPTY

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        """Nothing to save, and no cookie to set."""
