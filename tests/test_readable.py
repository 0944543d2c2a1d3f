"""webchat/readable.py: one socket's wait, under gevent (its own read watcher) and without."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from tests.harness import ROOT
from webchat.readable import wait_readable

GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import socket, time, gevent
from webchat.readable import wait_readable
a, b = socket.socketpair()
assert a._read_event is not None  # gevent's socket: the watcher path
assert wait_readable(a, 0) is False
t = time.monotonic(); assert wait_readable(a, 0.2) is False; assert time.monotonic() - t >= 0.19
b.send(b"x"); assert wait_readable(a, 5) is True; a.recv(1)
gevent.spawn(a.close)  # runs once this greenlet waits: the close lands during the wait
try:
    wait_readable(a, 5)
except OSError:
    print("closed: OSError")
print("ok")
"""


def test_under_gevent_a_wait_times_out_sees_data_and_ends_when_the_socket_closes():
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["closed:", "OSError", "ok"]


def test_without_gevent_a_wait_times_out_and_sees_data():
    a, b = socket.socketpair()
    try:
        started = time.monotonic()
        assert wait_readable(a, 0.2) is False
        assert time.monotonic() - started >= 0.19
        b.sendall(b"x")
        assert wait_readable(a, 5) is True
        b.close()
        a.recv(1)
        assert wait_readable(a, 5) is True  # the peer's close is something to read
    finally:
        a.close()


def test_with_no_time_to_wait_the_answer_is_immediate():
    a, b = socket.socketpair()
    try:
        assert wait_readable(a, 0) is False
        b.sendall(b"x")
        assert wait_readable(a, 0.0) is True
    finally:
        a.close()
        b.close()
