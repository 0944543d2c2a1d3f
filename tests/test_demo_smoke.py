"""The README's demo command: real gunicorn, no contact center, the built-in scripted agent."""

from __future__ import annotations

import signal

import requests

from tests.harness import ServerProcess, Visitor


def test_demo_mode_chats_with_the_scripted_agent():
    server = ServerProcess(None)
    visitor = None
    try:
        home = requests.get(server.url + "/", timeout=10)
        assert home.status_code == 200 and "/widget.js" in home.text
        loader = requests.get(server.url + "/widget.js", timeout=10)
        assert loader.status_code == 200 and "javascript" in loader.headers["Content-Type"]
        visitor = Visitor(server.url)
        tab = visitor.tab()
        state = tab.hello()
        assert state["availability"] == "available" and state["chat"] is None
        tab.send({"type": "start", "parameters": {"first_name": "Dana"}})
        joined = tab.wait_event("chat_session_party_joined", timeout=15)["event"]
        assert joined["type"] == "internal" and joined["display_name"]
        tab.wait(lambda f: f["type"] == "event" and "Dana" in f["event"].get("msg", ""), 15)
        sent = tab.say("hello from the demo")
        tab.wait_type("ack", id=sent)
        tab.wait(
            lambda f: (
                f["type"] == "event"
                and f["event"].get("party_id") == joined["party_id"]
                and "hello from the demo" in f["event"].get("msg", "")
            ),
            15,
        )
    finally:
        if visitor:
            visitor.close()
        server.stop()


def test_gevent_worker_serves_a_whole_chat_and_closes_with_1012(sim_server, sim):
    """WORKER_CLASS=gevent: the same app, its sockets and poll loops as greenlets."""
    server = ServerProcess(sim_server.base_url, {"WORKER_CLASS": "gevent"})
    visitor = Visitor(server.url)
    try:
        first, second = visitor.tab(), visitor.tab()
        chat = visitor.start_chat(first)
        second.hello()
        sent = second.say("hello under gevent")
        for tab in (first, second):
            tab.wait(
                lambda f: (
                    f["type"] == "event"
                    and "hello under gevent" in f["event"].get("msg", "")
                    and f["event"]["party_id"] != chat["chat_id"]
                )
            )
        second.wait_type("ack", id=sent)
        server.proc.send_signal(signal.SIGTERM)
        assert first.close_code() == 1012
    finally:
        visitor.close()
        server.stop()
