"""Highly available Redis: `redis+sentinel://` URLs, and a chat that survives a failover.

The integration tests run a real primary, replica and three sentinels (tests/redis_sentinel.py)
and kill the primary mid-chat: after the sentinels promote the replica, the chat goes on
through two real gunicorn processes, every tab sees every event once, and the simulator checks
that the chat was never polled twice at once.
"""

from __future__ import annotations

import os
import queue
import shutil
import uuid
from typing import Any

import pytest
import redis

from tests.harness import ServerProcess, Visitor
from tests.redis_sentinel import SentinelCluster
from webchat.limits import FrameLimiter, StartLimiter, storage_for
from webchat.settings import SettingsError, load_settings
from webchat.store import open_store
from webchat.store.sentinel import parse_sentinel_url

# -- URLs ---------------------------------------------------------------------------------------


def test_a_sentinel_url_names_sentinels_service_db_and_credentials():
    url = "redis+sentinel://app:p%40ss@10.0.0.1:26380,sentinel-b,[::1]:5000/main/3"
    parsed = parse_sentinel_url(url)
    assert parsed.sentinels == (("10.0.0.1", 26380), ("sentinel-b", 26379), ("::1", 5000))
    assert (parsed.service, parsed.db) == ("main", 3)
    assert parsed.auth() == {"username": "app", "password": "p@ss"}
    assert parsed.sentinel_auth() == {}
    assert "p@ss" not in repr(parsed)
    minimal = parse_sentinel_url("redis+sentinel://:pw@h:1/svc?sentinel_password=sp")
    assert (minimal.db, minimal.auth(), minimal.sentinel_auth()) == (
        0,
        {"password": "pw"},
        {"password": "sp"},
    )


@pytest.mark.parametrize(
    "url",
    [
        "redis+sentinel://h:1",  # no service
        "redis+sentinel://h:1/",
        "redis+sentinel:///svc",  # no sentinel
        "redis+sentinel://h:1,/svc",
        "redis+sentinel://h:port/svc",
        "redis+sentinel://h:1/svc/db0",
        "redis+sentinel://h:1/svc/0/extra",
        "redis+sentinel://h:1/svc?ssl=true",
        "redis+sentinel://:secret-word@h:99999/svc",
    ],
)
def test_a_bad_sentinel_url_stops_start_up_with_one_line(url):
    with pytest.raises(SettingsError) as info:
        load_settings({"STORE_URL": url})
    message = str(info.value)
    assert message.startswith("STORE_URL: ") and "\n" not in message
    assert "secret-word" not in message


def test_a_good_sentinel_url_is_accepted():
    url = "redis+sentinel://:pw@a:26379,b:26379/main/1"
    assert load_settings({"STORE_URL": url}).store_url == url


def test_the_rate_limits_use_the_same_sentinels_primary_and_credentials():
    uri, options = storage_for("redis+sentinel://:pw@a,[::1]:26380/main/2?sentinel_password=sp")
    assert uri == "redis+sentinel://a:26379,[::1]:26380/main"  # the syntax limits reads
    assert options["db"] == 2 and options["password"] == "pw"
    assert options["sentinel_kwargs"]["password"] == "sp"
    assert options["use_replicas"] is False
    uri, options = storage_for("redis+sentinel://:pw@a/main")
    assert options["sentinel_kwargs"]["password"] is None  # sentinels without a password
    assert storage_for("redis://h:1/0") == ("redis://h:1/0", {})
    assert storage_for("memory://") == ("memory://", {})


# -- a real primary, replica and sentinels ------------------------------------------------------


@pytest.fixture
def cluster(tmp_path):
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            raise FileNotFoundError("redis-server is not installed")
        pytest.skip("waits for redis-server (Debian package; scripts/test installs it as root)")
    made = SentinelCluster(tmp_path)
    try:
        yield made.start()
    finally:
        made.stop()


def test_store_and_rate_limits_follow_the_primary_through_a_failover(cluster):
    store = open_store(cluster.url)
    heard: queue.Queue[dict[str, Any]] = queue.Queue()
    try:
        store.subscribe("v1", heard.put)
        store.merge_cookies("v1", [{"name": "a", "value": "1", "domain": "x", "path": "/"}])
        frames = FrameLimiter(cluster.url, per_minute=2)
        starts = StartLimiter(cluster.url, per_visitor=1, per_address=100)
        assert frames.allow("v1") and frames.allow("v1") and not frames.allow("v1")
        assert starts.allow("v1", "10.0.0.1") and not starts.allow("v1", "10.0.0.1")
        primary = cluster.client(cluster.primary.port)
        assert primary.keys("LIMITS*")  # counted in the primary, not in this process
        assert primary.exists("wc:v:v1:cookies")
        # Everything so far reaches the replica before the primary dies: this test is about
        # following the primary (docs/redis.md says what a write lost at a failover does).
        primary.set("fence", "1")
        assert primary.execute_command("WAIT", 1, 5000) == 1
        primary.close()

        cluster.kill_primary()
        cluster.wait_failover()
        # A pooled connection to the dead primary is found closed when taken from the pool,
        # and connects again, asking the sentinels for the new primary.
        assert store.ping()
        assert store.get_cookies("v1")[0]["value"] == "1"
        assert heard.get(timeout=30) == {"kind": "resync"}  # sockets catch up on the log
        store.publish("v1", {"kind": "state"})
        assert _next_besides_resync(heard) == {"kind": "state"}  # subscribed on the new primary
        assert not frames.allow("v1")  # still counted: the replica had the counts
        assert frames.allow("v2")
        promoted = cluster.client(cluster.replica.port)
        assert promoted.keys("LIMITS*frames/v2*")
        promoted.close()
    finally:
        store.close()


def _next_besides_resync(heard: queue.Queue[dict[str, Any]]) -> dict[str, Any]:
    while (message := heard.get(timeout=10)) == {"kind": "resync"}:
        pass
    return message



def _said(text: str):
    return lambda f: f["type"] == "event" and f["event"].get("msg") == text


def _echoed(text: str, chat_id: str):
    """The visitor's own message coming back as a chat event."""
    return lambda f: (
        f["type"] == "event"
        and text in (f["event"].get("msg") or "")
        and f["event"].get("party_id") != chat_id
    )


def _each_event_once(tab) -> None:
    seqs = tab.seqs()
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    ids = [f["event"]["msg_id"] for f in tab.events() if f["event"].get("msg_id")]
    assert len(ids) == len(set(ids)), ids


def test_a_chat_on_two_processes_survives_a_failover(cluster, sim_server, sim):
    env = {
        "STORE_URL": cluster.url,
        "LEASE_TTL": "2",
        "SECRET_KEY": "shared-" + uuid.uuid4().hex,
        "UPLOADS_PER_MINUTE": "1",
    }
    first = ServerProcess(sim_server.base_url, env)
    second = ServerProcess(sim_server.base_url, env)
    visitor = Visitor(first.url)
    try:
        tab_a = visitor.tab()
        chat = visitor.start_chat(tab_a, first_name="Kim")
        chat_id = chat["chat_id"]
        tab_b = visitor.tab_on(second)
        assert tab_b.hello()["chat"]["chat_id"] == chat_id
        sent = tab_a.say("before the failover")
        for tab in (tab_a, tab_b):
            tab.wait_event("chat_session_message", msg_id=sent)
            tab.wait(_echoed("before the failover", chat_id))

        cluster.kill_primary()
        sim.agent_say(chat_id, "while the primary was down")
        cluster.wait_failover()
        sim.agent_say(chat_id, "after the failover")
        for tab in (tab_a, tab_b):
            tab.wait(_said("after the failover"), timeout=40)
        sent_b = tab_b.say("typed after the failover")
        tab_b.wait_type("ack", id=sent_b, timeout=20)
        for tab in (tab_a, tab_b):
            tab.wait_event("chat_session_message", msg_id=sent_b, timeout=20)
            tab.wait(_echoed("typed after the failover", chat_id), timeout=20)

        for tab in (tab_a, tab_b):
            _each_event_once(tab)
            texts = [f["event"].get("msg") for f in tab.events()]
            for text in ("while the primary was down", "after the failover"):
                assert texts.count(text) == 1, (text, texts)
            assert texts.index("while the primary was down") < texts.index("after the failover")
        assert sim.posts(chat_id)[sent_b] == 1
        # A new tab replays the very log the open tabs saw, from the new primary.
        fresh = visitor.tab_on(second)
        fresh.hello()
        fresh.wait(lambda f: f["type"] == "event" and f["seq"] == tab_b.seqs()[-1])
        assert [(f["seq"], f["event"]) for f in fresh.events()][: len(tab_b.events())] == [
            (f["seq"], f["event"]) for f in tab_b.events()
        ]
        # flask-limiter counts uploads on the new primary too (it would let both through if
        # its storage were unreachable).
        codes = [
            visitor.http.post(
                first.url + "/api/files", files={"file": (f"{n}.txt", b"x", "text/plain")}
            ).status_code
            for n in range(2)
        ]
        assert codes == [200, 429]
    finally:
        visitor.close()
        first.stop()
        second.stop()
    assert sim.max_concurrent_polls <= 1


def test_the_listener_catches_up_when_its_connection_is_dropped(redis_server):
    """A sentinel switching primaries on purpose (SENTINEL FAILOVER) makes the old primary drop
    its clients while the new one already takes connections; CLIENT KILL does the same to a
    single server. The listener reconnects, subscribes again, and tells its sockets to read
    what was published in between."""
    store = open_store(redis_server.url)
    heard: queue.Queue[dict[str, Any]] = queue.Queue()
    admin = redis.Redis.from_url(redis_server.url)
    try:
        store.subscribe("quick", heard.put)
        assert admin.client_kill_filter(_type="pubsub") >= 1
        assert heard.get(timeout=20) == {"kind": "resync"}
        admin.publish("wc:ch:quick", '{"kind": "state"}')
        assert _next_besides_resync(heard) == {"kind": "state"}  # subscribed again
    finally:
        admin.close()
        store.close()
