"""One long-poll loop per chat: the only thing that ever calls Get New Chat Events for it.

ServicePattern answers a second concurrent poll of a chat with 400, so however many tabs or
processes serve a visitor, their chat is polled by one loop, the holder of the chat's lease in
the store. A process whose sockets need a chat polled by another process keeps a loop on
standby, and takes the lease over when the holder dies (its lease expires); it then reconciles
the log with Get Chat History, so events the dead holder had polled but not yet logged are not
lost. Failures are retried with backoff and announced to the visitor's sockets; nothing is lost,
because ServicePattern keeps undelivered events until a poll succeeds.

Like ServicePattern's own client, which polls only while a page is open, a loop stops once no
socket of the visitor has been open in this process for `idle_poll` seconds. It gives its lease
back and says so: a process where a tab of the visitor is still open takes the chat over at
once (its standby loop, or a new one its sockets start), so a chat is polled as long as any
process has a tab. When the visitor comes back, their hello starts a loop that first reconciles
the log with Get Chat History, then polls what ServicePattern kept meanwhile: nothing is lost,
nothing logged twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..background import background
from ..logs import chat_var, visitor_var
from ..servicepattern import ServicePatternClient, UpstreamError
from ..store import Store, StoreError
from .backoff import RetryPolicy
from .chatlog import ChatLog
from .identities import Identities

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollContext:
    """What every poll loop of a process works with: the same for all of its chats."""

    store: Store
    client: ServicePatternClient
    identities: Identities
    chatlog: ChatLog
    retry: RetryPolicy
    holder: str  # this process's name on the leases it holds
    lease_ttl: float
    standby_interval: float
    done: Callable[[Poller], None]  # a loop ended: forget it and give its lease back
    idle_poll: float  # seconds a chat is polled after the last socket here closed
    retire: Callable[[Poller], bool]  # idle: stop, unless a socket came back meanwhile


class Poller:
    """Polls one chat until it ends, nobody here needs it, or the relay stops; in a greenlet
    of its own under gevent, else in a thread (webchat/background.py)."""

    def __init__(self, ctx: PollContext, chat_id: str, visitor_id: str, reconcile: bool) -> None:
        self._runner = background(self.run, name=f"poll-{chat_id[:12]}")
        self.ctx = ctx
        self.chat_id = chat_id
        self.visitor_id = visitor_id
        self.stopping = threading.Event()
        self.wake = threading.Event()  # set when the holder gave the lease back
        self.holding = False
        self.renewed = 0.0  # monotonic time this process last renewed the lease
        self._reconcile = reconcile
        self._listened = time.monotonic()  # when a socket of the visitor was last open here

    def start(self) -> None:
        self._runner.start()

    def join(self, timeout: float | None = None) -> None:
        self._runner.join(timeout)

    def is_alive(self) -> bool:
        return self._runner.is_alive()

    def run(self) -> None:
        visitor_var.set(self.visitor_id)
        chat_var.set(self.chat_id)
        backoff = self.ctx.retry.backoff()
        try:
            while not self.stopping.is_set():
                try:
                    if self._take_lease():
                        self._poll()
                    return
                except StoreError as error:
                    log.warning("store unavailable for chat %s: %s", self.chat_id, error)
                except Exception:  # a bug must not leave the chat silently unpolled forever
                    log.exception("poll loop of chat %s failed; retrying", self.chat_id)
                if not self._still_live():
                    return
                self.stopping.wait(backoff.next_delay())
        finally:
            self.ctx.done(self)

    def _still_live(self) -> bool:
        """After a failure: go on while the chat is still the visitor's live chat (or the store
        cannot tell); its ending is the only reason to stop."""
        try:
            chat = self.ctx.store.get_chat(self.visitor_id)
        except Exception:
            return True
        return chat is not None and chat.get("chat_id") == self.chat_id and not chat.get("ended")

    def _take_lease(self) -> bool:
        """Hold the chat's lease, waiting on standby while another live process holds it."""
        ctx = self.ctx
        while not self.stopping.is_set():
            if ctx.store.acquire_lease(self.chat_id, ctx.holder, ctx.lease_ttl):
                self.holding = True
                self.renewed = time.monotonic()
                return True
            self._reconcile = True  # whoever held it may have died between poll and log
            chat = ctx.store.get_chat(self.visitor_id)
            if chat is None or chat.get("chat_id") != self.chat_id or chat.get("ended"):
                return False
            if not ctx.store.has_listeners(self.visitor_id):
                return False  # nobody here needs this chat; the holder serves its own sockets
            self.wake.wait(ctx.standby_interval)
            self.wake.clear()
        return False

    def _idle(self) -> bool:
        """True when no socket of the visitor has been open here for `idle_poll` seconds and
        the loops agree to let this one go (none came back in the meantime)."""
        ctx = self.ctx
        now = time.monotonic()
        if ctx.store.has_listeners(self.visitor_id):
            self._listened = now
            return False
        return now - self._listened >= ctx.idle_poll and ctx.retire(self)

    def _poll(self) -> None:
        ctx, chat_id = self.ctx, self.chat_id
        chatlog = ctx.chatlog
        backoff = ctx.retry.backoff()
        store_backoff = ctx.retry.backoff(cap=5.0)
        faults = ctx.retry.backoff()
        failing = False
        strict = True  # the first poll may repeat what history or the last holder logged
        pending: list[dict] = []  # polled, not yet logged: ServicePattern will not resend them
        reconcile = self._reconcile
        while not self.stopping.is_set() or pending:  # stopping: log what was polled first
            try:
                if reconcile:
                    if chatlog.reconcile(self.visitor_id, chat_id):
                        return
                    reconcile = False
                if pending:
                    ended = chatlog.record(self.visitor_id, chat_id, pending, strict=strict)
                    pending, strict = [], False
                    store_backoff.reset()
                    faults.reset()
                    if ended:
                        return
                    continue
                if self._idle():
                    log.info("no tab of chat %s open for a while; polling stops", chat_id)
                    return
                read = ctx.store.renew_and_read(chat_id, ctx.holder, ctx.lease_ttl, self.visitor_id)
                if not read.held:
                    log.warning("lease of chat %s lost; this loop stops", chat_id)
                    return
                self.renewed = time.monotonic()
                who = ctx.identities.from_read(self.visitor_id, read.chat, read.cookies)
                try:
                    pending = ctx.client.get_new_events(who, chat_id)
                finally:
                    ctx.identities.save(self.visitor_id, who)
            except StoreError as error:
                log.warning("store unavailable for chat %s: %s", chat_id, error)
                self.stopping.wait(store_backoff.next_delay())
                continue
            except UpstreamError as error:
                if error.gone:
                    reason = chatlog.gone_reason(self.visitor_id, error)
                    chatlog.end(self.visitor_id, chat_id, reason=reason)
                    return
                if not failing:
                    failing = True
                    chatlog.announce(self.visitor_id, "retrying")
                log.warning("poll of chat %s failed: %s", chat_id, error.message)
                self.stopping.wait(backoff.next_delay())
                continue
            except Exception:  # a bug, a malformed answer: what was polled is kept and retried
                log.exception("poll of chat %s failed; retrying", chat_id)
                if self.stopping.is_set() or not self._still_live():
                    return
                self.stopping.wait(faults.next_delay())
                continue
            backoff.reset()
            faults.reset()
            if failing:
                failing = False
                chatlog.announce(self.visitor_id, "ok")
            if not pending:
                strict = False
