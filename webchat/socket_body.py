"""A request body of known length read straight from gunicorn's socket.

gunicorn hands a body on through three buffers: its socket reader gathers `recv()` results in
a `BytesIO` and cuts them to size, its length reader passes that on, and `Body.read()` gathers
the pieces in another `BytesIO` and cuts them again: five or six copies of every byte, most of
a worker's CPU when a 25 MB upload passes through (docs/uploads.md has the profile). An upload
relayed as it arrives needs none of them: each `recv()` result can go on as it is.

`socket_body(environ)` gives such a reader for gunicorn's Content-Length bodies, and None for
anything else (a chunked body, another server), which is then read as WSGI gives it. The reader
keeps gunicorn's own account of the body right, so gunicorn still finds the next request where
it begins: bytes gunicorn had read ahead are taken first, those past the body's end are handed
back, and the length gunicorn has left to read shrinks with every read. A read that fails marks
gunicorn's body failed (the connection is then not reused).
"""

from __future__ import annotations

from typing import Any

RECV_LIMIT = 1024 * 1024  # the most one recv() asks for, as gunicorn's own reader


class SocketBody:
    """`read(size)` of a body whose first bytes gunicorn may already hold."""

    def __init__(self, body: Any, reader: Any, sock: Any) -> None:
        self._body = body  # gunicorn's Body: `failed` tells gunicorn not to reuse the connection
        self._reader = reader  # gunicorn's LengthReader: `length` is what is left of the body
        self._sock = sock
        held = reader.unreader.take_buffered()
        if len(held) > reader.length:  # the start of the next request, pipelined: not ours
            reader.unreader.unread(held[reader.length :])
            held = held[: reader.length]
        reader.length -= len(held)
        self._held = held
        self._held_at = 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the body (the rest when negative); b"" at its end, or when
        the connection ended before it (the caller counts what it got)."""
        if size == 0:
            return b""
        if self._held_at < len(self._held):
            end = len(self._held) if size < 0 else self._held_at + size
            if self._held_at == 0 and end >= len(self._held):
                chunk, self._held = self._held, b""
            else:
                chunk = self._held[self._held_at : end]
                self._held_at += len(chunk)
            return chunk
        left = self._reader.length
        if left <= 0:
            return b""
        try:
            chunk = self._sock.recv(min(RECV_LIMIT, left if size < 0 else min(size, left)))
        except BaseException:
            self._body.failed = True
            raise
        if not chunk:
            self._body.failed = True
        self._reader.length -= len(chunk)
        return chunk


def socket_body(environ: dict[str, Any]) -> SocketBody | None:
    """A direct reader of gunicorn's body in `environ` when it has a Content-Length and no
    byte of it was read through gunicorn yet; None otherwise."""
    body = environ.get("wsgi.input")
    sock = environ.get("gunicorn.socket")
    if body is None or sock is None or type(body).__module__ != "gunicorn.http.body":
        return None
    from gunicorn.http.body import Body, LengthReader
    from gunicorn.http.unreader import SocketUnreader

    reader = getattr(body, "reader", None)
    if not (
        isinstance(body, Body)
        and isinstance(reader, LengthReader)
        and isinstance(reader.unreader, SocketUnreader)
        and reader.unreader.sock is sock
        and body.buf.tell() == 0
    ):
        return None
    return SocketBody(body, reader, sock)
