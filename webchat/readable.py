"""Waiting for one socket to become readable, as cheaply as the worker class allows.

Thousands of sockets wait most of their lives: each browser socket's reader between frames,
each held long poll for ServicePattern's answer. Under gevent a general-purpose wait (a poll
object or a selector) builds watchers and result objects for every wait; a gevent socket
already owns a read watcher, and waiting on it costs one timer. Its `close()` cancels the wait
(an OSError here, as a read would raise). Any other socket waits with urllib3's `wait_for_read`.
"""

from __future__ import annotations

import select
from typing import Any

from urllib3.util.wait import wait_for_read

try:
    from gevent.monkey import get_original
    from gevent.socket import wait as _gevent_wait

    _poll = get_original("select", "poll")  # the system call itself, even once patched
except ImportError:  # gevent is optional for the gthread worker
    _gevent_wait = None
    _poll = select.poll


class _WaitedEnough(Exception):
    """The wait's own timeout, kept apart from the socket's errors."""


def wait_readable(sock: Any, timeout: float | None) -> bool:
    """True once `sock` has something to read (or was closed by its peer), False after
    `timeout` seconds (None: no limit). With no time to wait, one poll system call answers at
    once, without a trip through gevent's loop (urllib3 asks this of every pooled connection
    it hands out, whether the server closed it)."""
    if timeout == 0:
        poll = _poll()
        poll.register(sock, select.POLLIN)
        return bool(poll.poll(0))
    watcher = getattr(sock, "_read_event", None) if _gevent_wait is not None else None
    if watcher is None:
        return wait_for_read(sock, timeout=timeout)
    try:
        _gevent_wait(watcher, None if timeout is None else max(0.0, timeout), _WaitedEnough)
    except _WaitedEnough:
        return False
    return True
