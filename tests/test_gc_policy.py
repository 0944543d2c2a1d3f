"""The garbage-collection steward (webchat/gcpolicy.py): long-lived objects are frozen out of
the collector's walks, and cyclic garbage among them is still collected once memory has grown,
in this process and in a real gunicorn worker where closed sockets leave such garbage."""

from __future__ import annotations

import gc
import re
import time

import pytest
import requests

from tests.harness import ServerProcess, Visitor
from webchat import gcpolicy
from webchat.gcpolicy import GcSteward
from webchat.settings import SettingsError, load_settings


class Node:
    """A cycle of two: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.other: Node | None = None


def make_cycles(count: int) -> None:
    for _ in range(count):
        a, b = Node(), Node()
        a.other, b.other = b, a


def live_nodes() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Node)


@pytest.fixture()
def clean_gc():
    """No automatic collection in between: the test decides what collects what."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()
    gc.unfreeze()
    gc.collect()


def test_a_freeze_takes_survivors_out_of_young_collections(clean_gc):
    steward = GcSteward(growth=1e9)  # never due
    steward._base = 10**15
    make_cycles(500)
    steward.tend()  # frozen: the collector no longer sees the cycles
    assert gc.get_freeze_count() > 0
    # Other threads of the test process may leave garbage of their own meanwhile: what counts
    # is that none of these cycles is found.
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        assert not [o for o in gc.garbage if type(o) is Node]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert live_nodes() == 0  # get_objects leaves frozen objects out
    gc.unfreeze()
    assert live_nodes() == 1000  # still there: cyclic garbage kept by the freeze


def test_memory_growth_brings_on_a_full_collection_of_frozen_garbage(clean_gc, monkeypatch):
    resident = {"now": 100_000_000}
    monkeypatch.setattr(gcpolicy, "resident_bytes", lambda: resident["now"])
    steward = GcSteward(growth=0.25)
    steward._base = 100_000_000
    make_cycles(500)
    steward.tend()
    assert steward.full_collections == 0
    resident["now"] = 124_000_000  # under a quarter more: not yet
    steward.tend()
    assert steward.full_collections == 0
    resident["now"] = 126_000_000
    steward.tend()
    assert steward.full_collections == 1
    assert steward.last_full_collected >= 1000
    assert steward._base == 126_000_000  # the next one is counted from here
    gc.unfreeze()
    assert live_nodes() == 0


def test_without_proc_a_full_collection_still_comes_in_time(clean_gc, monkeypatch):
    monkeypatch.setattr(gcpolicy, "resident_bytes", lambda: None)
    steward = GcSteward()
    steward._base = None
    steward.tend()
    assert steward.full_collections == 0
    steward._last_full_at -= gcpolicy.FALLBACK_FULL_SECONDS
    steward.tend()
    assert steward.full_collections == 1


def test_settings_read_and_checked():
    assert load_settings({}).gc_freeze is True
    assert load_settings({"GC_FREEZE": "false"}).gc_freeze is False
    assert load_settings({"GC_FULL_GROWTH": "0.1"}).gc_full_growth == 0.1
    with pytest.raises(SettingsError, match="GC_FULL_GROWTH"):
        load_settings({"GC_FULL_GROWTH": "-1"})


def metric(base: str, name: str) -> float:
    text = requests.get(base + "/metrics", timeout=10).text
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_a_worker_collects_what_closed_sockets_leave(sim_server, worker_class):
    """Each closed socket leaves cyclic garbage (gunicorn's, Flask's and flask-sock's objects);
    frozen, it would stay for good. With a small growth allowance, a worker that sees many
    sockets come and go runs full collections that find it."""
    server = ServerProcess(
        sim_server.base_url, {"WORKER_CLASS": worker_class, "GC_FULL_GROWTH": "0.01"}
    )
    try:
        assert metric(server.url, "webchat_gc_full_collections") == 0
        deadline = time.monotonic() + 60
        while metric(server.url, "webchat_gc_full_collections") < 2:
            assert time.monotonic() < deadline, "no full collection while sockets came and went"
            for _ in range(20):  # a visitor's page, then its socket, each time a new visitor
                visitor = Visitor(server.url)
                visitor.tab().hello()
                visitor.close()
        assert metric(server.url, "webchat_gc_last_full_seconds") > 0
    finally:
        server.stop()


def test_gc_freeze_false_leaves_the_collector_alone(sim_server):
    server = ServerProcess(sim_server.base_url, {"GC_FREEZE": "false", "GC_FULL_GROWTH": "0.01"})
    try:
        for _ in range(60):
            visitor = Visitor(server.url)
            visitor.tab().hello()
            visitor.close()
        assert metric(server.url, "webchat_gc_full_collections") == 0
    finally:
        server.stop()


def test_gevent_keeps_no_spawning_stacks_unless_the_operator_asks():
    from webchat.settings import gevent_settings

    env: dict[str, str] = {}
    gevent_settings(env)
    assert env == {"GEVENT_TRACK_GREENLET_TREE": "false"}
    env = {"GEVENT_TRACK_GREENLET_TREE": "true"}
    gevent_settings(env)
    assert env["GEVENT_TRACK_GREENLET_TREE"] == "true"


def wait_emptied(base: str, count: int) -> bool:
    """Wait until `count` sockets of the worker have ended (tests/garbage_probe_app.py)."""
    answer = requests.get(base + f"/__test/emptied?at_least={count}", timeout=40).json()
    return bool(answer["reached"])


@pytest.mark.parametrize("worker_class", ["gevent", "gthread"])
def test_a_closed_chat_leaves_next_to_nothing_for_a_full_collection(sim_server, worker_class):
    """A socket's objects (gunicorn's request, Flask's contexts, simple-websocket's and
    wsproto's state, our session and outbox) are freed by reference counting when it closes.
    Left in cycles, they would sit frozen until a full collection, which holds a worker with
    thousands of chats for a second (docs/capacity.md). What stays is flask-sock's class made
    for each socket, and the emptied socket object it refers to."""
    server = ServerProcess(
        sim_server.base_url,
        {"WORKER_CLASS": worker_class, "GC_FULL_GROWTH": "100"},
        app="tests.garbage_probe_app:app",
    )
    try:
        def garbage() -> dict[str, int]:
            return requests.get(server.url + "/__test/garbage", timeout=30).json()

        count = 30
        visitors = []
        for _ in range(count):  # each with a page, a socket and a chat, as a customer has
            visitor = Visitor(server.url)
            visitor.start_chat(visitor.tab())
            visitors.append(visitor)
        garbage()  # what opening them left (pages, handshakes) goes first
        for visitor in visitors:
            visitor.close()
        assert wait_emptied(server.url, count), "the closed sockets did not end"
        left = garbage()
        per_chat = sum(left.values()) / count
        named = {"SocketSession", "Outbox", "RequestContext", "Request", "WSConnection"}
        assert not named & set(left), left
        assert per_chat <= 15, left
    finally:
        server.stop()


def test_sockets_told_busy_at_the_ceiling_leave_next_to_nothing_either(sim_server):
    """At the ceiling, sockets keep coming and are closed with 4029 at once: each must not
    leave its request behind for a full collection either."""
    from webchat.sockets.registry import BUSY

    server = ServerProcess(
        sim_server.base_url,
        {"WS_MAX_OPEN": "1", "GC_FULL_GROWTH": "100"},
        app="tests.garbage_probe_app:app",
    )
    try:

        def garbage() -> dict[str, int]:
            return requests.get(server.url + "/__test/garbage", timeout=30).json()

        holder = Visitor(server.url)
        holder.tab().hello()
        count = 30
        refused = [Visitor(server.url) for _ in range(count)]
        garbage()  # what loading their pages left goes first
        for visitor in refused:
            assert visitor.tab().close_code() == BUSY
            visitor.close()
        # The holder's socket is open: every socket emptied so far is a refused one.
        assert wait_emptied(server.url, count), "the refused sockets did not end"
        left = garbage()
        assert not {"Request", "RequestContext", "WSConnection"} & set(left), left
        # flask-sock's class (about 10 objects) and Werkzeug's URL matcher (8, as every request)
        assert sum(left.values()) / count <= 20, left
        holder.close()
    finally:
        server.stop()



def test_a_page_request_leaves_nothing_of_itself_in_cycles(sim_server):
    """Pages and API calls come and go by the thousand; what a request leaves in cycles can be
    frozen before a young collection finds it, and then waits for a full collection. What is
    left is Werkzeug's: its URL matcher makes a closure that refers to itself for every match
    (8 objects), none of the request's own objects."""
    server = ServerProcess(sim_server.base_url, app="tests.garbage_probe_app:app")
    try:
        http = requests.Session()
        probe = server.url + "/__test/garbage"
        for _ in range(3):  # the first requests warm caches up
            http.get(server.url + "/chat", timeout=10)
            http.get(probe, timeout=30)
        count = 40
        for _ in range(count):
            assert http.get(server.url + "/chat", timeout=10).status_code == 200
        left = http.get(probe, timeout=30).json()
        assert not {"Request", "Response", "RequestContext", "dict"} & set(left), left
        assert sum(left.values()) / count <= 8.5, left
    finally:
        server.stop()
