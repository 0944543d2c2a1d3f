"""The strict reading of answers and the `sent` mark under urllib3's connections.

http.client (which urllib3 reads answers with) accepts what a hostile upstream could use:
`int()` takes `+5`, `1_4` and `0x5` as lengths and chunk sizes, the first of two Content-Length
headers wins, Transfer-Encoding `gzip, chunked` is read as chunked, a 1xx other than 100 is
taken as the answer. `_StrictResponse` refuses each; urllib3 then closes the connection.
"""

from __future__ import annotations

import http.client
import re
from contextvars import ContextVar
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection

from webchat.readable import wait_readable

MAX_INTERIM = 8  # 100 Continue answers before the real one
_DIGITS = re.compile(r"[0-9]{1,18}")
_HEX = re.compile(rb"[0-9A-Fa-f]{1,15}")
_CHUNK_LINE = re.compile(rb"([^;\r\n]*)(?:;[^\r\n]*)?\r\n")


class Sent:
    """Whether a byte of this call's request was written (per thread and per greenlet)."""

    __slots__ = ("sent",)

    def __init__(self) -> None:
        self.sent = False


current: ContextVar[Sent | None] = ContextVar("current", default=None)


class FramingError(http.client.HTTPException):
    """The answer's head or framing is not one this transport accepts."""


class _StrictResponse(http.client.HTTPResponse):
    """http.client's response reader with the framing rules above."""

    def _read_status(self) -> tuple[str, int, str]:
        self._interim = getattr(self, "_interim", -1) + 1
        if self._interim > MAX_INTERIM:
            raise FramingError("too many interim answers")
        return super()._read_status()  # type: ignore[misc]  # private, so not in the stubs

    def begin(self) -> None:
        super().begin()
        if self.msg.defects:
            raise FramingError(f"a malformed header line: {self.msg.defects[0]!r}")
        if self.status < 200:
            raise FramingError(f"an interim status {self.status} as the answer")
        lengths = self.msg.get_all("content-length") or []
        codings = self.msg.get_all("transfer-encoding") or []
        if lengths and codings:
            raise FramingError("both Content-Length and Transfer-Encoding")
        if len(lengths) > 1 or (lengths and not _DIGITS.fullmatch(lengths[0])):
            raise FramingError(f"bad Content-Length {lengths!r}"[:120])
        if codings and (len(codings) > 1 or codings[0].strip().lower() != "chunked"):
            raise FramingError(f"unsupported Transfer-Encoding {codings!r}"[:120])

    def _read_next_chunk_size(self) -> int:
        line = self.fp.readline(http.client._MAXLINE + 1)  # type: ignore[attr-defined]
        found = _CHUNK_LINE.fullmatch(line)
        if found is None or not _HEX.fullmatch(found.group(1).rstrip(b" \t")):
            raise FramingError(f"bad chunk size line {line[:40]!r}")
        return int(found.group(1), 16)


class _Counting:
    """Marks the call as sent once a byte of the request (not of a proxy's CONNECT) is written;
    a connection is made before that, outside `send`, so a refused one counts as not sent."""

    response_class: type[http.client.HTTPResponse] = _StrictResponse
    _connecting = False

    def connect(self) -> None:
        self._connecting = True
        try:
            super().connect()  # type: ignore[misc]
        finally:
            self._connecting = False

    @property
    def is_connected(self) -> bool:
        """urllib3's check, before reusing a pooled connection, that the server has not closed
        it: the same test (readable now means closed, or bytes nobody asked for), made with one
        system call instead of a poll object and a trip through gevent's loop."""
        sock = self.sock  # type: ignore[attr-defined]
        return sock is not None and not wait_readable(sock, 0.0)

    def getresponse(self) -> Any:
        """Wait for the answer's first byte before reading it: a long poll is held upstream for
        seconds, and http.client would hold its 8 KiB read buffer for all of them."""
        sock = self.sock  # type: ignore[attr-defined]
        timeout = self.timeout  # type: ignore[attr-defined]
        pending = getattr(sock, "pending", None)
        if (
            sock is not None
            and isinstance(timeout, int | float)
            and not (pending is not None and pending())
            and not wait_readable(sock, timeout)
        ):
            raise TimeoutError("timed out")  # what the read would raise; urllib3 maps it
        return super().getresponse()  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self.sock is None and self.auto_open:  # type: ignore[attr-defined]
            self.connect()
        state = current.get()
        if state is not None and not self._connecting:
            state.sent = True
        super().send(data)  # type: ignore[misc]


class Connection(_Counting, HTTPConnection):
    pass


class TLSConnection(_Counting, HTTPSConnection):
    pass
