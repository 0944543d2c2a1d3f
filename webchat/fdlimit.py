"""Open files: each open chat takes two (the browser's socket and the held poll upstream).

A process starts with the soft limit its parent gave it, often far below what it may use:
systemd gives services 1,024 (soft) of 524,288 (hard), enough for some 250 chats. The master
raises its soft limit to the hard one before forking workers, which inherit it, as any server
holding thousands of connections does; no privilege is needed for that. Where even the hard
limit is too low for WS_MAX_OPEN, sockets past what it holds are refused with BUSY (4029, the
widget retries) instead of failing at random with EMFILE in accept, polls and page loads.
"""

from __future__ import annotations

import contextlib

try:
    import resource
except ImportError:  # not on POSIX: the limit is neither known nor raised
    resource = None  # type: ignore[assignment]

RESERVE = 512  # descriptors kept for pages, listeners, logs and store connections
PER_SOCKET = 2  # a browser socket and, at worst, its chat's poll connection


def raise_open_files() -> int | None:
    """Raise the soft limit of open files to the hard one; the soft limit now (None: unknown)."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):  # kept as it is: the check below tells
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return open_files_limit()


def open_files_limit() -> int | None:
    if resource is None:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


def sockets_within(limit: int | None) -> int | None:
    """How many chat sockets `limit` open files hold (None: no known bound)."""
    if limit is None:
        return None
    return max(1, (limit - RESERVE) // PER_SOCKET)


def socket_ceiling(wanted: int) -> int:
    """WS_MAX_OPEN, or fewer when this process's open files cannot hold that many."""
    room = sockets_within(open_files_limit())
    return wanted if room is None else min(wanted, room)
