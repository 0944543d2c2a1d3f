"""Browser → server frames: parsed and validated before anything is done with them.

The server never forwards what a browser sends: it builds each ServicePattern client event
from validated fields only, so a tab cannot smuggle fields or events upstream.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..servicepattern.parse import is_http_url

MAX_ID = 100
MAX_PARAMS = 50
MAX_PARAM_VALUE = 1000
MAX_URL = 2048
# The deepest valid frame nests three levels (send > event > data); this leaves room and stops
# a frame of nested brackets before it costs more than a glance.
MAX_DEPTH = 8
# A browser's session description with audio and video runs to a few kilobytes.
MAX_SDP = 32_000
MAX_CANDIDATE = 1000
# Call signalling a visitor's page may send (`chat_session_signaling` data.type), each with the
# fields it carries; a callback or SMS request carries a phone number.
SIGNALS = {
    "REQUEST_CALL",
    "OFFER_CALL",
    "ANSWER_CALL",
    "ICE_CANDIDATE",
    "END_CALL",
    "CALL_STATE",
    "REQUEST_PHONE_CALL",
    "REQUEST_SMS",
}
# What people type around the digits of a phone number; what is left must be 4 to 15 digits,
# with an optional leading + (E.164 at most).
PHONE_PUNCTUATION = re.compile(r"[\s().\-\u00a0]")
PHONE = re.compile(r"\+?[0-9]{4,15}")


class FrameError(ValueError):
    """A refused frame: answered with an `error` frame, the socket stays open."""

    def __init__(self, code: str, message: str, frame_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.frame_id = frame_id


@dataclass
class Frame:
    """One validated frame; `event` is the outbound ServicePattern event for `send`."""

    type: str
    after: int = 0
    chat_id: str | None = None
    id: str | None = None
    event: dict[str, Any] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)
    phone_number: str | None = None
    from_: str | None = None


def _text(value: Any, name: str, limit: int, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise FrameError("invalid_event", f"{name} must be a string")
    if len(value) > limit:
        raise FrameError("too_long", f"{name} is longer than {limit} characters")
    if required and not value.strip():
        raise FrameError("invalid_event", f"{name} must not be empty")
    return value


def _coordinate(value: Any, name: str, bound: float) -> str:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise FrameError("invalid_event", f"{name} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FrameError("invalid_event", f"{name} must be a number")
    if abs(value) > bound:
        raise FrameError("invalid_event", f"{name} is out of range")
    return f"{value:.6f}"


def _http_url(value: Any, name: str, *, required: bool = False) -> str | None:
    """An absolute http(s) URL: the only kind an agent's desktop may show as a link."""
    url = _text(value, name, MAX_URL, required=required)
    if url and not is_http_url(url):
        raise FrameError("invalid_event", f"{name} must be an http(s) URL")
    return url


def _flag(value: Any, name: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FrameError("invalid_event", f"{name} must be true or false")
    return value


def phone_number(value: Any) -> str:
    """A callback or SMS number: digits with an optional leading +, punctuation removed."""
    text = _text(value, "number", 40, required=True) or ""
    number = PHONE_PUNCTUATION.sub("", text)
    if not PHONE.fullmatch(number):
        raise FrameError("invalid_event", "number must be a phone number (4 to 15 digits)")
    return number


def signal_data(raw: Any) -> dict[str, Any]:
    """The `data` of a visitor's chat_session_signaling, rebuilt from the fields its type
    carries (docs/protocol.md, Calls): nothing else reaches the agent."""
    if not isinstance(raw, dict) or raw.get("type") not in SIGNALS:
        raise FrameError("invalid_event", "data.type must be one of " + ", ".join(sorted(SIGNALS)))
    kind = raw["type"]
    data: dict[str, Any] = {"type": kind}
    if kind in ("REQUEST_CALL", "OFFER_CALL"):
        data["offerVideo"] = _flag(raw.get("offerVideo"), "offerVideo")
    if kind in ("OFFER_CALL", "ANSWER_CALL"):
        data["sdp"] = _text(raw.get("sdp"), "sdp", MAX_SDP, required=True)
    elif kind == "ICE_CANDIDATE":
        data["candidate"] = _text(raw.get("candidate"), "candidate", MAX_CANDIDATE) or ""
        data["sdpMid"] = _text(raw.get("sdpMid"), "sdpMid", MAX_ID)
        index = raw.get("sdpMLineIndex")
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 64
        ):
            raise FrameError("invalid_event", "sdpMLineIndex must be a small whole number")
        data["sdpMLineIndex"] = index
    elif kind == "CALL_STATE":
        data["audioEnabled"] = _flag(raw.get("audioEnabled"), "audioEnabled")
        data["videoEnabled"] = _flag(raw.get("videoEnabled"), "videoEnabled")
    elif kind in ("REQUEST_PHONE_CALL", "REQUEST_SMS"):
        data["number"] = phone_number(raw.get("number"))
    return data


def _too_deep(value: Any, depth: int = 1) -> bool:
    """Whether `value` nests containers deeper than MAX_DEPTH (stops looking once it does)."""
    if depth > MAX_DEPTH:
        return isinstance(value, dict | list)
    if isinstance(value, dict):
        return any(_too_deep(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return any(_too_deep(item, depth + 1) for item in value)
    return False


def client_event(raw: Any, max_chars: int, typing_preview: bool = False) -> dict[str, Any]:
    """The ServicePattern client event to post, built from a browser's `send.event`.

    With `typing_preview` (TYPING_PREVIEW), chat_session_typing carries the visitor's draft as
    `msg`, as Bright Pattern's newer browser client sends it; otherwise a draft is dropped.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
        raise FrameError("invalid_event", "event must be an object with an `event` name")
    name = raw["event"]
    if name == "chat_session_message":
        msg = _text(raw.get("msg"), "msg", max_chars, required=True)
        return {"event": name, "msg": msg}
    if name == "chat_session_typing" and typing_preview and isinstance(raw.get("msg"), str):
        return {"event": name, "msg": raw["msg"][:max_chars]}  # a draft: cut, never refused
    if name in ("chat_session_typing", "chat_session_not_typing"):
        return {"event": name}
    if name in ("chat_session_end", "chat_session_disconnect"):
        return {"event": name}
    if name == "chat_session_form_data":
        request_id = raw.get("form_request_id")
        if isinstance(request_id, int) and not isinstance(request_id, bool):
            request_id = str(request_id)
        request_id = _text(request_id, "form_request_id", MAX_ID, required=True)
        form_name = _text(raw.get("form_name", ""), "form_name", MAX_ID) or ""
        data = raw.get("data")
        if not isinstance(data, dict) or len(data) > MAX_PARAMS:
            raise FrameError("invalid_event", f"data must be an object of at most {MAX_PARAMS}")
        clean = {}
        for key, value in data.items():
            if isinstance(value, bool | int | float) and not isinstance(value, str):
                value = json.dumps(value)
            clean[_text(key, "data key", MAX_ID, required=True)] = (
                _text(value, f"data.{key}", max_chars, required=False) or ""
            )
        return {"event": name, "form_request_id": request_id, "form_name": form_name, "data": clean}
    if name == "chat_session_navigation":
        page = _http_url(raw.get("page"), "page", required=True)
        title = _text(raw.get("title", ""), "title", 500) or ""
        return {"event": name, "page": page, "title": title}
    if name == "chat_session_location":
        event = {
            "event": name,
            "latitude": _coordinate(raw.get("latitude"), "latitude", 90),
            "longitude": _coordinate(raw.get("longitude"), "longitude", 180),
        }
        url = _http_url(raw.get("url"), "url")
        if url:
            event["url"] = url
        return event
    if name == "chat_session_signaling":
        party = _text(raw.get("destination_party_id"), "destination_party_id", MAX_ID, True)
        return {"event": name, "destination_party_id": party, "data": signal_data(raw.get("data"))}
    raise FrameError("unknown_event", f"unknown or not allowed event {name[:60]!r}")


def parse_frame(raw: str | bytes | None, max_chars: int, typing_preview: bool = False) -> Frame:
    """Validate one WebSocket message; raise FrameError with a code the widget can act on."""
    if not isinstance(raw, str):
        raise FrameError("invalid_frame", "frames must be JSON text")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FrameError("invalid_json", "the frame is not valid JSON") from None
    except RecursionError:  # the parser's own stack limit: only hostile frames get there
        raise FrameError("invalid_json", "the frame nests too deeply") from None
    # Counting brackets (in C) spares ordinary frames the walk: too few to nest too deeply.
    if raw.count("[") + raw.count("{") > MAX_DEPTH and _too_deep(data):
        raise FrameError("invalid_json", "the frame nests too deeply")
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise FrameError("invalid_frame", "a frame is a JSON object with a string `type`")
    kind = data["type"]
    if kind == "ping":
        return Frame("ping")
    if kind == "hello":
        after = data.get("after", 0)
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise FrameError("invalid_frame", "hello.after must be a whole number >= 0")
        chat_id = _text(data.get("chat_id"), "chat_id", MAX_ID)
        return Frame("hello", after=after, chat_id=chat_id or None)
    if kind == "start":
        params = data.get("parameters") or {}
        if not isinstance(params, dict) or len(params) > MAX_PARAMS:
            raise FrameError(
                "invalid_frame", f"parameters must be an object of at most {MAX_PARAMS}"
            )
        clean = {}
        for key, value in params.items():
            if not isinstance(key, str) or not key or len(key) > MAX_ID:
                raise FrameError("invalid_frame", "parameter names must be short strings")
            if not isinstance(value, str) or len(value) > MAX_PARAM_VALUE:
                raise FrameError("invalid_frame", f"parameter {key[:40]!r} must be a short string")
            clean[key] = value.strip()
        return Frame(
            "start",
            parameters=clean,
            phone_number=(_text(data.get("phone_number"), "phone_number", 40) or "").strip()
            or None,
            from_=(_text(data.get("from"), "from", 200) or "").strip() or None,
        )
    if kind == "send":
        frame_id = data.get("id")
        if not isinstance(frame_id, str) or not frame_id.strip() or len(frame_id) > MAX_ID:
            raise FrameError(
                "invalid_frame", f"send.id must be a string of 1 to {MAX_ID} characters"
            )
        try:
            event = client_event(data.get("event"), max_chars, typing_preview)
        except FrameError as error:
            error.frame_id = frame_id
            raise
        return Frame("send", id=frame_id, event=event)
    raise FrameError("unknown_type", f"unknown frame type {kind[:40]!r}")
