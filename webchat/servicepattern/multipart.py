"""A multipart/form-data body that streams a file, with its length known in advance.

`requests` builds `files=` bodies whole in memory; a 25 MB upload per visitor would be 25 MB of
RAM each. This body is a file-like object with a length, so requests sends it with a
Content-Length, reading the file in chunks as the socket takes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import BinaryIO


def _quote(value: str) -> str:
    """A header parameter value safe inside double quotes (no CR, LF or quote can break out)."""
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", " ").replace("\n", " ")


class MultipartFile:
    """One file part, read lazily; `len()` is the exact body size, `.content_type` the header."""

    def __init__(self, field: str, filename: str, content_type: str, data: BinaryIO, size: int):
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(field)}"; '
            f'filename="{_quote(filename)}"\r\n'
            f"Content-Type: {_quote(content_type)}\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        self._head, self._data, self._tail, self._size = head, data, tail, size
        self._length = len(head) + size + len(tail)
        self._pieces: Iterator[bytes] | None = None  # read()'s place in chunks()
        self._pending = b""  # what read() took from a piece but did not return yet

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative), for a client that reads the
        body as a file (requests, behind a proxy)."""
        if self._pieces is None:
            self._pieces = self.chunks(64 * 1024)
        if size is None or size < 0:
            size = self._length
        out = bytearray(self._pending)
        while len(out) < size and (piece := next(self._pieces, None)) is not None:
            out += piece
        self._pending = bytes(out[size:])
        return bytes(out[:size])

    def chunks(self, size: int = 1024 * 1024) -> Iterator[bytes]:
        """The body in pieces as the file gives them (up to `size` each), for a client that
        writes each piece as it comes: no piece is copied into another."""
        yield self._head
        left = self._size
        while left > 0:
            chunk = self._data.read(min(size, left))
            if not chunk:
                break  # the sender notices the body is short of its length
            left -= len(chunk)
            yield chunk
        yield self._tail
