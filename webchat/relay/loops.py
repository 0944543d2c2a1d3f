"""This process's poll loops: at most one per chat, their leases kept alive, stopped together.

A loop holds its chat's lease in the store while it polls; a keeper renews the leases of the
loops sitting in long polls, so another process takes a chat over only when this one stops
renewing (it died or shut down). A loop that ends gives its lease back and says so, so a
standby loop elsewhere takes the chat at once. A loop whose visitor has had no socket here for
`idle_poll` seconds retires (webchat.relay.poller).
"""

from __future__ import annotations

import logging
import threading
import time

from ..servicepattern import ServicePatternClient
from ..store import Store, StoreError
from .backoff import RetryPolicy
from .chatlog import ChatLog
from .identities import Identities
from .poller import PollContext, Poller

log = logging.getLogger(__name__)


class PollLoops:
    """Starts, tracks and stops the poll loops of one process."""

    RENEW_BATCH = 200  # leases renewed in one store round trip

    def __init__(
        self,
        store: Store,
        client: ServicePatternClient,
        identities: Identities,
        chatlog: ChatLog,
        retry: RetryPolicy,
        holder: str,
        lease_ttl: float,
        idle_poll: float = 120.0,
    ) -> None:
        self.ctx = PollContext(
            store,
            client,
            identities,
            chatlog,
            retry,
            holder,
            lease_ttl,
            standby_interval=min(lease_ttl / 4, 2.0),
            done=self._done,
            idle_poll=idle_poll,
            retire=self._retire,
        )
        self._pollers: dict[str, Poller] = {}
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None
        self._stopped = threading.Event()
        self._closed = False

    def ensure(self, visitor_id: str, chat_id: str, reconcile: bool = False) -> None:
        """A loop for the chat, started unless one runs here already."""
        with self._lock:
            if self._closed:
                return
            poller = self._pollers.get(chat_id)
            if poller is not None and poller.is_alive():
                return
            poller = Poller(self.ctx, chat_id, visitor_id, reconcile)
            self._pollers[chat_id] = poller
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep_leases, daemon=True, name="lease-keeper"
                )
                self._keeper.start()
        poller.start()

    def _keep_leases(self) -> None:
        """Renew the leases of our loops while they sit in long polls.

        Every third of the lease's life, the leases not renewed for that long (a loop renews
        its own before every poll) are renewed in batches, one store round trip each, with a
        pause between batches so that thousands of renewals never hold up the sockets."""
        ctx = self.ctx
        every = ctx.lease_ttl / 3
        while not self._stopped.wait(every):
            due = time.monotonic() - every
            with self._lock:
                pollers = [
                    p
                    for p in self._pollers.values()
                    if p.holding and p.renewed <= due and p.is_alive()
                ]
            for start in range(0, len(pollers), self.RENEW_BATCH):
                batch = pollers[start : start + self.RENEW_BATCH]
                now = time.monotonic()
                try:
                    held = ctx.store.renew_leases(
                        [p.chat_id for p in batch], ctx.holder, ctx.lease_ttl
                    )
                except Exception:  # the store is down: the loops themselves will notice
                    log.warning("lease renewal of %d chats failed", len(batch))
                    continue
                for poller, ok in zip(batch, held, strict=True):
                    if ok:
                        poller.renewed = now
                    else:
                        poller.stopping.set()
                time.sleep(0)  # let the sockets' work run between batches

    def _retire(self, poller: Poller) -> bool:
        """An idle loop asks to stop: yes, unless a socket of its visitor opened here meanwhile.

        Decided under the lock that `ensure` takes: a hello either finds the loop still running
        (a socket is open, so it does not retire) or finds it gone and starts a new one.
        """
        with self._lock:
            if self.ctx.store.has_listeners(poller.visitor_id):
                return False
            if self._pollers.get(poller.chat_id) is poller:
                del self._pollers[poller.chat_id]
            return True

    def _done(self, poller: Poller) -> None:
        """A loop ended: forget it, and give its lease back."""
        with self._lock:
            if self._pollers.get(poller.chat_id) is poller:
                del self._pollers[poller.chat_id]
        if poller.holding:
            try:
                self.ctx.store.release_lease(poller.chat_id, self.ctx.holder)
                # Standby loops elsewhere hear it through the visitor's sockets there.
                self.ctx.store.publish(
                    poller.visitor_id, {"kind": "released", "chat_id": poller.chat_id}
                )
            except StoreError:
                log.warning("lease of chat %s not released; it will expire", poller.chat_id)
            poller.holding = False
            self.wake(poller.chat_id)  # a loop started here meanwhile takes over now

    def wake(self, chat_id: str) -> bool:
        """A lease was given back: a standby loop for the chat tries to take it now.

        False when no loop for the chat runs here."""
        with self._lock:
            poller = self._pollers.get(chat_id)
        if poller is not None:
            poller.wake.set()
        return poller is not None

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
