"""Sending client events: each `send` id posted exactly once, in order per chat, retried
through short outages; the visitor's own messages logged so every tab shows them.

Exactly once, across processes and timeouts:
- A send id is claimed in the store before it is posted (atomically: one claimant wins in any
  process). A resend of an id already posted is acknowledged without posting; a resend of an id
  another holder is posting waits for that outcome (a while, then `upstream`: resend later).
- A claim lapses by itself when its holder dies, so it never blocks a resend for ever.
- A post that may have reached ServicePattern although it failed (no answer, a dropped
  connection, a 5xx) is never simply posted again: its `msg_id` is looked up in Get Chat History
  first, by the same call or by whichever process claims the id next, and posted only if absent.
- Events without a msg_id cannot be looked up. `chat_session_end` and `_disconnect` are posted
  again (a repeat lands on a conversation already ended: harmless); `chat_session_form_data`
  is not (at most once): the tab gets `unconfirmed`, and the id is never posted again.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..servicepattern import ServicePatternClient, UpstreamError
from ..store import Store
from ..store.base import SendClaim
from .backoff import RetryPolicy
from .chatlog import ChatLog
from .errors import ChatEnded, ChatTooLong, SendPending, Unconfirmed
from .events import (
    CALL_CLOSED,
    CALL_CLOSED_OFFER,
    CALL_CLOSERS,
    event_key,
    last_offer_id,
    own_message,
    own_signal,
    sort_history,
)
from .identities import Identities

if TYPE_CHECKING:
    from ..servicepattern import Identity

NO_RETRY = {"chat_session_typing", "chat_session_not_typing"}  # stale by the time a retry lands
WITH_MSG_ID = {
    "chat_session_message",
    "chat_session_navigation",
    "chat_session_location",
    "chat_session_signaling",
}
REPEATABLE = {"chat_session_end", "chat_session_disconnect"}  # a repeat changes nothing
BUSY_WAIT = 5.0  # how long a resend waits for another holder's outcome before `upstream`


def may_have_arrived(error: UpstreamError) -> bool:
    """False only when ServicePattern certainly did not apply the request: nothing of it was
    sent, or it answered with a refusal (a 4xx); no answer, a 5xx or a garbled 200 may hide
    a post that landed."""
    if not getattr(error, "sent", True):
        return False
    return error.status is None or error.status >= 500 or error.status == 200


def default_claim_ttl(client: Any, retry_cap: float) -> float:
    """Long enough for one attempt (a history check and a post) and the backoff before the
    next, when the holder renews its claim: a live holder's claim never lapses under it."""
    try:
        connect, call = client.timeout
        budget = 2 * (float(connect) + float(call))
    except (AttributeError, TypeError, ValueError):
        budget = 30.0
    return budget + retry_cap + 10.0


@dataclass
class Attempt:
    """What posting one event learned: whether some try of it may have reached ServicePattern
    (and so must be looked up in history before another)."""

    may_have_arrived: bool = False


class Sender:
    """Posts client events; one lock per chat keeps sends in order."""

    def __init__(
        self,
        store: Store,
        client: ServicePatternClient,
        identities: Identities,
        chatlog: ChatLog,
        retry: RetryPolicy,
        claim_ttl: float | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.identities = identities
        self.chatlog = chatlog
        self.retry = retry
        self.claim_ttl = claim_ttl or default_claim_ttl(client, retry.cap)
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
        chatlog, store = self.chatlog, self.store
        chat = chatlog.live(visitor_id)
        chat_id = chat["chat_id"]
        outbound = dict(event)
        if outbound["event"] in WITH_MSG_ID:
            outbound["msg_id"] = send_id
        with self.lock(chat_id):
            if outbound["event"] in NO_RETRY:  # never retried nor resent: nothing to claim
                chatlog.record(
                    visitor_id, chat_id, self.post(visitor_id, chat_id, outbound, user_agent)
                )
                return
            holder = uuid.uuid4().hex
            # The claim, the log's length and the visitor's cookies in one store round trip.
            first = store.claim_send_and_read(chat_id, send_id, holder, self.claim_ttl, visitor_id)
            claim = self._claim(chat_id, send_id, holder, first.claim)
            if claim == "sent":
                return
            if claim == "new" and outbound["event"] == "chat_session_message":
                try:  # a resend of a try that may have landed is looked up, never refused
                    chatlog.check_room(chat_id, first.last_seq)
                except ChatTooLong:
                    store.release_send(chat_id, send_id, holder, forget=True)
                    raise
            # No browser of its own (no User-Agent): the one the chat was started with, as
            # Identities.load gives.
            browser = user_agent if user_agent is not None else chat.get("user_agent")
            who = self.identities.from_cookies(visitor_id, first.cookies, browser)
            attempt = Attempt(may_have_arrived=claim == "retry")

            def renew() -> None:
                """Between tries: keep our claim alive; if it lapsed and another took it, stop
                (a resend is then answered by that holder's outcome)."""
                if store.claim_send(chat_id, send_id, holder, self.claim_ttl) in ("busy", "sent"):
                    raise SendPending()

            try:
                piggyback = self.post(
                    visitor_id, chat_id, outbound, user_agent, attempt, renew, who
                )
                attempt.may_have_arrived = True  # it did: a failure below must not forget it
                logged = []
                if outbound["event"] == "chat_session_message":
                    logged.append(own_message(chat_id, send_id, outbound["msg"]))
                elif outbound["event"] == "chat_session_signaling":
                    logged += own_signal(chat_id, send_id, outbound["data"])
                    if outbound["data"]["type"] in CALL_CLOSERS:  # for a log rebuilt from history
                        offer = last_offer_id((e for _, e in store.read(chat_id)), chat_id)
                        closed = {CALL_CLOSED: logged[-1]["timestamp"], CALL_CLOSED_OFFER: offer}
                        store.update_chat(visitor_id, chat_id, closed)
                # Logged before the claim completes: a holder dying in between leaves a resend
                # that finds the post in history and logs it again, which the log's keys skip.
                chatlog.record(visitor_id, chat_id, logged + piggyback)
            except BaseException:
                store.release_send(chat_id, send_id, holder, forget=not attempt.may_have_arrived)
                raise
            store.complete_send(chat_id, send_id, holder)

    def _claim(self, chat_id: str, send_id: str, holder: str, first: SendClaim) -> SendClaim:
        """The claim of the id, `first` being the answer to the first try; while another holder
        posts it, claim again for a while, until that holder's outcome."""
        store = self.store
        deadline = time.monotonic() + BUSY_WAIT
        delay = 0.02
        claim = first
        while claim == "busy":
            if time.monotonic() >= deadline:
                raise SendPending()
            time.sleep(delay)  # another process holds it: the store has no event to wait on
            delay = min(delay * 2, 0.25)
            claim = store.claim_send(chat_id, send_id, holder, self.claim_ttl)
        return claim

    def post(
        self,
        visitor_id: str,
        chat_id: str,
        event: dict[str, Any],
        user_agent: str | None,
        attempt: Attempt | None = None,
        renew: Callable[[], None] | None = None,
        who: Identity | None = None,
    ) -> list[dict[str, Any]]:
        """Send Events with retries; returns the server events piggy-backed on the reply.

        A try that may have arrived is followed by a history lookup, never by a blind repost.
        `renew` (the send's claim) is called before every try after the first. `who`: the
        visitor's identity when the caller has read it already.
        """
        chatlog = self.chatlog
        attempt = attempt or Attempt()
        attempts = 1 if event["event"] in NO_RETRY else self.retry.attempts
        backoff = self.retry.backoff()
        if who is None:
            who = self.identities.load(visitor_id, user_agent)
        failed = False
        try:
            for number in range(attempts):
                if renew is not None and number > 0:
                    renew()
                try:
                    if attempt.may_have_arrived and self._arrived(visitor_id, chat_id, event, who):
                        return []
                    replies = self.client.send_events(who, chat_id, [event])
                except UpstreamError as error:
                    if error.gone:
                        chatlog.end(visitor_id, chat_id, reason="not_found")
                        if event["event"] == "chat_session_end" and attempt.may_have_arrived:
                            return []  # our earlier end landed: the chat is gone, as asked
                        raise ChatEnded() from None
                    attempt.may_have_arrived |= may_have_arrived(error)
                    if not error.transient or number + 1 == attempts:
                        raise
                    if not failed:
                        failed = True
                        chatlog.announce(visitor_id, "retrying")
                    time.sleep(backoff.next_delay())
                    continue
                if failed:
                    chatlog.announce(visitor_id, "ok")
                return replies
        finally:
            self.identities.save(visitor_id, who)
        return []  # pragma: no cover - the loop either returns or raises

    def _arrived(self, visitor_id: str, chat_id: str, event: dict[str, Any], who: Identity) -> bool:
        """Did an earlier try land? Looked up in Get Chat History by msg_id.

        Found: what that history holds of messages and files is logged (their keys make it
        safe), so what the lost answer carried is not lost either.
        """
        msg_id = event.get("msg_id")
        if not msg_id:
            if event["event"] in REPEATABLE:
                return False
            raise Unconfirmed()
        history = self.client.get_chat_history(who, chat_id)
        if not any(e.get("event") == event["event"] and e.get("msg_id") == msg_id for e in history):
            return False
        keyed = [e for e in sort_history(history, chat_id) if event_key(e) is not None]
        self.chatlog.record(visitor_id, chat_id, keyed)
        return True
