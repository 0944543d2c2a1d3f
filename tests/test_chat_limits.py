"""A visitor, or one address minting visitors, cannot start chats without end; a chat's log
takes no more of the visitor's messages once it is full, while the chat itself goes on."""

from __future__ import annotations

import io
import uuid

import pytest

from tests.harness import ServerProcess, Visitor, relay_on
from webchat.limits import StartLimiter
from webchat.relay import ChatTooLong
from webchat.settings import SettingsError, load_settings
from webchat.store import MemoryStore


def uid() -> str:
    return uuid.uuid4().hex


# -- settings ------------------------------------------------------------------------------


def test_defaults_and_values():
    settings = load_settings({})
    assert settings.chat_starts_per_hour == 10
    assert settings.chat_starts_per_address_per_hour == 300
    assert settings.chat_idle_poll_seconds == 120.0
    assert settings.chat_log_max_events == 2000
    settings = load_settings(
        {
            "CHAT_STARTS_PER_HOUR": "3",
            "CHAT_STARTS_PER_ADDRESS_PER_HOUR": "30",
            "CHAT_IDLE_POLL_SECONDS": "0.5",
            "CHAT_LOG_MAX_EVENTS": "500",
        }
    )
    assert settings.chat_starts_per_hour == 3
    assert settings.chat_starts_per_address_per_hour == 30
    assert settings.chat_idle_poll_seconds == 0.5
    assert settings.chat_log_max_events == 500


@pytest.mark.parametrize(
    "name, value",
    [
        ("CHAT_STARTS_PER_HOUR", "0"),
        ("CHAT_STARTS_PER_HOUR", "1.5"),
        ("CHAT_STARTS_PER_ADDRESS_PER_HOUR", "-1"),
        ("CHAT_IDLE_POLL_SECONDS", "never"),
        ("CHAT_IDLE_POLL_SECONDS", "inf"),
        ("CHAT_LOG_MAX_EVENTS", "lots"),
    ],
)
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError) as info:
        load_settings({name: value})
    assert str(info.value).startswith(name) and "\n" not in str(info.value)


# -- the start limiter ----------------------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
def store_url(request) -> str:
    return "memory://" if request.param == "memory" else request.getfixturevalue("redis_url")


def test_starts_are_limited_per_visitor_and_per_address(store_url):
    limiter = StartLimiter(store_url, per_visitor=2, per_address=3)
    a, b, c, here, there = uid(), uid(), uid(), uid(), uid()
    assert limiter.allow(a, here) and limiter.allow(a, here)
    assert not limiter.allow(a, here)  # the visitor's own limit
    assert not limiter.allow(a, there)  # wherever they go
    assert limiter.allow(b, here)  # the address's third start
    assert not limiter.allow(c, here)  # the address is used up, for a fresh visitor too
    assert limiter.allow(c, there)  # refusals counted against neither: c still has two
    assert limiter.allow(c, there) and not limiter.allow(c, there)


def test_start_frames_over_the_limit_are_refused_and_the_socket_stays(sim_server, sim):
    server = ServerProcess(
        sim_server.base_url,
        {"CHAT_STARTS_PER_HOUR": "2", "CHAT_STARTS_PER_ADDRESS_PER_HOUR": "3"},
    )
    visitors: list[Visitor] = []
    try:
        first = Visitor(server.url)
        visitors.append(first)
        tab = first.tab()
        tab.hello()
        chat = tab.start()
        assert tab.start() == chat  # a second start finds the live chat (and counts)
        since = len(tab.frames)
        tab.send({"type": "start", "parameters": {}})
        refused = tab.wait(lambda f: f.get("type") in ("error", "state"), since=since)
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
        tab.send({"type": "ping"})
        tab.wait_type("pong")  # the socket stays up
        assert len(sim.chats()) == len({c.chat_id for c in sim.chats()})

        second = Visitor(server.url)  # same address: its third start
        visitors.append(second)
        other = second.tab()
        other.hello()
        assert other.start()["chat_id"] != chat["chat_id"]
        third = Visitor(server.url)  # a fresh visitor from the same address: refused
        visitors.append(third)
        last = third.tab()
        last.hello()
        since = len(last.frames)
        last.send({"type": "start", "parameters": {}})
        refused = last.wait(lambda f: f.get("type") in ("error", "state"), since=since)
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
    finally:
        for v in visitors:
            v.close()
        server.stop()


# -- the log cap ---------------------------------------------------------------------------


def message(text: str) -> dict:
    return {"event": "chat_session_message", "msg": text}


def test_a_full_log_takes_no_more_visitor_messages_but_the_chat_goes_on(sim_server, sim):
    store = MemoryStore()
    cap = 12
    relay = relay_on(sim_server.base_url, store, log_max_events=cap)
    visitor, tab = uid(), []
    store.subscribe(visitor, tab.append)
    chat_id = relay.start_chat(visitor, {"first_name": "Cy"})["chat_id"]
    try:
        assert sim.wait_for(
            lambda: any(e.get("msg", "").startswith("Hi Cy") for _, e in store.read(chat_id)), 5
        )
        sent: list[str] = []
        with pytest.raises(ChatTooLong) as refused:
            for n in range(cap + 1):
                send_id = uid()
                relay.send(visitor, send_id, message(f"message {n}"))
                sent.append(send_id)
        assert refused.value.code == "chat_too_long"
        assert store.last_seq(chat_id) >= cap
        posted = sim.posts(chat_id)
        assert [posted[s] for s in sent] == [1] * len(sent)
        assert sum(posted.values()) == len(sent)  # the refused one never reached the center
        relay.send(visitor, sent[-1], message(f"message {len(sent) - 1}"))  # a resend: acked
        relay.send(visitor, uid(), {"event": "chat_session_typing"})  # typing still goes
        with pytest.raises(ChatTooLong):
            relay.files.share(visitor, io.BytesIO(b"x"), 1, "x.txt", "text/plain")
        sim.agent_say(chat_id, "the agent is still heard")  # nothing of the agent is lost
        assert sim.wait_for(
            lambda: any(e.get("msg") == "the agent is still heard" for _, e in store.read(chat_id)),
            10,
        )
        relay.send(visitor, uid(), {"event": "chat_session_end"})  # and the visitor may end it
        assert sim.wait_for(lambda: sim.chat(chat_id).ended, 5)
    finally:
        store.unsubscribe(visitor, tab.append)
        relay.close(wait=10)
