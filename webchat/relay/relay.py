"""The relay: visitors' chats between the sockets, the store and ServicePattern.

Routes and sockets call it; it owns the poll loops (one per chat), the numbering of events
into each chat's log, idempotent sends, and rebuilding a log from history when it was lost.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..servicepattern import ChatInfo, Identity, ServicePatternClient, UpstreamError
from ..servicepattern.cookies import jar_from_list, jar_to_list
from ..store import Store, StoreError
from .backoff import Backoff
from .events import event_key, is_terminal, log_key, sort_history
from .files import Files
from .frames import FrameError
from .poller import Poller
from .sending import Sender
from .tenant import Cached

log = logging.getLogger(__name__)

ENDED_LOG_TTL = 3600.0


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
    ) -> None:
        self.store = store
        self.client = client
        self.holder = uuid.uuid4().hex
        self.send_attempts = send_attempts
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.lease_ttl = lease_ttl
        self.standby_interval = min(lease_ttl / 4, 2.0)
        self.availability = Cached(client.check_availability, availability_ttl, "notAvailable")
        self.parameters = Cached(client.expected_parameters, parameters_ttl, [])
        self._pollers: dict[str, Poller] = {}
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._stopped = threading.Event()
        self._closed = False
        self.on_logged: Callable[[int], Any] | None = None  # metrics: events numbered
        self.sender = Sender(self, claim_ttl)
        self.files = Files(self, self.sender)

    # -- identity ------------------------------------------------------------------------

    def identity(self, visitor_id: str, user_agent: str | None = None) -> Identity:
        """The visitor's cookie jar and browser, as ServicePattern should see them on one call.

        Calls made from a request carry that request's User-Agent; the poll loop, which has no
        request, carries the one the visitor's chat was started or last resumed with.
        """
        if user_agent is None:
            chat = self.store.get_chat(visitor_id)
            user_agent = chat.get("user_agent") if chat else None
        return Identity(jar_from_list(self.store.get_cookies(visitor_id)), user_agent)

    def save_identity(self, visitor_id: str, who: Identity) -> None:
        """Keep every cookie ServicePattern set during the call, for every later call."""
        if who.cookies_changed:
            try:
                self.store.merge_cookies(visitor_id, jar_to_list(who.jar))
            except StoreError as error:  # kept in `who`; saved by the next call that succeeds
                log.warning("cookies not saved yet: %s", error)
                return
            who.cookies_changed = False

    def announce(self, visitor_id: str, status: str) -> None:
        """Tell every socket of the visitor that ServicePattern stopped or resumed answering."""
        try:
            self.store.publish(visitor_id, {"kind": "upstream", "status": status})
        except StoreError as error:
            log.warning("could not announce upstream %s: %s", status, error)

    def live_chat(self, visitor_id: str) -> dict[str, Any]:
        """The visitor's chat if it is live, else a FrameError the widget understands."""
        chat = self.store.get_chat(visitor_id)
        if chat is None:
            raise FrameError("no_chat", "there is no chat to send to; start one first")
        if chat.get("ended"):
            raise FrameError("chat_ended", "this chat has ended")
        return chat

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
            if self.store.last_seq(chat["chat_id"]) == 0:
                self.reconcile(visitor_id, chat["chat_id"])
                chat = self.store.get_chat(visitor_id) or chat
            if not chat.get("ended"):
                self._ensure_polling(visitor_id, chat["chat_id"], reconcile=False)
        return chat

    def _find_active(self, visitor_id: str, user_agent: str | None) -> dict[str, Any] | None:
        """The store lost the pointer but ServicePattern may still know the chat by cookie."""
        who = self.identity(visitor_id, user_agent)
        try:
            info = self.client.get_active_chat(who)
        except UpstreamError as error:
            log.warning("get active chat failed: %s", error.message)
            return None
        finally:
            self.save_identity(visitor_id, who)
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
        who = self.identity(visitor_id, user_agent)
        backoff = Backoff(self.retry_base, self.retry_cap)
        for attempt in range(self.send_attempts):
            try:
                info = self.client.request_chat(who, parameters, phone_number, from_)
                break
            except UpstreamError as error:
                self.save_identity(visitor_id, who)
                if not error.transient or attempt + 1 == self.send_attempts:
                    raise
                time.sleep(backoff.next_delay())
        self.save_identity(visitor_id, who)
        chat = _pointer(info, user_agent)
        self.store.set_chat(visitor_id, chat)
        if not info.is_new_chat and self.store.last_seq(info.chat_id) == 0:
            self.reconcile(visitor_id, info.chat_id)
        chat = self.store.get_chat(visitor_id) or chat
        if not chat.get("ended"):
            self._ensure_polling(visitor_id, info.chat_id, reconcile=False)
        self.store.publish(visitor_id, {"kind": "state", "chat_id": info.chat_id})
        return chat

    def reconcile(self, visitor_id: str, chat_id: str) -> bool:
        """Add to the log whatever Get Chat History has that the log lacks; True if ended.

        Fills a log lost with its process, and after a lease takeover recovers the events the
        previous holder had polled (so ServicePattern will not send them again) but not logged.
        """
        who = self.identity(visitor_id)
        try:
            history = self.client.get_chat_history(who, chat_id)
        except UpstreamError as error:
            if error.gone:
                self.end_chat(visitor_id, chat_id, reason="not_found")
                return True
            log.warning("history of chat %s unavailable: %s", chat_id, error.message)
            return False
        finally:
            self.save_identity(visitor_id, who)
        return self.record(visitor_id, chat_id, sort_history(history), strict=True)

    def record(
        self, visitor_id: str, chat_id: str, events: list[dict[str, Any]], strict: bool = False
    ) -> bool:
        """Log events (numbered, published) and follow the chat's state; True when it ended.

        Messages and files are never logged twice. With `strict`, no event whose content is
        already logged is logged again (history and a first poll repeating the log).
        """
        if not events:
            return False
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
            self.sender.forget(chat_id)
        return ended

    def end_chat(self, visitor_id: str, chat_id: str, reason: str) -> None:
        """ServicePattern no longer knows the chat: log an ending so every tab shows it."""
        ending = {"event": "chat_session_ended", "reason": reason, "synthetic": True}
        self.record(visitor_id, chat_id, [ending])

    # -- poll loops ------------------------------------------------------------------------

    def _ensure_polling(self, visitor_id: str, chat_id: str, reconcile: bool) -> None:
        with self._lock:
            if self._closed:
                return
            poller = self._pollers.get(chat_id)
            if poller is not None and poller.is_alive():
                return
            poller = Poller(self, chat_id, visitor_id, reconcile)
            self._pollers[chat_id] = poller
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep_leases, daemon=True, name="lease-keeper"
                )
                self._keeper.start()
        poller.start()

    def _keep_leases(self) -> None:
        """Renew the leases of our loops while they sit in long polls; another process takes a
        chat over only when this one stops renewing (it died or shut down)."""
        while not self._stopped.wait(self.lease_ttl / 3):
            with self._lock:
                pollers = [p for p in self._pollers.values() if p.holding and p.is_alive()]
            for poller in pollers:
                try:
                    if not self.store.acquire_lease(poller.chat_id, self.holder, self.lease_ttl):
                        poller.stopping.set()
                except Exception:  # the store is down: the loop itself will notice
                    log.warning("lease renewal of chat %s failed", poller.chat_id)

    def poller_done(self, poller: Poller) -> None:
        """A loop ended: forget it, and give its lease back."""
        with self._lock:
            if self._pollers.get(poller.chat_id) is poller:
                del self._pollers[poller.chat_id]
        if poller.holding:
            try:
                self.store.release_lease(poller.chat_id, self.holder)
                # Standby loops elsewhere hear it through the visitor's sockets there.
                self.store.publish(
                    poller.visitor_id, {"kind": "released", "chat_id": poller.chat_id}
                )
            except StoreError:
                log.warning("lease of chat %s not released; it will expire", poller.chat_id)
            poller.holding = False

    def wake(self, chat_id: str) -> None:
        """A lease was given back: a standby loop for the chat tries to take it now."""
        with self._lock:
            poller = self._pollers.get(chat_id)
        if poller is not None:
            poller.wake.set()

    def polling(self) -> list[str]:
        """Chat ids polled by this process now."""
        with self._lock:
            return [c for c, p in self._pollers.items() if p.is_alive()]

    def close(self, wait: float = 0.0) -> None:
        """Stop every loop; each ends after its current poll, waited for up to `wait` s."""
        with self._lock:
            self._closed = True
            pollers = list(self._pollers.values())
        self._stopped.set()
        for poller in pollers:
            poller.stopping.set()
        deadline = time.monotonic() + wait
        for poller in pollers:
            poller.join(max(0.0, deadline - time.monotonic()))
