"""A chat's poll loop against an upstream that answers its polls with every broken or hostile
reply of tests/test_transport.py, one after another: each costs one poll, the loop goes on,
the visitor's jar stays clean, and the event that finally comes is logged exactly once."""

from __future__ import annotations

import json
import socket
import threading

from tests.harness import relay_on
from tests.test_transport import BAD_FRAMING, EMPTY, HOSTILE, RawServer, answer
from webchat.store import MemoryStore

CHAT = "chat-hostile"
GOOD = answer(
    json.dumps(
        {
            "events": [
                {
                    "event": "chat_session_message",
                    "msg_id": "m-after-all",
                    "party_id": "agent-1",
                    "msg": "still here",
                    "timestamp": "1700000000",
                }
            ]
        }
    ).encode()
)


def test_a_poll_loop_outlives_every_hostile_answer():
    replies = [*BAD_FRAMING.values(), *HOSTILE.values(), GOOD]
    served: list[bytes] = []
    done = threading.Event()
    lock = threading.Lock()

    def script(conn: socket.socket, request: bytes) -> bool:
        if b"/events" not in request.split(b"\r\n", 1)[0]:
            conn.sendall(answer(EMPTY))  # history, if the loop asks
            return True
        with lock:
            reply = replies[len(served)] if len(served) < len(replies) else None
            if reply is not None:
                served.append(reply)
        if reply is None:  # all served: hold the poll as ServicePattern would
            done.set()
            threading.Event().wait(0.5)
            reply = answer(EMPTY)
        conn.sendall(reply)
        return True

    raw = RawServer()
    raw.script = script
    store = MemoryStore()
    store.set_chat("v", {"chat_id": CHAT, "state": "connected", "ended": False})
    relay = relay_on(raw.url, store, retry_base=0.01, retry_cap=0.05)
    try:
        relay.loops.ensure("v", CHAT)
        assert done.wait(30), f"the loop stopped after {len(served)} of {len(replies)} replies"
        assert relay.polling() == [CHAT]
        logged = [e for _, e in store.read(CHAT) if e.get("msg_id") == "m-after-all"]
        assert [e["msg"] for e in logged] == ["still here"]
        for cookie in store.get_cookies("v"):
            text = f"{cookie['name']}{cookie['value'] or ''}"
            assert all(32 <= ord(c) != 127 for c in text), cookie
    finally:
        relay.close(wait=2)
        raw.close()
