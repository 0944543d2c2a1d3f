"""A chat's poll loop outlives any exception in it: logged with the chat id, retried, polled on."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from tests.harness import logged_messages, relay_on
from webchat.store import MemoryStore


class Flaky:
    """Wraps one client method: raises `error` for the first `times` calls, then works."""

    def __init__(self, real: Any, error: Exception, times: int) -> None:
        self.real = real
        self.error = error
        self.left = times
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            self.calls += 1
            fail = self.left > 0
            self.left -= 1
        if fail:
            raise self.error
        return self.real(*args, **kwargs)


def _arrived(store: MemoryStore, visitor_id: str, text: str) -> threading.Event:
    """An Event set when a logged message with `text` is published to the visitor."""
    seen = threading.Event()

    def listener(message: dict) -> None:
        for _, event in message.get("entries") or []:
            if event.get("msg") == text:
                seen.set()

    store.subscribe(visitor_id, listener)
    return seen


@pytest.mark.parametrize(
    "error", [RuntimeError("a bug in the loop"), ValueError("a malformed cookie")]
)
def test_poll_loop_survives_exceptions_and_keeps_polling(sim_server, sim, caplog, error):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    flaky = Flaky(relay.client.get_new_events, error, times=2)
    relay.client.get_new_events = flaky
    greeted = _arrived(store, "kim", "Hi Kim, I'm Alice. How can I help?")
    caplog.set_level(logging.ERROR, logger="webchat.relay.poller")
    try:
        chat_id = relay.start_chat("kim", {"first_name": "Kim"})["chat_id"]
        assert greeted.wait(10), "the greeting never arrived: the loop died"
        assert flaky.calls >= 3
        failures = [r for r in caplog.records if chat_id in r.getMessage()]
        assert len(failures) == 2
        assert all(r.exc_info and r.exc_info[1] is error for r in failures)
        # Still the one loop of this chat, still polling: a later event arrives too.
        assert relay.polling() == [chat_id]
        later = _arrived(store, "kim", "said after the failures")
        sim.agent_say(chat_id, "said after the failures")
        assert later.wait(10)
        assert logged_messages(store, chat_id).count("said after the failures") == 1
    finally:
        relay.close(wait=10)
        sim.agent_end(chat_id)


def test_a_failing_loop_ends_once_its_chat_ended(sim_server, sim):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    try:
        chat_id = relay.start_chat("lee", {})["chat_id"]
        assert sim.wait_for(lambda: relay.polling() == [chat_id], 5)
        relay.client.get_new_events = Flaky(None, RuntimeError("always"), times=10**9)
        chat = store.get_chat("lee")
        assert chat is not None
        store.set_chat("lee", {**chat, "ended": True})  # e.g. ended by another process
        assert sim.wait_for(lambda: relay.polling() == [], 10)
    finally:
        relay.close(wait=10)
        sim.agent_end(chat_id)
