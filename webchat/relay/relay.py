"""The relay: visitors' chats between the sockets, the store and ServicePattern.

Routes and sockets call it; it wires the domain's parts, each handed only the collaborators it
uses: identities (cookie jars), the chat log (numbering, state, history), the sender (exactly
once), files, and this process's poll loops (one per chat). What it does itself is finding and
starting a visitor's chat.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..servicepattern import ChatInfo, ServicePatternClient, UpstreamError
from ..store import Store, StoreError
from .backoff import RetryPolicy
from .chatlog import MAX_EVENTS, ChatLog
from .files import Files
from .identities import Identities
from .loops import PollLoops
from .sending import Sender
from .tenant import Cached

log = logging.getLogger(__name__)


def _pointer(info: ChatInfo, user_agent: str | None) -> dict[str, Any]:
    """What the store keeps as the visitor's current chat."""
    return {
        "chat_id": info.chat_id,
        "state": info.state,
        "ewt": info.ewt,
        "ended": False,
        "user_agent": user_agent,
    }


class Relay:
    """Everything a visitor can do with their chat, independent of HTTP and WebSockets."""

    def __init__(
        self,
        store: Store,
        client: ServicePatternClient,
        *,
        availability_ttl: float = 5.0,
        parameters_ttl: float = 60.0,
        send_attempts: int = 3,
        retry_base: float = 0.5,
        retry_cap: float = 15.0,
        lease_ttl: float = 10.0,
        claim_ttl: float | None = None,
        idle_poll: float = 120.0,
        log_max_events: int = MAX_EVENTS,
    ) -> None:
        self.store = store
        self.client = client
        self.retry = RetryPolicy(send_attempts, retry_base, retry_cap)
        self.availability = Cached(client.check_availability, availability_ttl, "notAvailable")
        self.parameters: Cached[list[dict[str, str]]] = Cached(
            client.expected_parameters, parameters_ttl, []
        )
        self.identities = Identities(store)
        self.chatlog = ChatLog(store, client, self.identities, log_max_events)
        self.sender = Sender(store, client, self.identities, self.chatlog, self.retry, claim_ttl)
        self.chatlog.on_ended = self.sender.forget
        self.files = Files(store, client, self.identities, self.chatlog, self.sender)
        self.loops = PollLoops(
            store,
            client,
            self.identities,
            self.chatlog,
            self.retry,
            uuid.uuid4().hex,
            lease_ttl,
            idle_poll,
        )

    @property
    def on_logged(self) -> Callable[[int], Any] | None:
        """Called with the number of events each time some are numbered (metrics)."""
        return self.chatlog.on_logged

    @on_logged.setter
    def on_logged(self, callback: Callable[[int], Any] | None) -> None:
        self.chatlog.on_logged = callback

    # -- chats -------------------------------------------------------------------------------

    def current_chat(self, visitor_id: str, user_agent: str | None = None) -> dict[str, Any] | None:
        """The visitor's chat, with its poll loop running and its log present if it is live."""
        chat = self.store.get_chat(visitor_id)
        if chat is None and self.store.get_cookies(visitor_id):
            chat = self._find_active(visitor_id, user_agent)
        if chat and not chat.get("ended") and user_agent and chat.get("user_agent") != user_agent:
            changes = {"user_agent": user_agent}
            chat = self.store.update_chat(visitor_id, chat["chat_id"], changes) or chat
        if chat and not chat.get("ended"):
            rebuilt = self.store.last_seq(chat["chat_id"]) == 0
            if rebuilt:
                self.chatlog.reconcile(visitor_id, chat["chat_id"])
                chat = self.store.get_chat(visitor_id) or chat
            if not chat.get("ended"):
                # A loop started now (its chat went unpolled while no tab was open, or this
                # process is new) first catches up from history on what it may have missed.
                self.loops.ensure(visitor_id, chat["chat_id"], reconcile=not rebuilt)
        return chat

    def _find_active(self, visitor_id: str, user_agent: str | None) -> dict[str, Any] | None:
        """The store lost the pointer but ServicePattern may still know the chat by cookie."""
        who = self.identities.load(visitor_id, user_agent)
        try:
            info = self.client.get_active_chat(who)
        except UpstreamError as error:
            log.warning("get active chat failed: %s", error.message)
            return None
        finally:
            self.identities.save(visitor_id, who)
        if info is None:
            return None
        chat = _pointer(info, user_agent)
        self.store.set_chat(visitor_id, chat)
        return chat

    def start_chat(
        self,
        visitor_id: str,
        parameters: dict[str, str],
        phone_number: str | None = None,
        from_: str | None = None,
        user_agent: str | None = None,
    ) -> dict[str, Any]:
        """Request Chat; the visitor's live chat comes back instead when there is one."""
        who = self.identities.load(visitor_id, user_agent)
        backoff = self.retry.backoff()
        for attempt in range(self.retry.attempts):
            try:
                info = self.client.request_chat(who, parameters, phone_number, from_)
                break
            except UpstreamError as error:
                self.identities.save(visitor_id, who)
                if not error.transient or attempt + 1 == self.retry.attempts:
                    raise
                time.sleep(backoff.next_delay())
        self.identities.save(visitor_id, who)
        chat = _pointer(info, user_agent)
        self.store.set_chat(visitor_id, chat)
        if not info.is_new_chat and self.store.last_seq(info.chat_id) == 0:
            self.chatlog.reconcile(visitor_id, info.chat_id)
        chat = self.store.get_chat(visitor_id) or chat
        if not chat.get("ended"):
            self.loops.ensure(visitor_id, info.chat_id)
        self.store.publish(visitor_id, {"kind": "state", "chat_id": info.chat_id})
        return chat

    def send(
        self, visitor_id: str, send_id: str, event: dict[str, Any], user_agent: str | None = None
    ) -> None:
        """Post one client event exactly once per `send_id` (see webchat.relay.sending)."""
        self.sender.send(visitor_id, send_id, event, user_agent)

    # -- poll loops ------------------------------------------------------------------------

    def wake(self, chat_id: str) -> None:
        """A lease was given back: a standby loop for the chat here tries to take it now, or,
        with none here but a socket of its visitor open, a new loop takes the chat over (its
        holder stopped because no tab of its own was open)."""
        if self.loops.wake(chat_id):
            return
        try:
            visitor_id = self.store.chat_owner(chat_id)
            if visitor_id is None or not self.store.has_listeners(visitor_id):
                return
            chat = self.store.get_chat(visitor_id)
        except StoreError as error:
            log.warning("could not take over chat %s: %s", chat_id, error)
            return
        if chat and chat.get("chat_id") == chat_id and not chat.get("ended"):
            self.loops.ensure(visitor_id, chat_id, reconcile=True)

    def polling(self) -> list[str]:
        """Chat ids polled by this process now."""
        return self.loops.polling()

    def close(self, wait: float = 0.0) -> None:
        """Stop every loop; each ends after its current poll, waited for up to `wait` s."""
        self.loops.close(wait)
