"""/metrics answers only the peers METRICS_ALLOW names (loopback by default); to anyone else it
does not exist. Checked on real gunicorn, where a client on 127.0.0.1 is seen as 127.0.0.1."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.harness import ServerProcess
from webchat.routes import metrics_allowed
from webchat.settings import LOOPBACK, SettingsError, load_settings


@pytest.fixture(scope="module")
def ranged_server(sim_server):
    """Only 10.0.0.0/8 may read /metrics, behind one trusted proxy."""
    process = ServerProcess(
        sim_server.base_url, {"METRICS_ALLOW": "10.0.0.0/8", "TRUSTED_PROXIES": "1"}
    )
    yield process
    process.stop()


def test_loopback_reads_metrics_by_default(server):
    response = requests.get(server.url + "/metrics", timeout=10)
    assert response.status_code == 200
    assert "webchat_open_sockets" in response.text
    # Without TRUSTED_PROXIES a forwarded address is not believed: the peer is still loopback.
    forged = requests.get(
        server.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10
    )
    assert forged.status_code == 200


def test_outside_the_ranges_metrics_does_not_exist(ranged_server):
    base = ranged_server.url
    refused = requests.get(base + "/metrics", timeout=10)
    assert refused.status_code == 404
    assert "webchat_" not in refused.text
    # The same answer as for a path that does not exist: nothing tells /metrics is there.
    unknown = requests.get(base + "/no-such-path", timeout=10)
    assert (refused.status_code, refused.json()) == (unknown.status_code, unknown.json())
    # Behind the trusted proxy, the client it names is the peer that counts.
    inside = requests.get(base + "/metrics", headers={"X-Forwarded-For": "10.1.2.3"}, timeout=10)
    assert inside.status_code == 200 and "webchat_open_sockets" in inside.text
    outside = requests.get(
        base + "/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, timeout=10
    )
    assert outside.status_code == 404


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),  # a dual-stack socket's view of an IPv4 peer
        ("127.0.0.2", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
        ("/run/webchat.sock", False),
    ],
)
def test_peer_matching(address, allowed):
    assert metrics_allowed(address, LOOPBACK) is allowed


def test_settings_parse_ranges_and_none():
    assert load_settings({}).metrics_allow == LOOPBACK
    got = load_settings({"METRICS_ALLOW": " 10.0.0.0/8  fd00::/8 192.0.2.7 "}).metrics_allow
    assert got == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fd00::/8"),
        ipaddress.ip_network("192.0.2.7/32"),
    )
    assert load_settings({"METRICS_ALLOW": "none"}).metrics_allow == ()
    assert not metrics_allowed("127.0.0.1", ())


@pytest.mark.parametrize("value", ["10.0.0.300/8", "10.0.0.1/8", "localhost", "10.0.0.0/33"])
def test_a_bad_range_names_the_variable(value):
    with pytest.raises(SettingsError) as info:
        load_settings({"METRICS_ALLOW": value})
    assert str(info.value).startswith("METRICS_ALLOW: ")


def test_a_bad_range_stops_start_up_with_one_line():
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        env={"PATH": "/usr/bin:/bin", "METRICS_ALLOW": "127.0.0.1/8"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 3  # wsgi.py's exit status: gunicorn's "worker failed to boot"
    assert result.stderr.strip().splitlines()[-1] == (
        "webchat: configuration error: METRICS_ALLOW: 127.0.0.1/8 has host bits set"
        " (want ranges like 10.0.0.0/8, or none)"
    )
