"""One long-poll loop per chat: the only thing that ever calls Get New Chat Events for it.

ServicePattern answers a second concurrent poll of a chat with 400, so however many tabs a
visitor opens, their chat is polled by one loop, held by a lease in the store. Failures are
retried with backoff and announced to the visitor's sockets; nothing is lost, because
ServicePattern keeps undelivered events until a poll succeeds.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..servicepattern import UpstreamError
from .backoff import Backoff
from .events import content_key

if TYPE_CHECKING:
    from .relay import Relay

log = logging.getLogger(__name__)


class Poller(threading.Thread):
    """Polls one chat until it ends, the lease is lost, or the relay stops."""

    def __init__(self, relay: Relay, chat_id: str, visitor_id: str, overlap: set[str]) -> None:
        super().__init__(name=f"poll-{chat_id[:12]}", daemon=True)
        self.relay = relay
        self.chat_id = chat_id
        self.visitor_id = visitor_id
        self.stopping = threading.Event()
        self._overlap = overlap  # content keys of events just rebuilt from history

    def run(self) -> None:
        relay, chat_id = self.relay, self.chat_id
        backoff = Backoff(base=relay.retry_base, cap=relay.retry_cap)
        failing = False
        try:
            while not self.stopping.is_set():
                if not relay.store.acquire_lease(chat_id, relay.holder, relay.lease_ttl):
                    log.info("chat %s is polled elsewhere; this loop stops", chat_id)
                    return
                who = relay.identity(self.visitor_id)
                try:
                    events = relay.client.get_new_events(who, chat_id)
                except UpstreamError as error:
                    relay.save_identity(self.visitor_id, who)
                    if error.gone:
                        relay.end_chat(self.visitor_id, chat_id, reason="not_found")
                        return
                    if not failing:
                        failing = True
                        relay.announce(self.visitor_id, "retrying")
                    log.warning("poll of chat %s failed: %s", chat_id, error.message)
                    self.stopping.wait(backoff.next_delay())
                    continue
                relay.save_identity(self.visitor_id, who)
                backoff.reset()
                if failing:
                    failing = False
                    relay.announce(self.visitor_id, "ok")
                if self._overlap:
                    events = [e for e in events if content_key(e) not in self._overlap]
                    self._overlap = set()
                if relay.record(self.visitor_id, chat_id, events):
                    return
        except Exception:  # a bug must not leave the chat silently unpolled forever
            log.exception("poll loop of chat %s crashed", chat_id)
        finally:
            relay.poller_done(self)
