"""webchat/background.py: a bare greenlet under gevent, a thread otherwise, both answering
start, join, is_alive and name as the poll loops and socket readers use them."""

from __future__ import annotations

import subprocess
import sys
import threading

from tests.harness import ROOT
from webchat.background import background

GEVENT_SCRIPT = """
from gevent import monkey; monkey.patch_all()
import threading, gevent
from webchat.background import background
gate, done = threading.Event(), threading.Event()
runner = background(lambda: (gate.wait(), done.set()), name="poll-x")
assert not isinstance(runner, threading.Thread) and isinstance(runner, gevent.Greenlet)
assert runner.name == "poll-x" and not runner.is_alive()
runner.start(); gevent.idle(); assert runner.is_alive() and not done.is_set()
gate.set(); runner.join(5); assert done.is_set() and not runner.is_alive()
print("ok")
"""


def test_under_gevent_a_bare_greenlet():
    done = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_without_gevent_a_daemon_thread():
    gate = threading.Event()
    runner = background(gate.wait, name="reader")
    assert isinstance(runner, threading.Thread) and runner.daemon and runner.name == "reader"
    assert not runner.is_alive()
    runner.start()
    assert runner.is_alive()
    gate.set()
    runner.join(5)
    assert not runner.is_alive()
