"""Who a call is made for: a visitor's ServicePattern cookie jar and browser, kept in the store.

Every call for a visitor carries that visitor's own cookies (ServicePattern tells WebChat
clients apart by them) and is followed by saving whatever cookies the call set. The cookies
last read for each visitor are remembered with the Cookie headers they give, so a poll whose
cookies did not change reuses them instead of rebuilding the jar.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ..servicepattern import Identity
from ..servicepattern.cookies import StoredCookies, jar_to_list
from ..store import Store, StoreError

log = logging.getLogger(__name__)


class Identities:
    """Loads and saves visitors' identities in the store."""

    MAX_REMEMBERED = 50_000  # visitors whose cookies are remembered; the oldest go first

    def __init__(self, store: Store) -> None:
        self.store = store
        self._known: dict[str, StoredCookies] = {}
        self._lock = threading.Lock()

    def load(self, visitor_id: str, user_agent: str | None = None) -> Identity:
        """The visitor's cookie jar and browser, as ServicePattern should see them on one call.

        Calls made from a request carry that request's User-Agent; the poll loop, which has no
        request, carries the one the visitor's chat was started or last resumed with.
        """
        if user_agent is None:
            chat = self.store.get_chat(visitor_id)
            user_agent = chat.get("user_agent") if chat else None
        return Identity(user_agent=user_agent, stored=self._stored(visitor_id))

    def from_read(
        self, visitor_id: str, chat: dict[str, Any] | None, cookies: list[dict[str, Any]]
    ) -> Identity:
        """The identity for a poll, from the pointer and cookies the poll loop read from the
        store together with its lease (`Store.renew_and_read`)."""
        user_agent = chat.get("user_agent") if chat else None
        return self.from_cookies(visitor_id, cookies, user_agent)

    def from_cookies(
        self, visitor_id: str, cookies: list[dict[str, Any]], user_agent: str | None
    ) -> Identity:
        """The identity for a call, from cookies its caller read from the store together with
        other things it needed (`Store.claim_send_and_read`)."""
        return Identity(user_agent=user_agent, stored=self._stored(visitor_id, cookies))

    def _stored(self, visitor_id: str, items: list[dict[str, Any]] | None = None) -> StoredCookies:
        """The visitor's cookies from the store, the remembered ones when they are the same."""
        if items is None:
            items = self.store.get_cookies(visitor_id)
        known = self._known.get(visitor_id)
        if known is not None and known.items == items:
            return known
        known = StoredCookies(items)
        with self._lock:
            self._known.pop(visitor_id, None)
            if len(self._known) >= self.MAX_REMEMBERED:
                del self._known[next(iter(self._known))]
            self._known[visitor_id] = known
        return known

    def save(self, visitor_id: str, who: Identity) -> None:
        """Keep every cookie ServicePattern set during the call, for every later call."""
        if who.cookies_changed:
            try:
                self.store.merge_cookies(visitor_id, jar_to_list(who.jar))
            except StoreError as error:  # kept in `who`; saved by the next call that succeeds
                log.warning("cookies not saved yet: %s", error)
                return
            who.cookies_changed = False
