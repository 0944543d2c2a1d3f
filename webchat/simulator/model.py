"""Records the simulator keeps: clients, chats, files, and the server-event builders."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

Event = dict[str, Any]


def now_ts() -> str:
    """Event timestamps are UNIX seconds in a string, as every shipped client expects."""
    return str(int(time.time()))


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Client:
    """One API client. ``key`` is "cookie:<SPCLIENT>" for WebChat, else "id:<clientId>"."""

    key: str
    issued: dict[str, str] = field(default_factory=dict)  # cookie name -> value we set
    node_issued_at: float = 0.0  # monotonic time SPNODE was first set
    active_chat: str | None = None


@dataclass
class FileRecord:
    """An uploaded (``uploader`` set) or agent-sent (``chat_id`` set) file."""

    file_id: str
    file_name: str
    content_type: str
    data: bytes
    uploader: str | None = None
    chat_id: str | None = None


@dataclass
class Chat:
    """A chat session: what the client sent, what the server emitted, and delivery state."""

    chat_id: str
    owner: str
    request_body: dict[str, Any]
    agent_party_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    state: str = "queued"
    created: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)  # every server event
    pending: list[Event] = field(default_factory=list)  # server events not yet delivered
    history: list[Event] = field(default_factory=list)  # server events + echoed client events
    client_events: list[Event] = field(default_factory=list)
    parties: dict[str, str] = field(default_factory=dict)  # party_id -> type
    polls_in_flight: int = 0
    ended: bool = False
    agent_joined: bool = False
    agent_left: bool = False
    disconnected: bool = False
    msg_counter: int = 0
    agent_page_seen: float = 0.0  # monotonic time an agent page last asked for signals

    @property
    def live(self) -> bool:
        return not self.ended

    @property
    def gone(self) -> bool:
        """Ended and fully delivered: the session no longer exists for the client."""
        return self.ended and not self.pending

    def next_msg_id(self) -> str:
        self.msg_counter += 1
        return f"{self.chat_id}:a{self.msg_counter}"

    def customer_first_name(self) -> str:
        params = self.request_body.get("parameters")
        if isinstance(params, dict) and isinstance(params.get("first_name"), str):
            return params["first_name"].strip()
        return ""


def status_event(state: str, ewt: str) -> Event:
    return {"event": "chat_session_status", "state": state, "ewt": ewt}


def party_joined(party_id: str, first: str, last: str, kind: str = "internal") -> Event:
    return {
        "event": "chat_session_party_joined",
        "party_id": party_id,
        "first_name": first,
        "last_name": last,
        "display_name": f"{first} {last}".strip(),
        "type": kind,
        "timestamp": now_ts(),
    }


def party_left(party_id: str) -> Event:
    return {"event": "chat_session_party_left", "party_id": party_id, "timestamp": now_ts()}


def typing(party_id: str, on: bool) -> Event:
    name = "chat_session_typing" if on else "chat_session_not_typing"
    return {"event": name, "party_id": party_id}


def message(msg_id: str, party_id: str, text: str) -> Event:
    return {
        "event": "chat_session_message",
        "msg_id": msg_id,
        "party_id": party_id,
        "msg": text,
        "timestamp": now_ts(),
    }


def file_event(msg_id: str, party_id: str, file_id: str, file_type: str, name: str) -> Event:
    return {
        "event": "chat_session_file",
        "msg_id": msg_id,
        "party_id": party_id,
        "file_id": file_id,
        "file_type": file_type,
        "file_name": name,
        "timestamp": now_ts(),
    }


def form_show(form_request_id: str, form_name: str, form_timeout: str = "120") -> Event:
    return {
        "event": "chat_session_form_show",
        "form_request_id": form_request_id,
        "form_name": form_name,
        "form_timeout": form_timeout,
    }


def signaling(msg_id: str, party_id: str, data: dict[str, Any]) -> Event:
    return {
        "event": "chat_session_signaling",
        "msg_id": msg_id,
        "party_id": party_id,
        "data": data,
        "timestamp": now_ts(),
    }


def ended() -> Event:
    return {"event": "chat_session_ended"}


def timeout_warning(text: str) -> Event:
    return {"event": "chat_session_timeout_warning", "msg": text, "timestamp": now_ts()}


def inactivity_timeout(text: str) -> Event:
    return {"event": "chat_session_inactivity_timeout", "msg": text, "timestamp": now_ts()}
