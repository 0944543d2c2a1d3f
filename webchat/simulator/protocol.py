"""Strict checks on what the client sends: the Authorization header and client events."""

from __future__ import annotations

import re
from typing import Any

from .errors import ApiError

SCHEME = "MOBILE-API-140-327-PLAIN"
# v1 form only: the values are quoted, separated by ", ".
_AUTH_RE = re.compile(rf'^{SCHEME} appId="([^"\s]+)", clientId="([^"\s]+)"$')

# v1 client events and the fields each must carry (values may be empty strings).
CLIENT_EVENTS: dict[str, tuple[str, ...]] = {
    "chat_session_message": ("msg_id", "msg"),
    "chat_session_typing": (),
    "chat_session_not_typing": (),
    # file_name is optional: Bright Pattern's legacy Android client sends none.
    "chat_session_file": ("msg_id", "file_id", "file_type"),
    "chat_session_form_data": ("form_request_id", "form_name", "data"),
    "chat_session_end": (),
    "chat_session_disconnect": (),
    "chat_session_navigation": ("page",),
    "chat_session_location": ("latitude", "longitude"),
    "chat_session_signaling": ("destination_party_id", "data"),
}
FILE_TYPES = ("image", "attachment")


def parse_auth(header: str | None, app_id: str) -> str:
    """Return the clientId, or raise the 401 the real server would send."""
    if header is None:
        raise ApiError(401, "2000", "Authorization header missing", "missing Authorization header")
    match = _AUTH_RE.match(header)
    if match is None:
        problem = f"malformed Authorization: {header!r}"
        raise ApiError(401, "2001", "Authorization parameters malformed", problem)
    if match.group(1) != app_id:
        raise ApiError(
            401, "3000", "Unknown appId", f"unknown appId {match.group(1)!r} in Authorization"
        )
    return match.group(2)


def check_client_event(event: Any) -> list[str]:
    """Problems with one client event (empty list when it is well formed)."""
    if not isinstance(event, dict):
        return [f"client event is not an object: {event!r}"]
    name = event.get("event")
    if name not in CLIENT_EVENTS:
        return [f"unknown client event {name!r}"]
    problems = [f"{name} lacks {key!r}" for key in CLIENT_EVENTS[name] if key not in event]
    if name == "chat_session_file" and event.get("file_type") not in FILE_TYPES:
        problems.append(f"chat_session_file has file_type {event.get('file_type')!r}")
    if name == "chat_session_message" and not isinstance(event.get("msg"), str):
        problems.append("chat_session_message msg is not a string")
    if name == "chat_session_form_data" and not isinstance(event.get("data"), dict):
        problems.append("chat_session_form_data data is not an object")
    return problems
