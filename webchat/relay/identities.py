"""Who a call is made for: a visitor's ServicePattern cookie jar and browser, kept in the store.

Every call for a visitor carries that visitor's own cookies (ServicePattern tells WebChat
clients apart by them) and is followed by saving whatever cookies the call set.
"""

from __future__ import annotations

import logging

from ..servicepattern import Identity
from ..servicepattern.cookies import jar_from_list, jar_to_list
from ..store import Store, StoreError

log = logging.getLogger(__name__)


class Identities:
    """Loads and saves visitors' identities in the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self, visitor_id: str, user_agent: str | None = None) -> Identity:
        """The visitor's cookie jar and browser, as ServicePattern should see them on one call.

        Calls made from a request carry that request's User-Agent; the poll loop, which has no
        request, carries the one the visitor's chat was started or last resumed with.
        """
        if user_agent is None:
            chat = self.store.get_chat(visitor_id)
            user_agent = chat.get("user_agent") if chat else None
        return Identity(jar_from_list(self.store.get_cookies(visitor_id)), user_agent)

    def save(self, visitor_id: str, who: Identity) -> None:
        """Keep every cookie ServicePattern set during the call, for every later call."""
        if who.cookies_changed:
            try:
                self.store.merge_cookies(visitor_id, jar_to_list(who.jar))
            except StoreError as error:  # kept in `who`; saved by the next call that succeeds
                log.warning("cookies not saved yet: %s", error)
                return
            who.cookies_changed = False
