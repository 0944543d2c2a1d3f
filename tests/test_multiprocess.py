"""Two real gunicorn instances on one Redis: one chat, one poll, nothing lost when one dies."""

from __future__ import annotations

import signal
import uuid

import pytest

from tests.harness import ServerProcess, Visitor


def _msgs(tab) -> list[str]:
    return [
        f["event"].get("msg") for f in tab.events() if f["event"]["event"] == "chat_session_message"
    ]


def _contiguous_once(tab) -> None:
    seqs = tab.seqs()
    assert seqs == list(range(1, len(seqs) + 1)), seqs


@pytest.fixture
def pair(sim_server, redis_url):
    env = {"STORE_URL": redis_url, "LEASE_TTL": "2", "SECRET_KEY": "shared-" + uuid.uuid4().hex}
    first, second = ServerProcess(sim_server.base_url, env), ServerProcess(sim_server.base_url, env)
    yield first, second
    first.stop()
    second.stop()



def test_tabs_on_two_instances_share_one_chat_and_survive_a_kill(pair, sim):
    a, b = pair
    visitor = Visitor(a.url)
    try:
        tab_a = visitor.tab()
        chat = visitor.start_chat(tab_a, first_name="Kim")
        tab_b = visitor.tab_on(b)
        assert tab_b.hello()["chat"]["chat_id"] == chat["chat_id"]
        sent = tab_a.say("typed on instance a")
        for tab in (tab_a, tab_b):
            tab.wait_event("chat_session_message", msg_id=sent)
            tab.wait(
                lambda f: (
                    f["type"] == "event"
                    and "typed on instance a" in f["event"].get("msg", "")
                    and f["event"]["party_id"] != chat["chat_id"]
                )
            )
        sent_b = tab_b.say("typed on instance b")
        tab_b.wait_type("ack", id=sent_b)
        tab_a.wait_event("chat_session_message", msg_id=sent_b)
        # The instance that polls (where the chat started) dies without a goodbye.
        a.kill()
        sim.agent_say(chat["chat_id"], "said after the crash")
        sim.agent_say(chat["chat_id"], "and once more")
        tab_b.wait(
            lambda f: f["type"] == "event" and f["event"].get("msg") == "and once more", timeout=20
        )
        last = tab_b.say("still here on b")
        tab_b.wait_type("ack", id=last)
        tab_b.wait(
            lambda f: (
                f["type"] == "event"
                and "still here on b" in f["event"].get("msg", "")
                and f["event"]["party_id"] != chat["chat_id"]
            )
        )
        _contiguous_once(tab_b)
        msgs = _msgs(tab_b)
        for text in (
            "typed on instance a",
            "typed on instance b",
            "said after the crash",
            "and once more",
            "still here on b",
        ):
            assert msgs.count(text) == 1, (text, msgs)
        assert msgs.index("said after the crash") < msgs.index("and once more")
        # A fresh tab on the survivor replays the very same log.
        fresh = visitor.tab_on(b)
        fresh.hello()
        fresh.wait(lambda f: f["type"] == "event" and f["seq"] == tab_b.seqs()[-1])
        assert [(f["seq"], f["event"]) for f in fresh.events()][: len(tab_b.events())] == [
            (f["seq"], f["event"]) for f in tab_b.events()
        ]
    finally:
        visitor.close()
    assert sim.max_concurrent_polls <= 1


def test_redis_restart_mid_chat_loses_nothing(sim_server, redis_server, sim):
    server = ServerProcess(sim_server.base_url, {"STORE_URL": redis_server.url})
    visitor = Visitor(server.url)
    try:
        tab = visitor.tab()
        chat = visitor.start_chat(tab)
        redis_server.stop()
        sim.agent_say(chat["chat_id"], "while redis was down")
        redis_server.start()
        tab.wait(
            lambda f: f["type"] == "event" and f["event"].get("msg") == "while redis was down",
            timeout=20,
        )
        sent = tab.say("after redis came back")
        tab.wait_type("ack", id=sent, timeout=15)
        tab.wait(
            lambda f: (
                f["type"] == "event"
                and "after redis came back" in f["event"].get("msg", "")
                and f["event"]["party_id"] != chat["chat_id"]
            )
        )
        _contiguous_once(tab)
        msgs = _msgs(tab)
        assert msgs.count("while redis was down") == 1
    finally:
        visitor.close()
        server.stop()


def test_sigterm_closes_sockets_with_1012_and_hands_the_chat_over(sim_server, redis_url, sim):
    env = {"STORE_URL": redis_url, "LEASE_TTL": "60", "SECRET_KEY": "shared-" + uuid.uuid4().hex}
    a, b = ServerProcess(sim_server.base_url, env), ServerProcess(sim_server.base_url, env)
    visitor = Visitor(a.url)
    try:
        tab_a = visitor.tab()
        chat = visitor.start_chat(tab_a)
        tab_b = visitor.tab_on(b)
        tab_b.hello()
        a.proc.send_signal(signal.SIGTERM)
        assert tab_a.close_code() == 1012
        a.proc.wait(15)
        # The lease was given back: b polls at once, long before a 60 s lease would lapse.
        sim.agent_say(chat["chat_id"], "after the handover")
        tab_b.wait(
            lambda f: f["type"] == "event" and f["event"].get("msg") == "after the handover",
            timeout=8,
        )
        _contiguous_once(tab_b)
    finally:
        visitor.close()
        a.stop()
        b.stop()


def test_server_restart_mid_chat_loses_nothing(sim_server, redis_url, sim):
    env = {"STORE_URL": redis_url, "SECRET_KEY": "shared-" + uuid.uuid4().hex}
    before = ServerProcess(sim_server.base_url, env)
    visitor = Visitor(before.url)
    after = None
    try:
        tab = visitor.tab()
        chat = visitor.start_chat(tab)
        sent = tab.say("before the restart")
        tab.wait(
            lambda f: (
                f["type"] == "event"
                and "before the restart" in f["event"].get("msg", "")
                and f["event"]["party_id"] != chat["chat_id"]
            )
        )
        last = tab.seqs()[-1]
        before.stop()
        sim.agent_say(chat["chat_id"], "while the server restarted")
        after = ServerProcess(sim_server.base_url, env)
        back = visitor.tab_on(after)
        state = back.hello(after=last, chat_id=chat["chat_id"])
        assert state["chat"]["chat_id"] == chat["chat_id"] and state["last_seq"] >= last
        back.wait(
            lambda f: (
                f["type"] == "event" and f["event"].get("msg") == "while the server restarted"
            ),
            timeout=15,
        )
        assert back.seqs()[0] == last + 1
        assert back.seqs() == list(range(last + 1, last + 1 + len(back.seqs())))
        assert sum(1 for f in tab.events() + back.events() if f["event"].get("msg_id") == sent) == 1
    finally:
        visitor.close()
        before.stop()
        if after:
            after.stop()
