"""Per-visitor limits: too many frames or uploads get clear errors; nothing else is harmed."""

from __future__ import annotations

import uuid

import pytest

from tests.harness import ServerProcess, Visitor
from webchat.limits import LocalMovingWindow


@pytest.fixture(params=["memory", "redis"])
def strict_server(request, sim_server):
    env = {"FRAMES_PER_MINUTE": "12", "UPLOADS_PER_MINUTE": "2"}
    if request.param == "redis":
        env["STORE_URL"] = request.getfixturevalue("redis_url")
    server = ServerProcess(sim_server.base_url, env)
    yield server
    server.stop()


def test_frame_flood_is_refused_politely(strict_server, sim):
    visitor = Visitor(strict_server.url)
    other = Visitor(strict_server.url)
    try:
        tab = visitor.tab()
        chat = visitor.start_chat(tab)  # hello + start: 2 frames
        for _ in range(20):
            tab.send({"type": "ping"})
        refused = tab.wait(lambda f: f["type"] == "error" and f["code"] == "rate_limited")
        assert refused["message"]
        tab.wait(lambda f: sum(1 for g in tab.frames if g.get("code") == "rate_limited") >= 10)
        pongs = [f for f in tab.frames if f["type"] == "pong"]
        assert len(pongs) == 10  # 12 per minute, 2 spent on hello and start
        assert tab.ws.connected
        # The chat itself goes on: the agent's words still arrive on the same socket.
        sim.agent_say(chat["chat_id"], "still with you")
        tab.wait(lambda f: f["type"] == "event" and f["event"].get("msg") == "still with you")
        # Another visitor is not affected.
        other_tab = other.tab()
        other_tab.send({"type": "ping"})
        other_tab.wait_type("pong")
    finally:
        visitor.close()
        other.close()


def test_upload_flood_gets_429(strict_server, sim):
    visitor = Visitor(strict_server.url)
    try:
        visitor.start_chat(visitor.tab())
        codes = [
            visitor.http.post(
                strict_server.url + "/api/files", files={"file": (f"{n}.txt", b"x", "text/plain")}
            ).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 429]
        refused = visitor.http.post(
            strict_server.url + "/api/files", files={"file": ("n.txt", b"x", "text/plain")}
        )
        assert refused.json()["error"]["code"] == "too_many_requests"
    finally:
        visitor.close()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_local_moving_window_is_exact_per_key_and_forgets_idle_keys():
    clock = FakeClock()
    window = LocalMovingWindow(3, 60.0, clock)
    assert [window.hit("a") for _ in range(4)] == [True, True, True, False]
    assert window.hit("b")  # another key has its own allowance
    clock.now += 30
    assert not window.hit("a")  # refused hits are not counted, the window still holds 3
    clock.now += 30.001
    assert window.hit("a") and window.hit("a") and window.hit("a") and not window.hit("a")
    assert len(window) == 1  # "b" was idle a whole window: dropped by the sweep
    clock.now += 121
    assert window.hit("c")
    assert len(window) == 1  # and now "a"


def test_a_burst_of_frames_on_redis_is_limited_exactly_not_let_through(redis_url):
    """Hundreds of frames at the same moment: each waits for a connection of the limiter's
    pool, so exactly the allowance passes. Were a hit refused a connection, the limiter would
    swallow the error and let it through."""
    from tests.redis_server import burst_while_paused
    from webchat.limits import FrameLimiter

    limiter = FrameLimiter(redis_url, per_minute=100)
    visitor = uuid.uuid4().hex
    callers = 300
    allowed = burst_while_paused(redis_url, lambda: limiter.allow(visitor), callers)
    assert len(allowed) == callers and all(isinstance(a, bool) for a in allowed), allowed
    assert allowed.count(True) == 100
