"""Open files (webchat/fdlimit.py): gunicorn raises its soft limit to the hard one before its
workers fork, and a worker whose limit cannot hold WS_MAX_OPEN chats refuses sockets past what
it holds with BUSY (4029) while pages and /healthz keep answering, instead of failing with
EMFILE. Each chat takes two open files: its socket and its poll upstream."""

from __future__ import annotations

import psutil
import pytest
import requests

from tests.harness import ServerProcess, Visitor
from tests.test_oversized_frames import wait_open_sockets
from webchat import fdlimit
from webchat.sockets.registry import BUSY


def worker_limit(server: ServerProcess) -> int:
    (worker,) = psutil.Process(server.proc.pid).children()
    return worker.rlimit(psutil.RLIMIT_NOFILE)[0]


def test_the_soft_limit_is_raised_to_the_hard_one(sim_server):
    server = ServerProcess(sim_server.base_url, open_files=(1024, 4096))
    try:
        assert worker_limit(server) == 4096
    finally:
        server.stop()


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_a_limit_too_low_for_ws_max_open_is_said_and_becomes_the_ceiling(
    sim_server, sim, worker_class
):
    limit = fdlimit.RESERVE + 2 * 6  # room for six chats
    env = {"WORKER_CLASS": worker_class}  # WS_MAX_OPEN: 10,000 (gevent), 56 (64 threads)
    server = ServerProcess(sim_server.base_url, env, open_files=(limit, limit))
    visitors = [Visitor(server.url) for _ in range(7)]
    try:
        assert fdlimit.sockets_within(limit) == 6
        tabs = []
        for visitor in visitors[:6]:
            tab = visitor.tab()
            visitor.start_chat(tab)  # a socket and a held poll each
            tabs.append(tab)
        assert wait_open_sockets(server.url, 6) == 6
        assert visitors[6].tab().close_code() == BUSY
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        assert Visitor(server.url).token  # a page still loads
        log = server.log_path.read_text()
        assert "open files limited to" in log and "about 6 chats" in log
        assert "Too many open files" not in log
    finally:
        for visitor in visitors:
            visitor.close()
        server.stop()
