"""What the relay needs to know about events: identity for de-duplication, and endings."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from typing import Any

TERMINAL_EVENTS = {"chat_session_ended", "chat_session_inactivity_timeout"}
# `completed` is not an end: after a soft end (chat_session_disconnect) the scenario may still
# show a survey form; the chat ends with chat_session_ended. Bright Pattern's browser client
# ends a chat on `failed` only.
TERMINAL_STATES = {"failed"}
SIGNALING = "chat_session_signaling"
# The visitor's signals every tab must know of (a call answered or ended in one tab is no longer
# offered in another; a callback asked for is shown), logged without their session description.
# Network candidates and camera states matter only to the tab in the call: not logged.
LOGGED_SIGNALS = {
    "REQUEST_CALL",
    "OFFER_CALL",
    "ANSWER_CALL",
    "END_CALL",
    "REQUEST_PHONE_CALL",
    "REQUEST_SMS",
}
# After these no earlier offer of a call may be answered.
CALL_CLOSERS = {"ANSWER_CALL", "END_CALL", "CALL_REJECTED"}
# The chat pointer's fields for when the visitor last answered or ended a call, and for the
# agent's offer that was the latest by then (its msg_id): timestamps are whole seconds, so an
# offer made in the same second as the visitor's hang-up is told apart by coming after it.
CALL_CLOSED = "call_closed"
CALL_CLOSED_OFFER = "call_closed_offer"


def event_key(event: dict[str, Any]) -> str | None:
    """A key that identifies the same message or file however often it arrives, else None.

    Servers have been seen delivering one message many times (the v2 Android SDK's 2.0.0
    changelog), and the visitor's own messages are logged by us on send and may come back from
    ServicePattern as echoes.
    """
    msg_id = event.get("msg_id")
    if event.get("event") in ("chat_session_message", "chat_session_file", SIGNALING) and msg_id:
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


def own_signal(chat_id: str, msg_id: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The visitor's signal as a logged event (none for those only the calling tab needs)."""
    if data.get("type") not in LOGGED_SIGNALS:
        return []
    kept = {k: v for k, v in data.items() if k not in ("sdp", "candidate")}
    return [
        {
            "event": SIGNALING,
            "msg_id": msg_id,
            "party_id": chat_id,
            "data": kept,
            "timestamp": now_timestamp(),
        }
    ]


def _signal(event: dict[str, Any]) -> str:
    data = event.get("data")
    return str(data.get("type", "")) if isinstance(data, dict) else ""


def last_offer_id(events: Iterable[dict[str, Any]], chat_id: str | None) -> str | None:
    """The msg_id of the agent's latest offer of a call among `events`, if any."""
    offer = None
    for event in events:
        agent = event.get("party_id") != chat_id
        if event.get("event") == SIGNALING and agent and _signal(event) == "OFFER_CALL":
            offer = event.get("msg_id")
    return str(offer) if offer is not None else None


def pending_offer(
    events: list[dict[str, Any]],
    chat_id: str | None,
    closed_at: str | None = None,
    closed_offer: str | None = None,
) -> list[dict[str, Any]]:
    """The agent's last offer of a call that nobody answered, rejected or ended yet, with the
    network candidates the agent sent after it: what a page rebuilt from history still needs
    to ring. Every other signal of the past is dropped: an answered or ended call is over.

    History may leave out the visitor's own signals (the reference clients skip signalling
    there): `closed_at`, the time the visitor last answered or ended a call (kept with the
    chat's pointer), closes every offer made up to then as well, except one made in that same
    second after `closed_offer`, the offer that was the latest when the visitor closed."""
    pending: list[dict[str, Any]] = []
    closed = int(closed_at or 0)
    passed = False  # closed_offer seen: offers after it in the same second are new
    for event in events:
        if event.get("event") != SIGNALING:
            continue
        kind, agent = _signal(event), event.get("party_id") != chat_id
        if kind == "OFFER_CALL" and agent:
            at = int(event.get("timestamp") or 0)
            if closed_offer is not None and event.get("msg_id") == closed_offer:
                passed, pending = True, []
                continue
            pending = [event] if at > closed or (at == closed and passed) else []
        elif kind == "ICE_CANDIDATE" and agent and pending:
            pending.append(event)
        elif kind in CALL_CLOSERS:
            pending = []
    return pending


def sort_history(
    events: list[dict[str, Any]],
    chat_id: str | None = None,
    closed_at: str | None = None,
    closed_offer: str | None = None,
) -> list[dict[str, Any]]:
    """History in time order (stable). Signalling is dropped, as the reference clients do,
    except an offer still waiting for an answer (`pending_offer`)."""
    ordered = sorted(events, key=lambda e: int(e.get("timestamp") or 0))
    ringing = {id(e) for e in pending_offer(ordered, chat_id, closed_at, closed_offer)}
    return [e for e in ordered if e.get("event") != SIGNALING or id(e) in ringing]
