"""What the relay needs to know about events: identity for de-duplication, and endings."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

TERMINAL_EVENTS = {"chat_session_ended", "chat_session_inactivity_timeout"}
TERMINAL_STATES = {"failed", "completed"}
SKIPPED_IN_HISTORY = {"chat_session_signaling"}


def event_key(event: dict[str, Any]) -> str | None:
    """A key that identifies the same message or file however often it arrives, else None.

    Servers have been seen delivering one message many times (the v2 Android SDK's 2.0.0
    changelog), and the visitor's own messages are logged by us on send and may come back from
    ServicePattern as echoes.
    """
    msg_id = event.get("msg_id")
    if event.get("event") in ("chat_session_message", "chat_session_file") and msg_id:
        return f"{event['event']}:{event.get('party_id', '')}:{msg_id}"
    return None


def content_key(event: dict[str, Any]) -> str:
    """A digest of the whole event: recognises an event history returns again after a poll."""
    blob = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    return "c:" + hashlib.blake2b(blob, digest_size=12).hexdigest()


def log_key(event: dict[str, Any]) -> str:
    """What the log remembers an event by: its message identity, else its content."""
    return event_key(event) or content_key(event)


def is_terminal(event: dict[str, Any]) -> bool:
    """True for the events after which the chat no longer exists upstream."""
    name = event.get("event")
    if name in TERMINAL_EVENTS:
        return True
    return name == "chat_session_status" and event.get("state") in TERMINAL_STATES


def now_timestamp() -> str:
    """UNIX seconds as a string, the timestamp form of every logged event."""
    return str(int(time.time()))


def own_message(chat_id: str, msg_id: str, text: str) -> dict[str, Any]:
    """The visitor's message as ServicePattern shows it in history: party_id is the chat id."""
    return {
        "event": "chat_session_message",
        "msg_id": msg_id,
        "party_id": chat_id,
        "msg": text,
        "timestamp": now_timestamp(),
    }


def own_file(chat_id: str, msg_id: str, file_id: str, file_type: str, name: str) -> dict:
    """The visitor's shared file as a logged event, so every tab shows it."""
    return {
        "event": "chat_session_file",
        "msg_id": msg_id,
        "party_id": chat_id,
        "file_id": file_id,
        "file_type": file_type,
        "file_name": name,
        "timestamp": now_timestamp(),
    }


def sort_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """History in time order (stable), signalling dropped, as the reference clients do."""
    kept = [e for e in events if e.get("event") not in SKIPPED_IN_HISTORY]
    return sorted(kept, key=lambda e: int(e.get("timestamp") or 0))
