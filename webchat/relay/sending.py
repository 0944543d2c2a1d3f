"""Sending client events: each `send` id posted once, in order per chat, retried through
short outages; the visitor's own messages logged so every tab shows them."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from ..servicepattern import UpstreamError
from .backoff import Backoff
from .events import own_message
from .frames import FrameError

if TYPE_CHECKING:
    from .relay import Relay

NO_RETRY = {"chat_session_typing", "chat_session_not_typing"}  # stale by the time a retry lands
WITH_MSG_ID = {"chat_session_message", "chat_session_navigation", "chat_session_location"}


class Sender:
    """Posts client events for a relay; one lock per chat keeps sends in order."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._locks: dict[str, threading.Lock] = {}

    def lock(self, chat_id: str) -> threading.Lock:
        """The chat's send lock (created once, atomically)."""
        return self._locks.setdefault(chat_id, threading.Lock())

    def forget(self, chat_id: str) -> None:
        """The chat ended: its lock is no longer needed."""
        self._locks.pop(chat_id, None)

    def send(
        self, visitor_id: str, send_id: str, event: dict[str, Any], user_agent: str | None = None
    ) -> None:
        """Post one client event exactly once per `send_id`; messages are logged for all tabs."""
        relay = self.relay
        chat_id = relay.live_chat(visitor_id)["chat_id"]
        with self.lock(chat_id):
            if relay.store.was_sent(chat_id, send_id):
                return
            outbound = dict(event)
            if outbound["event"] in WITH_MSG_ID:
                outbound["msg_id"] = send_id
            piggyback = self.post(visitor_id, chat_id, outbound, user_agent)
            logged = []
            if outbound["event"] == "chat_session_message":
                logged.append(own_message(chat_id, send_id, outbound["msg"]))
            relay.store.mark_sent(chat_id, send_id)
            relay.record(visitor_id, chat_id, logged + piggyback)

    def post(
        self, visitor_id: str, chat_id: str, event: dict[str, Any], user_agent: str | None
    ) -> list[dict[str, Any]]:
        """Send Events with retries; returns the server events piggy-backed on the reply."""
        relay = self.relay
        attempts = 1 if event["event"] in NO_RETRY else relay.send_attempts
        backoff = Backoff(relay.retry_base, relay.retry_cap)
        who = relay.identity(visitor_id, user_agent)
        failed = False
        try:
            for attempt in range(attempts):
                try:
                    replies = relay.client.send_events(who, chat_id, [event])
                except UpstreamError as error:
                    if error.gone:
                        relay.end_chat(visitor_id, chat_id, reason="not_found")
                        raise FrameError("chat_ended", "this chat has ended") from None
                    if not error.transient or attempt + 1 == attempts:
                        raise
                    if not failed:
                        failed = True
                        relay.announce(visitor_id, "retrying")
                    time.sleep(backoff.next_delay())
                    continue
                if failed:
                    relay.announce(visitor_id, "ok")
                return replies
        finally:
            relay.save_identity(visitor_id, who)
        return []  # pragma: no cover - the loop either returns or raises
