"""The lease keeper: while poll loops sit in long polls, their leases are renewed in batches
(one store round trip each), and a loop whose lease another process took is told to stop."""

from __future__ import annotations

import threading

import pytest

from webchat.relay.backoff import RetryPolicy
from webchat.relay.loops import PollLoops
from webchat.store import MemoryStore, open_store


class HeldPoll:
    """Stands in for a Poller sitting in a long poll: what the keeper reads and writes."""

    def __init__(self, chat_id: str) -> None:
        self.chat_id = chat_id
        self.holding = True
        self.stopping = threading.Event()
        self.renewals = threading.Event()
        self._renewed = 0.0  # never renewed by its own loop: due at once

    @property
    def renewed(self) -> float:
        return self._renewed

    @renewed.setter
    def renewed(self, value: float) -> None:
        self._renewed = value
        self.renewals.set()

    def is_alive(self) -> bool:
        return True

    def join(self, timeout: float | None = None) -> None:
        """Nothing runs here to wait for."""


@pytest.fixture(params=["memory", "redis"])
def store(request):
    made = (
        MemoryStore()
        if request.param == "memory"
        else open_store(request.getfixturevalue("redis_url"))
    )
    yield made
    made.close()


def test_the_keeper_renews_every_held_lease_in_batches_and_stops_a_loop_that_lost_its_own(store):
    ttl = 0.6
    loops = PollLoops(store, None, None, None, RetryPolicy(), "me", ttl)  # type: ignore[arg-type]
    count = PollLoops.RENEW_BATCH + 50  # two batches
    held = [HeldPoll(f"chat-{n}-{id(loops)}") for n in range(count)]
    for poll in held:
        assert store.acquire_lease(poll.chat_id, "me", ttl)
    taken = HeldPoll(f"taken-{id(loops)}")
    assert store.acquire_lease(taken.chat_id, "someone-else", 30)
    loops._pollers = {p.chat_id: p for p in [*held, taken]}  # type: ignore[misc]
    keeper = threading.Thread(target=loops._keep_leases, daemon=True)
    keeper.start()
    try:
        assert taken.stopping.wait(5), "a loop whose lease was taken was not stopped"
        for poll in held:
            assert poll.renewals.wait(5), f"{poll.chat_id} not renewed"
            poll.renewals.clear()
        for poll in held:  # renewed again, so the leases outlive their first ttl
            assert poll.renewals.wait(5), f"{poll.chat_id} not renewed twice"
        assert not any(p.stopping.is_set() for p in held)
        assert not any(store.acquire_lease(p.chat_id, "someone-else", 30) for p in held)
    finally:
        loops.close()
        keeper.join(5)
