"""A chat's log and state: numbering events into the log, following the chat's state, and
filling the log from Get Chat History when it was lost.

Every part of the domain that learns events (the poll loop, sends, file shares, history
look-ups) hands them here, so the rules (no message logged twice, the state updated before
the log, an ending finishes the chat) live in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..servicepattern import ServicePatternClient, UpstreamError
from ..store import Store, StoreError
from .errors import ChatEnded, ChatTooLong, NoChat
from .events import CALL_CLOSED, CALL_CLOSED_OFFER, event_key, is_terminal, log_key, sort_history
from .identities import Identities
from .richtext import with_html

log = logging.getLogger(__name__)

ENDED_LOG_TTL = 3600.0
MAX_EVENTS = 2000


class ChatLog:
    """The chats' logs and pointers in the store, kept by the domain's rules."""

    def __init__(
        self,
        store: Store,
        client: ServicePatternClient,
        identities: Identities,
        max_events: int = MAX_EVENTS,
    ) -> None:
        self.store = store
        self.max_events = max_events  # the visitor adds nothing more to a log this long
        self.client = client
        self.identities = identities
        self.on_logged: Callable[[int], Any] | None = None  # metrics: events numbered
        self.on_ended: Callable[[str], Any] | None = None  # the chat's send state may go

    def live(self, visitor_id: str) -> dict[str, Any]:
        """The visitor's chat if it is live, else NoChat or ChatEnded."""
        chat = self.store.get_chat(visitor_id)
        if chat is None:
            raise NoChat()
        if chat.get("ended"):
            raise ChatEnded()
        return chat

    def check_room(self, chat_id: str, last_seq: int | None = None) -> None:
        """ChatTooLong when the log is full: the visitor may not add to it any more.

        The cap holds back only what the visitor adds (messages, files), the one party that can
        grow a log without end; the agent's and the system's events are always logged, so a
        chat is never cut off nor its transcript truncated. The log stays within the cap plus
        what an agent writes. `last_seq`: the log's length, when the caller has just read it.
        """
        if last_seq is None:
            last_seq = self.store.last_seq(chat_id)
        if last_seq >= self.max_events:
            raise ChatTooLong()

    def record(
        self, visitor_id: str, chat_id: str, events: list[dict[str, Any]], strict: bool = False
    ) -> bool:
        """Log events (numbered, published) and follow the chat's state; True when it ended.

        Messages and files are never logged twice. With `strict`, no event whose content is
        already logged is logged again (history and a first poll repeating the log).
        """
        if not events:
            return False
        # An agent's message with markup carries its sanitised HTML in the log: one cleaning,
        # whichever tab or replay shows it.
        events = [with_html(e, chat_id) for e in events]
        # The chat's state first, then the log: a tab that sees an event and asks at once
        # (a reload on "ended") finds the state that event brought.
        ended = any(is_terminal(e) for e in events)
        changes: dict[str, Any] = {"ended": True} if ended else {}
        for status in (e for e in events if e.get("event") == "chat_session_status"):
            if status.get("state"):
                changes["state"] = status["state"]
            changes["ewt"] = status.get("ewt")
        if changes:  # one atomic update: another process's `ended` is never overwritten
            self.store.update_chat(visitor_id, chat_id, changes)
        added = self.store.append(
            chat_id,
            events,
            [log_key(e) for e in events],
            [strict or event_key(e) is not None for e in events],
        )
        if self.on_logged is not None and added:
            self.on_logged(len(added))
        if ended:
            self.store.finish_chat(chat_id, ENDED_LOG_TTL)
            if self.on_ended is not None:
                self.on_ended(chat_id)
        return ended

    def end(self, visitor_id: str, chat_id: str, reason: str) -> None:
        """ServicePattern no longer knows the chat: log an ending so every tab shows it."""
        ending = {"event": "chat_session_ended", "reason": reason, "synthetic": True}
        self.record(visitor_id, chat_id, [ending])

    def gone_reason(self, visitor_id: str, error: UpstreamError) -> str:
        """Why a chat ServicePattern no longer knows ended, as far as we can tell.

        A poll (or the history a returning tab asks for) answered with code 5005 ("not found or
        already ended") on a chat that was still under way means the server closed it while
        no event of ours could say so: in practice its inactivity timeout, which the widget
        words as such ("inactivity"). A plain 404, or a 5005 after the conversation was
        reported `completed`, is only "not_found".
        """
        if error.error_code != "5005":
            return "not_found"
        try:
            chat = self.store.get_chat(visitor_id)
        except StoreError:
            chat = None
        if chat is not None and chat.get("state") == "completed":
            return "not_found"
        return "inactivity"

    def reconcile(self, visitor_id: str, chat_id: str) -> bool:
        """Add to the log whatever Get Chat History has that the log lacks; True if ended.

        Fills a log lost with its process, and after a lease takeover recovers the events the
        previous holder had polled (so ServicePattern will not send them again) but not logged.
        """
        who = self.identities.load(visitor_id)
        try:
            history = self.client.get_chat_history(who, chat_id)
        except UpstreamError as error:
            if error.gone:
                self.end(visitor_id, chat_id, reason=self.gone_reason(visitor_id, error))
                return True
            log.warning("history of chat %s unavailable: %s", chat_id, error.message)
            return False
        finally:
            self.identities.save(visitor_id, who)
        pointer = self.store.get_chat(visitor_id) or {}
        ours = pointer.get("chat_id") == chat_id
        closed = pointer.get(CALL_CLOSED) if ours else None
        offer = pointer.get(CALL_CLOSED_OFFER) if ours else None
        ordered = sort_history(history, chat_id, closed, offer)
        return self.record(visitor_id, chat_id, ordered, strict=True)

    def announce(self, visitor_id: str, status: str) -> None:
        """Tell every socket of the visitor that ServicePattern stopped or resumed answering."""
        try:
            self.store.publish(visitor_id, {"kind": "upstream", "status": status})
        except StoreError as error:
            log.warning("could not announce upstream %s: %s", status, error)
