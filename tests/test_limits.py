"""Per-visitor limits: too many frames or uploads get clear errors; nothing else is harmed."""

from __future__ import annotations

import pytest

from tests.harness import ServerProcess, Visitor


@pytest.fixture
def strict_server(sim_server, redis_url):
    server = ServerProcess(
        sim_server.base_url,
        {"FRAMES_PER_MINUTE": "12", "UPLOADS_PER_MINUTE": "2", "STORE_URL": redis_url},
    )
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
