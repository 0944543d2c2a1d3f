"""The TCP socket under a browser's WebSocket: whole frames, bounded waits, a hard stop.

simple-websocket writes each frame with one `socket.send` and ignores how much of it went out.
Under gevent (non-blocking sockets), or a blocking socket whose send timeout expired, that loses
the rest of a frame when the peer's window is full, and the tab reads garbage from then on.
Every write here goes out whole or fails.
"""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any


class WholeFrames:
    """Stands in for the socket: `send` is `sendall`; everything else is the socket's own."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def send(self, data: bytes, *flags: int) -> int:
        self._sock.sendall(data, *flags)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def harden(ws: Any, send_timeout: float) -> None:
    """Whole-frame writes for `ws`, each allowed `send_timeout` seconds without progress
    (SO_SNDTIMEO: a peer that takes no byte for that long is gone). Gevent's non-blocking
    sockets ignore the timeout; their writes still go out whole."""
    sock = getattr(ws, "sock", None)
    if sock is None or isinstance(sock, WholeFrames):
        return
    seconds = int(send_timeout)
    timeval = struct.pack("ll", seconds, int((send_timeout - seconds) * 1e6))
    with contextlib.suppress(AttributeError, OSError, TypeError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
    ws.sock = WholeFrames(sock)


def abort(ws: Any) -> None:
    """End the connection under the WebSocket's reader and writer: both wake and finish."""
    sock = getattr(ws, "sock", None)
    with contextlib.suppress(AttributeError, OSError):
        sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
