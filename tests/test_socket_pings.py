"""WebSocket pings (WS_PING_INTERVAL) and the reader's wait between them, on both worker classes.

simple-websocket's reader waits for each browser socket with our one-socket selector
(webchat/sockets/rawsocket.py): a ping goes out every interval, a peer that has not answered the
last one by the next is closed (1008), one that answers stays, and under gthread a socket costs
one descriptor, not two (the default selector's epoll descriptor). The client here is a raw TCP
socket spoken to with wsproto, so it answers pings only when the test says so.
"""

from __future__ import annotations

import os
import socket
import time

import psutil
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)

from tests.harness import ServerProcess, Visitor
from tests.test_oversized_frames import wait_open_sockets

INTERVAL = 1


@pytest.fixture(scope="module", params=["gevent", "gthread"])
def server(request, sim_server):
    process = ServerProcess(
        sim_server.base_url,
        {"WORKER_CLASS": request.param, "WS_PING_INTERVAL": str(INTERVAL)},
    )
    process.worker_class = request.param
    yield process
    process.stop()


class RawTab:
    """A WebSocket client that does only what the test tells it to, pongs included."""

    def __init__(self, visitor: Visitor) -> None:
        host, port = visitor.base.split("://", 1)[1].split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.ws = WSConnection(ConnectionType.CLIENT)
        cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.http.cookies)
        headers = [(b"Origin", visitor.base.encode()), (b"Cookie", cookie.encode())]
        target = f"/ws?token={visitor.token}"
        self.sock.sendall(
            self.ws.send(Request(host=f"{host}:{port}", target=target, extra_headers=headers))
        )
        assert isinstance(self.next_event(), AcceptConnection)

    def next_event(self, timeout: float = 10) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.ws.events():
                return event
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)

    def send(self, event: Event) -> None:
        self.sock.sendall(self.ws.send(event))

    def close(self) -> None:
        self.sock.close()


def test_a_peer_that_never_answers_a_ping_is_closed(server):
    visitor = Visitor(server.url)
    tab = RawTab(visitor)
    try:
        tab.send(TextMessage('{"type":"hello","after":0}'))
        seen: list[str] = []
        while True:
            event = tab.next_event(timeout=6 * INTERVAL)
            seen.append(type(event).__name__)
            if isinstance(event, CloseConnection):
                break
        assert "Ping" in seen  # it was asked, and said nothing
        assert event.code == 1008
    finally:
        tab.close()
        visitor.close()


def test_a_peer_that_answers_stays_open(server):
    visitor = Visitor(server.url)
    tab = RawTab(visitor)
    try:
        answered = 0
        while answered < 3:
            event = tab.next_event(timeout=6 * INTERVAL)
            assert not isinstance(event, CloseConnection), event
            if isinstance(event, Ping):
                tab.send(event.response())
                answered += 1
        tab.send(TextMessage('{"type":"ping"}'))
        while not (isinstance(event, TextMessage) and '"pong"' in event.data):
            event = tab.next_event(timeout=6 * INTERVAL)
            if isinstance(event, Ping):
                tab.send(event.response())
            assert not isinstance(event, CloseConnection), event
    finally:
        tab.close()
        visitor.close()


def worker_fds(server: ServerProcess) -> int:
    (worker,) = psutil.Process(server.proc.pid).children()
    return len(os.listdir(f"/proc/{worker.pid}/fd"))


def test_a_socket_costs_one_descriptor(server):
    visitors = [Visitor(server.url) for _ in range(20)]
    before_sockets = wait_open_sockets(server.url, 0)
    before = worker_fds(server)
    tabs = []
    try:
        for visitor in visitors:
            tab = visitor.tab()
            tab.hello()
            tabs.append(tab)
        assert wait_open_sockets(server.url, before_sockets + 20) == before_sockets + 20
        grown = worker_fds(server) - before
        # Two a socket would be 40. A little under 20 is the pages' keep-alive connections,
        # counted in `before`, closing meanwhile.
        assert 15 <= grown < 26, f"{grown} descriptors for 20 sockets"
    finally:
        for visitor in visitors:
            visitor.close()
