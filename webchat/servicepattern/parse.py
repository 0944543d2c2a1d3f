"""Tolerant parsing of ServicePattern answers, where the sources disagree.

See docs/servicepattern-api.md: timestamps arrive as seconds or milliseconds, strings or numbers;
`ewt` as a string or a number or not at all; expected parameters as `{name, type}` or
`{name: TYPE}`; availability as `notAvailable` or `unavailable`; bodies may be empty.
Everything here is pure, so it is tested by tables and by property-based tests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import UpstreamError

MS_THRESHOLD = 100_000_000_000  # 1e11 s is the year 5138; anything above is milliseconds
PARAMETER_TYPES = {"PHONE", "TEXT", "EMAIL", "FIRST_NAME", "LAST_NAME", "ACCOUNT", "COMPANY"}


@dataclass(frozen=True)
class ChatInfo:
    """What Request Chat and Get Active Chat answer."""

    chat_id: str
    state: str
    ewt: int | None
    is_new_chat: bool
    phone_number: str | None = None


def parse_body(text: str | bytes, status: int) -> dict[str, Any]:
    """A JSON object from a body; an empty body is an empty object; anything else is garbage."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        raise UpstreamError(
            "ServicePattern answered with a body that is not JSON", status
        ) from None
    if not isinstance(body, dict):
        raise UpstreamError("ServicePattern answered with JSON that is not an object", status)
    return body


def _seconds(value: Any) -> float | None:
    """A finite, non-negative number from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return value


def parse_timestamp(value: Any) -> str | None:
    """UNIX seconds as a string of digits (the form every shipped client reads), or None."""
    seconds = _seconds(value)
    if seconds is None:
        return None
    if seconds >= MS_THRESHOLD:
        seconds = seconds / 1000
    return str(int(seconds))


def parse_ewt(value: Any) -> int | None:
    """Estimated wait in whole seconds, from a string or a number; None if absent or nonsense."""
    seconds = _seconds(value)
    return None if seconds is None else int(round(seconds))


def parse_availability(body: dict[str, Any]) -> str:
    """'available' only when the chat service says exactly that; anything else is unavailable."""
    value = body.get("chat")
    return (
        "available" if isinstance(value, str) and value.strip() == "available" else "notAvailable"
    )


def parse_parameters(body: dict[str, Any] | list[Any]) -> list[dict[str, str]]:
    """Expected parameters as `[{"name", "type"}]`, accepting both documented element shapes."""
    items = body.get("parameters") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return []
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("name"), str) and isinstance(item.get("type"), str):
            pairs = [(item["name"], item["type"])]
        else:
            pairs = [(k, v) for k, v in item.items() if isinstance(k, str) and isinstance(v, str)]
        for name, kind in pairs:
            name, kind = name.strip(), kind.strip().upper()
            if name and name not in seen:
                seen.add(name)
                result.append({"name": name, "type": kind if kind in PARAMETER_TYPES else "TEXT"})
    return result


def parse_chat_info(body: dict[str, Any], status: int) -> ChatInfo:
    """Request Chat / Get Active Chat; a reply without a chat id is garbage."""
    chat_id = body.get("chat_id")
    if isinstance(chat_id, int) and not isinstance(chat_id, bool):
        chat_id = str(chat_id)
    if not isinstance(chat_id, str) or not chat_id.strip():
        raise UpstreamError("ServicePattern answered without a chat_id", status)
    state = body.get("state")
    phone = body.get("phone_number")
    is_new = body.get("is_new_chat", True)
    if isinstance(is_new, str):
        is_new = is_new.strip().lower() != "false"
    return ChatInfo(
        chat_id=chat_id.strip(),
        state=state if isinstance(state, str) and state else "queued",
        ewt=parse_ewt(body.get("ewt")),
        is_new_chat=bool(is_new),
        phone_number=phone if isinstance(phone, str) else None,
    )


def is_http_url(value: Any) -> bool:
    """Whether `value` is an absolute http(s) URL: the only kind a chat may show as a link.

    urlsplit drops the tabs, newlines and leading blanks a browser ignores too, so
    " java\tscript:" is seen as the javascript: it is.
    """
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def normalize_event(raw: Any) -> dict[str, Any] | None:
    """One server event with stable types, or None when it is not an event at all.

    Unknown event types pass through (the widget ignores what it does not know); known fields
    get one shape: `timestamp` a string of seconds, `ewt` whole seconds, ids as strings, and a
    `url` that is not http(s) (javascript:, data:) is dropped before it can become a link.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("event"), str) or not raw["event"]:
        return None
    event = dict(raw)
    if "timestamp" in event:
        ts = parse_timestamp(event["timestamp"])
        if ts is None:
            del event["timestamp"]
        else:
            event["timestamp"] = ts
    if "ewt" in event:
        event["ewt"] = parse_ewt(event["ewt"])
    for key in ("party_id", "msg_id", "file_id", "form_request_id"):
        value = event.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            event[key] = str(value)
    if "url" in event and not is_http_url(event["url"]):
        del event["url"]
    # Bright Pattern's legacy Android client reads `session_id` where `party_id` belongs on
    # files, after an old server bug.
    if event["event"] == "chat_session_file" and "party_id" not in event and "session_id" in event:
        event["party_id"] = str(event["session_id"])
    return event


def parse_events(body: dict[str, Any], status: int) -> list[dict[str, Any]]:
    """The `{"events": [...]}` envelope (or an empty body) as a list of normalized events."""
    items = body.get("events", [])
    if items is None:
        return []
    if not isinstance(items, list):
        raise UpstreamError("ServicePattern answered with `events` that is not a list", status)
    events = [normalize_event(item) for item in items]
    return [event for event in events if event is not None]


def parse_error(text: str | bytes, status: int) -> UpstreamError:
    """An HTTP error answer as UpstreamError, reading `error_code` whether string or number."""
    code: str | None = None
    message = f"ServicePattern answered HTTP {status}"
    try:
        body = parse_body(text, status)
    except UpstreamError:
        body = {}
    raw_code = body.get("error_code")
    if isinstance(raw_code, int | str) and not isinstance(raw_code, bool) and str(raw_code).strip():
        code = str(raw_code).strip()
    if isinstance(body.get("error_message"), str) and body["error_message"].strip():
        message = f"{message}: {body['error_message'].strip()[:300]}"
    return UpstreamError(message, status, code)
