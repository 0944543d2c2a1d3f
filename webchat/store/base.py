"""The store interface: what the relay and routes need to remember, whoever keeps it.

One process keeps it in memory (`memory://`); many processes share Redis (`redis://`).
Everything a visitor or chat needs across requests, sockets and restarts lives here:
the visitor's ServicePattern cookies and chat pointer, each chat's numbered event log, which
sends are being or were posted, the lease that lets exactly one poller run per chat, and the live
fan-out of new events to every socket of the visitor.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

Entry = tuple[int, dict[str, Any]]
Message = dict[str, Any]
Listener = Callable[[Message], None]
# What claiming a send id tells its caller: "new" (yours, never tried before), "retry" (yours,
# but an earlier claim may have posted it: look in Get Chat History first), "sent" (posted
# already: do not post), "busy" (another holder is posting it now).
SendClaim = Literal["new", "retry", "sent", "busy"]


def merge_chat(
    current: dict[str, Any] | None, chat_id: str, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """The pointer after `changes`, or None when it no longer points at `chat_id`.

    `ended` is sticky: once a chat ended, no later update of that chat un-ends it.
    """
    if current is None or current.get("chat_id") != chat_id:
        return None
    merged = {**current, **changes}
    merged["ended"] = bool(current.get("ended") or changes.get("ended"))
    return merged


def cookie_key(cookie: dict[str, Any]) -> str:
    """Identity of a stored cookie within a visitor's jar: a cookie with the same domain, path
    and name replaces it (the rule of every cookie jar)."""
    return f"{cookie['domain']}\t{cookie['path']}\t{cookie['name']}"


class LeaseRead(NamedTuple):
    """What a poll loop needs before each poll: whether it still holds the chat's lease, and
    the visitor's chat pointer and cookies as they are now."""

    held: bool
    chat: dict[str, Any] | None
    cookies: list[dict[str, Any]]


class SendRead(NamedTuple):
    """What a send needs before it is posted: its claim, how long the chat's log is (the cap on
    what a visitor adds), and the visitor's cookies as they are now."""

    claim: SendClaim
    last_seq: int
    cookies: list[dict[str, Any]]


class StoreError(Exception):
    """The store could not be reached; callers retry or answer 'try again', never crash."""


class Store(ABC):
    """Abstract store; see MemoryStore for the reference semantics."""

    # -- visitors ----------------------------------------------------------------------

    @abstractmethod
    def get_cookies(self, visitor_id: str) -> list[dict[str, Any]]:
        """The visitor's ServicePattern cookies as plain data (empty for a new visitor)."""

    @abstractmethod
    def merge_cookies(self, visitor_id: str, cookies: list[dict[str, Any]]) -> None:
        """Add or replace cookies by (domain, path, name); others stay as they are."""

    @abstractmethod
    def get_chat(self, visitor_id: str) -> dict[str, Any] | None:
        """The visitor's current chat: {chat_id, state, ewt, ended}, or None."""

    @abstractmethod
    def set_chat(self, visitor_id: str, chat: dict[str, Any]) -> None:
        """Point the visitor at a chat (a new one, or a refresh of the current one).

        Writing the pointer of the chat it already points at never clears `ended`.
        """

    @abstractmethod
    def update_chat(
        self, visitor_id: str, chat_id: str, changes: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Apply `changes` to the pointer in one atomic step, if it still points at `chat_id`.

        Several processes update one pointer (polls bring states, a tab brings its browser): a
        read-modify-write would let one lose the other's change, an `ended` above all. Returns
        the new pointer, or None when the visitor has moved on to another chat (or has none).
        """

    @abstractmethod
    def chat_owner(self, chat_id: str) -> str | None:
        """The visitor a chat belongs to, or None if unknown here."""

    @abstractmethod
    def token_epoch(self, visitor_id: str) -> int:
        """The oldest epoch of the visitor's tokens still honoured: 0 until they are revoked."""

    @abstractmethod
    def revoke_tokens(self, visitor_id: str, ttl: float) -> int:
        """Revoke every token of the visitor issued so far: raise its epoch above every earlier
        one (and above any epoch forgotten since: a millisecond clock) and keep it `ttl`
        seconds, the longest a token lives, after which every revoked token has expired anyway.
        Returns the new epoch, the one new tokens carry."""

    # -- event log -----------------------------------------------------------------------

    @abstractmethod
    def append(
        self, chat_id: str, events: list[dict[str, Any]], keys: list[str], unique: list[bool]
    ) -> list[Entry]:
        """Number and store events, remembering each one's key.

        An event marked unique is skipped when its key is already in this chat's log (a
        message delivered twice; history repeating what a poll gave). Returns the entries
        actually appended, in order, and publishes them to the chat's owner.
        """

    @abstractmethod
    def read(self, chat_id: str, after: int = 0) -> list[Entry]:
        """Entries with seq > after, in order."""

    @abstractmethod
    def last_seq(self, chat_id: str) -> int:
        """The newest seq of the chat's log, 0 when it has none."""

    @abstractmethod
    def finish_chat(self, chat_id: str, ttl: float) -> None:
        """The chat ended: keep its log for `ttl` seconds more (transcripts), then forget it."""

    # -- sends -----------------------------------------------------------------------------

    @abstractmethod
    def claim_send(self, chat_id: str, send_id: str, holder: str, ttl: float) -> SendClaim:
        """Take the right to post a send, atomically: of any number of claimants, in any
        processes, one gets it. The claim lapses after `ttl` seconds (its holder died), so it
        never blocks a resend for ever; the holder renews it by claiming again. See SendClaim.
        """

    def claim_send_and_read(
        self, chat_id: str, send_id: str, holder: str, ttl: float, visitor_id: str
    ) -> SendRead:
        """`claim_send`, `last_seq` and `get_cookies` together, as a send needs them before it
        is posted; a shared store does it in one round trip instead of three."""
        claim = self.claim_send(chat_id, send_id, holder, ttl)
        return SendRead(claim, self.last_seq(chat_id), self.get_cookies(visitor_id))

    @abstractmethod
    def complete_send(self, chat_id: str, send_id: str, holder: str) -> None:
        """The send reached ServicePattern: every later claim of its id answers "sent"."""

    @abstractmethod
    def release_send(self, chat_id: str, send_id: str, holder: str, forget: bool) -> None:
        """Posting failed: give the claim back (only if still ours) so a resend may try.

        `forget` says no attempt can have reached ServicePattern, so the next claim is "new"
        rather than "retry" (and skips the history check).
        """

    # -- lease -------------------------------------------------------------------------------

    @abstractmethod
    def acquire_lease(self, chat_id: str, holder: str, ttl: float) -> bool:
        """Take or renew the right to poll a chat; False while another holder's lease is live."""

    @abstractmethod
    def release_lease(self, chat_id: str, holder: str) -> None:
        """Give the lease back early (only if still ours)."""

    def renew_leases(self, chat_ids: list[str], holder: str, ttl: float) -> list[bool]:
        """`acquire_lease` for many chats at once, a result for each in order; a shared store
        does it in one round trip, so renewing thousands of leases costs little CPU."""
        return [self.acquire_lease(chat_id, holder, ttl) for chat_id in chat_ids]

    def renew_and_read(self, chat_id: str, holder: str, ttl: float, visitor_id: str) -> LeaseRead:
        """`acquire_lease`, `get_chat` and `get_cookies` together, as a poll loop needs them
        before every poll; a shared store does it in one round trip instead of three."""
        held = self.acquire_lease(chat_id, holder, ttl)
        return LeaseRead(held, self.get_chat(visitor_id), self.get_cookies(visitor_id))

    # -- fan-out ----------------------------------------------------------------------------

    @abstractmethod
    def subscribe(self, visitor_id: str, listener: Listener) -> None:
        """Call `listener(message)` for every message published to this visitor."""

    @abstractmethod
    def unsubscribe(self, visitor_id: str, listener: Listener) -> None:
        """Stop calling a listener; unknown listeners are ignored."""

    @abstractmethod
    def has_listeners(self, visitor_id: str) -> bool:
        """True when a socket of the visitor is open in this process."""

    @abstractmethod
    def publish(self, visitor_id: str, message: Message) -> None:
        """Deliver a message to every listener of the visitor, in this process or any other."""

    def ping(self) -> bool:
        """Readiness: True when the store answers."""
        return True

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections and threads."""
