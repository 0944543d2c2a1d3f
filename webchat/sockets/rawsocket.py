"""The TCP socket under a browser's WebSocket: whole frames, bounded waits, a hard stop.

simple-websocket writes each frame with one `socket.send` and ignores how much of it went out.
Under gevent (non-blocking sockets), or a blocking socket whose send timeout expired, that loses
the rest of a frame when the peer's window is full, and the tab reads garbage from then on.
Every write here goes out whole or fails, within the send timeout.

simple-websocket 1.1.0 may also leave `receive()` waiting forever once its reader thread has
ended (a frame over the size cap wakes the waiting reader before the socket is marked closed:
docs/simple-websocket.md). Our reader threads wake it again as they end, and `frames` waits in
bounded slices and checks the connection, so no socket outlives its connection.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from webchat.background import background
from webchat.readable import wait_readable

NO_HELLO = 1008  # close code "policy violation": the socket said no hello in time
RECHECK = 30.0  # at most this many seconds pass between checks that the connection lives


class WholeFrames:
    """Stands in for the socket: `send` is `sendall`; everything else is the socket's own."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def send(self, data: bytes, *flags: int) -> int:
        self._sock.sendall(data, *flags)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class OneSocketSelector:
    """simple-websocket's `selector_class`: its reader registers one socket and waits for it to
    become readable, with the time to the next ping as the timeout.

    The default selectors cost per socket what one wait does not need: under gthread an epoll
    descriptor per socket (twice the descriptors), under gevent a selector with its own poll
    object, maps and watchers for as long as it waits (webchat/readable.py)."""

    def __init__(self) -> None:
        self._sock: Any = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> None:
        self._sock = fileobj

    def select(self, timeout: float | None = None) -> list:
        """A non-empty list once the socket is readable (or closed); [] after `timeout`."""
        return [(self._sock, select.POLLIN)] if wait_readable(self._sock, timeout) else []

    def close(self) -> None:
        self._sock = None


def harden(ws: Any, send_timeout: float) -> None:
    """Whole-frame writes for `ws`, each allowed `send_timeout` seconds: a peer that takes
    nothing for that long is gone, and its writer (and reader) end.

    SO_SNDTIMEO bounds each write of a blocking socket (gthread). Gevent's sockets never block
    the process and ignore it; they honour their own timeout. That timeout also bounds reads,
    so it is set only where the reader reads after its selector reported data (simple-websocket
    does when it pings, `ping_interval`), never waiting in `recv` on a quiet browser."""
    sock = getattr(ws, "sock", None)
    if sock is None or isinstance(sock, WholeFrames):
        return
    seconds = int(send_timeout)
    timeval = struct.pack("ll", seconds, int((send_timeout - seconds) * 1e6))
    with contextlib.suppress(AttributeError, OSError, TypeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    if getattr(ws, "ping_interval", None):
        with contextlib.suppress(AttributeError, OSError):
            sock.settimeout(send_timeout)
    ws.sock = WholeFrames(sock)


def forget_handshake(ws: Any) -> None:
    """Once the connection is open, drop the HTTP/1.1 machinery wsproto used for the handshake
    (an h11 connection, its request and an event queue, about 3 KiB) that it would keep for the
    socket's life: with the connection open, wsproto sends and reads through the connection
    alone and asks the handshake only for events it queued (none are left)."""
    handshake: Any = getattr(getattr(ws, "ws", None), "handshake", None)
    if getattr(handshake, "connection", None) is None:
        return  # not open (or another wsproto): leave it as it is
    for name in ("_h11_connection", "_initiating_request"):
        if hasattr(handshake, name):
            setattr(handshake, name, None)
    # Its queue of events, read on every `events()` and empty from now on: an empty tuple
    # reads the same and takes 40 bytes instead of a deque's 760.
    if isinstance(getattr(handshake, "_events", None), deque) and not handshake._events:
        handshake._events = ()


def reader_threads(send_timeout: float) -> Callable[..., threading.Thread]:
    """simple-websocket's `thread_class`: hardens the socket before its reader starts, and
    when the reader ends, however it ends, marks the socket closed and wakes `receive()`."""

    def make(target: Callable[[], None]) -> Any:
        ws = target.__self__  # type: ignore[attr-defined]  # the reader is a bound method
        harden(ws, send_timeout)
        forget_handshake(ws)

        def run() -> None:
            try:
                target()
            finally:
                ws.connected = False
                ws.event.set()
                _done_with(ws)

        return background(run)

    return make


def frames(ws: Any, hello_timeout: float, greeted: Callable[[], bool]) -> Iterator[Any]:
    """The socket's frames as they come, until it closes (ConnectionClosed from `receive`, or a
    quiet wait after which the connection is found gone). A socket with no hello within
    `hello_timeout` seconds of opening is closed with NO_HELLO."""
    deadline = time.monotonic() + hello_timeout
    while True:
        wait = RECHECK if greeted() else deadline - time.monotonic()
        if wait <= 0:
            with contextlib.suppress(Exception):  # already closed by the browser
                ws.close(reason=NO_HELLO, message="no hello")
            abort(ws)
            return
        raw = ws.receive(timeout=min(wait, RECHECK))
        if raw is not None:
            yield raw
        elif not getattr(ws, "connected", True):
            return


def abort(ws: Any) -> None:
    """End the connection under the WebSocket's reader and writer: both wake and finish."""
    sock = getattr(ws, "sock", None)
    with contextlib.suppress(AttributeError, OSError):
        sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]


def release(ws: Any) -> None:
    """After a socket's handler: cut what would keep its objects alive after it ends.

    flask-sock makes a Response class for every socket, whose method refers to the socket
    object, and a class is a reference cycle. Frozen out of the collector's walks
    (webchat/gcpolicy.py), everything it reaches would stay until a full collection, which at
    10,000 chats holds the worker for a second. So once its reader has ended too, the socket
    object is emptied, and reference counting frees the request, Flask's contexts, the session
    and the WebSocket's own state as the socket ends."""
    _done_with(ws)


_ENDS = "_webchat_ends"  # on a socket object: how many of its handler and reader have ended
_ends_lock = threading.Lock()


def _done_with(ws: Any) -> None:
    """The handler or the reader has finished with `ws`; the second to finish empties it, but
    for what flask-sock reads after the handler (its mode; `close`, which then does nothing)."""
    state = getattr(ws, "__dict__", None)
    if state is None:
        return
    with _ends_lock:
        ends = state.get(_ENDS, 0) + 1
        state[_ENDS] = ends
    if ends == 2:
        mode = state.get("mode")
        state.clear()
        ws.mode, ws.connected = mode, False
        ws.close_reason, ws.close_message = 1000, None
