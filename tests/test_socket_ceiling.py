"""The ceiling of open sockets per process (WS_MAX_OPEN): one more socket is closed with 4029
("busy, retry later") while pages, /healthz and /metrics keep answering; room that frees up
lets the next socket in."""

from __future__ import annotations

import pytest
import requests

from tests.harness import ServerProcess, Visitor
from tests.test_oversized_frames import wait_open_sockets
from webchat.settings import SettingsError, load_settings
from webchat.sockets.registry import BUSY, SocketRegistry

CEILING = 5


@pytest.fixture(scope="module", params=["gevent", "gthread"])
def server(request, sim_server):
    process = ServerProcess(
        sim_server.base_url, {"WORKER_CLASS": request.param, "WS_MAX_OPEN": str(CEILING)}
    )
    yield process
    process.stop()


def test_one_socket_past_the_ceiling_is_told_busy_and_pages_still_answer(server, sim):
    visitors = [Visitor(server.url) for _ in range(CEILING + 1)]
    try:
        tabs = [visitor.tab() for visitor in visitors[:CEILING]]
        for tab in tabs:
            assert tab.hello()["availability"] == "available"
        assert wait_open_sockets(server.url, CEILING) == CEILING

        assert visitors[CEILING].tab().close_code() == BUSY
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        newcomer = Visitor(server.url)  # loads /chat
        visitors.append(newcomer)
        assert newcomer.token
        metrics = requests.get(server.url + "/metrics", timeout=10)
        assert metrics.status_code == 200 and f"webchat_open_sockets {CEILING}" in metrics.text

        tabs[0].close()
        assert wait_open_sockets(server.url, CEILING - 1) == CEILING - 1
        assert newcomer.tab().hello()["availability"] == "available"
        assert visitors[CEILING].tab().close_code() == BUSY  # full again
    finally:
        for visitor in visitors:
            visitor.close()


class Socket:
    def close(self, reason: int | None = None, message: str | None = None) -> None:
        """Nothing to close: a stand-in for a socket in the registry."""


def test_registry_admits_up_to_its_ceiling():
    registry = SocketRegistry(max_open=2)
    first, second, third = Socket(), Socket(), Socket()
    assert registry.admit(first) and registry.admit(second)
    assert not registry.admit(third) and len(registry) == 2
    registry.discard(first)
    assert registry.admit(third) and len(registry) == 2
    assert SocketRegistry().admit(first)  # no ceiling given: no ceiling


@pytest.mark.parametrize(
    ("env", "max_open", "connections"),
    [
        ({}, 10000, 10256),  # gevent: pages keep 256 connections above the ceiling
        ({"WS_MAX_OPEN": "500"}, 500, 756),
        ({"WS_MAX_OPEN": "500", "WORKER_CONNECTIONS": "600"}, 500, 600),
        ({"WORKER_CONNECTIONS": "5000"}, 4744, 5000),
        ({"WORKER_CONNECTIONS": "80"}, 70, 80),
        ({"WORKER_CLASS": "gthread"}, 224, 320),  # THREADS=256: 32 threads kept for pages
        ({"WORKER_CLASS": "gthread", "THREADS": "64"}, 56, 128),
        ({"WORKER_CLASS": "gthread", "THREADS": "1"}, 1, 65),
        ({"WORKER_CLASS": "gthread", "WS_MAX_OPEN": "100"}, 100, 320),
    ],
)
def test_ceiling_defaults_follow_the_worker_class(env, max_open, connections):
    settings = load_settings(env)
    assert (settings.ws_max_open, settings.worker_connections) == (max_open, connections)


@pytest.mark.parametrize(
    "env",
    [
        {"WS_MAX_OPEN": "0"},
        {"WS_MAX_OPEN": "-3"},
        {"WS_MAX_OPEN": "ten"},
        {"WS_MAX_OPEN": "2.5"},
        {"WS_MAX_OPEN": "600", "WORKER_CONNECTIONS": "500"},
        {"WS_MAX_OPEN": "300", "WORKER_CLASS": "gthread"},  # THREADS=256
    ],
)
def test_a_bad_ceiling_names_the_variable(env):
    with pytest.raises(SettingsError, match="^WS_MAX_OPEN: "):
        load_settings(env)
