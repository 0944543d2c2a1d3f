"""Fixtures: one strict simulator and one real gunicorn server for the integration tests."""

from __future__ import annotations

import os

import pytest

from tests.harness import APP_ID, ROOT, TENANT, ServerProcess, Visitor
from tests.redis_server import RedisServer
from webchat.simulator import SimConfig, Simulator, SimulatorServer

(ROOT / "test-artifacts").mkdir(exist_ok=True)


def fast_config(**changes) -> SimConfig:
    return SimConfig(
        app_id=APP_ID,
        tenant_url=TENANT,
        poll_hold=1.0,
        join_delay=0.05,
        typing_delay=0.02,
        reply_delay=0.05,
        **changes,
    )


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A private redis-server (restartable); skipped only off CI when none is installed."""
    try:
        server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    except FileNotFoundError:
        if os.environ.get("CI"):
            raise
        pytest.skip("redis-server is not installed (CI installs it)")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def sim_server():
    server = SimulatorServer(Simulator(fast_config())).start()
    yield server
    server.stop()


@pytest.fixture
def sim(sim_server) -> Simulator:
    """The shared simulator; a test may not leave a protocol violation behind."""
    simulator = sim_server.simulator
    before = len(simulator.violations)
    yield simulator
    assert simulator.violations[before:] == []
    assert simulator.max_concurrent_polls <= 1


@pytest.fixture(scope="session")
def server(sim_server):
    process = ServerProcess(sim_server.base_url)
    yield process
    process.stop()


@pytest.fixture
def visitor(server, sim):
    made: list[Visitor] = []

    def make(**kwargs) -> Visitor:
        v = Visitor(server.url, **kwargs)
        made.append(v)
        return v

    yield make
    for v in made:
        v.close()
