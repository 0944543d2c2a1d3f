"""A tab that never reads is ended after WS_SEND_TIMEOUT, under either worker class.

Its writer waits on a full TCP window; after the send timeout the write fails and the socket
ends. Gevent's sockets ignore SO_SNDTIMEO, so there the socket's own timeout must do it.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.harness import ServerProcess, Visitor
from tests.test_oversized_frames import open_sockets
from tests.test_slow_tab import FILLER, _is_msg, _stalled_socket, _window_filler
from webchat.settings import SettingsError, load_settings

SEND_TIMEOUT = 2


@pytest.fixture(params=["gthread", "gevent"])
def server(request, sim_server):
    env = {
        "WORKER_CLASS": request.param,
        "WS_SEND_TIMEOUT": str(SEND_TIMEOUT),
        "FRAMES_PER_MINUTE": "100000",
        "SECRET_KEY": "never-reading-" + uuid.uuid4().hex,
    }
    process = ServerProcess(sim_server.base_url, env)
    yield process
    process.stop()


def test_a_tab_that_never_reads_is_ended_while_others_chat(server, sim):
    base = server.url
    slow, other = Visitor(base), Visitor(base)
    try:
        reader = slow.tab()
        chat_id = slow.start_chat(reader)["chat_id"]
        stalled = _stalled_socket(slow)
        stalled.send(json.dumps({"type": "hello", "after": 0, "chat_id": chat_id}))
        talker = other.tab()
        other_chat = other.start_chat(talker)["chat_id"]
        assert open_sockets(base) == 3

        # Fill the stalled tab's socket buffers: its writer waits on a full window from here.
        for i in range(_window_filler()):
            text = f"flood {i} {FILLER}"
            sim.agent_say(chat_id, text)
            reader.wait(_is_msg(text), timeout=15)

        # The other visitor chats on; the stalled tab is gone within a bounded wait. The figure
        # is asked for between messages (the server offers no event to wait on).
        deadline = time.monotonic() + 10 * SEND_TIMEOUT
        rounds = 0
        while open_sockets(base) != 2 and time.monotonic() < deadline:
            text = f"still here {rounds}"
            sim.agent_say(other_chat, text)
            talker.wait(_is_msg(text), timeout=10)
            rounds += 1
        assert open_sockets(base) == 2
        # Both remaining tabs still work.
        talker.say("and you?")
        talker.wait_type("ack")
        sim.agent_say(chat_id, "after the stall")
        reader.wait(_is_msg("after the stall"), timeout=10)
        stalled.close()
    finally:
        slow.close()
        other.close()


@pytest.mark.parametrize(
    "name",
    [
        "WS_SEND_TIMEOUT",
        "WS_HELLO_TIMEOUT",
        "WS_MAX_PER_VISITOR",
        "WS_MAX_PER_ADDRESS",
        "UPLOAD_BODY_TIMEOUT",
        "UPLOAD_IDLE_TIMEOUT",
    ],
)
@pytest.mark.parametrize("raw", ["0", "-3", "soon", "nan"])
def test_bad_socket_and_upload_bounds_stop_start_up(name, raw):
    with pytest.raises(SettingsError, match=name):
        load_settings({name: raw})


def test_socket_and_upload_bounds_are_read():
    settings = load_settings(
        {
            "WS_SEND_TIMEOUT": "2.5",
            "WS_HELLO_TIMEOUT": "4",
            "WS_MAX_PER_VISITOR": "3",
            "WS_MAX_PER_ADDRESS": "20",
            "UPLOAD_BODY_TIMEOUT": "90",
            "UPLOAD_IDLE_TIMEOUT": "15",
        }
    )
    assert (settings.ws_send_timeout, settings.ws_hello_timeout) == (2.5, 4.0)
    assert (settings.ws_max_per_visitor, settings.ws_max_per_address) == (3, 20)
    assert (settings.upload_body_timeout, settings.upload_idle_timeout) == (90.0, 15.0)
    defaults = load_settings({})
    assert (defaults.ws_send_timeout, defaults.ws_hello_timeout) == (60.0, 10.0)
    assert (defaults.ws_max_per_visitor, defaults.ws_max_per_address) == (8, 256)
    assert (defaults.upload_body_timeout, defaults.upload_idle_timeout) == (120.0, 30.0)
