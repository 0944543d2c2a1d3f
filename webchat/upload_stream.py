"""An uploaded file relayed to ServicePattern while it arrives: never spooled, never whole.

The browser posts `multipart/form-data` with one part, `file`. Only that part's headers are
parsed; its bytes go upstream as they are read, with their length known from the request's
Content-Length (a single part ends with exactly `\\r\\n--boundary--\\r\\n`, which is checked when
the body ends). werkzeug's form parser would first copy the whole file to a temporary file,
reading 64 KiB at a time, which made uploads six times slower than a direct transfer
(bench/README.md); here the body is read 1 MiB at a time and handed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

HEAD_LIMIT = 16 * 1024
SLICE = 1024 * 1024
BOUNDARY = re.compile(r'boundary="?([^";]{1,200})"?', re.IGNORECASE)
PARAM = re.compile(r';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')


class UploadError(ValueError):
    """The body is not one file part as the widget sends it; `code` and `status` for the API."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class FilePart:
    """The file part of an upload: its name and type as sent, and a reader of its bytes."""

    filename: str
    content_type: str
    size: int
    data: BinaryIO


def _boundary(content_type: str) -> bytes:
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadError(400, "no_file", "Send the file as multipart part `file`.")
    found = BOUNDARY.search(content_type)
    if not found:
        raise UploadError(400, "no_file", "The multipart body has no boundary.")
    return found.group(1).encode("latin-1")


class _PartReader:
    """Reads exactly `size` file bytes from the body, then checks the closing delimiter.

    The body is read 1 MiB at a time and served from that slice by offset (no re-slicing of
    what is left, which would copy the slice again on every small read).
    """

    def __init__(self, stream: BinaryIO, buffered: bytes, size: int, tail: bytes) -> None:
        self._stream = stream
        self._buf = buffered
        self._pos = 0
        self._left = size
        self._tail: bytes | None = tail
        self._delimiter = tail[:-4]  # b"\r\n--boundary": no part may end inside the file
        self._carry = b""

    def _more(self) -> None:
        chunk = self._stream.read(SLICE)
        if not chunk:
            raise UploadError(400, "truncated", "The upload ended early.")
        self._buf, self._pos = chunk, 0

    def read(self, n: int = -1) -> bytes:
        if self._left == 0:
            self._check_tail()
            return b""
        want = self._left if n is None or n < 0 else min(n, self._left)
        if self._pos >= len(self._buf):
            self._more()
        if self._pos == 0 and want >= len(self._buf):
            out = self._buf  # the whole slice: handed on as it is, not copied
        else:
            out = self._buf[self._pos : self._pos + want]
        self._pos += len(out)
        self._left -= len(out)
        keep = len(self._delimiter) - 1
        # A delimiter inside this piece, or across its start (the carry is the last bytes of
        # the previous piece): searched in place and in a window of twice the delimiter.
        if self._delimiter in out or self._delimiter in self._carry + out[:keep]:
            raise UploadError(400, "one_file", "Send one file, as the only part of the upload.")
        self._carry = out[-keep:] if len(out) >= keep else (self._carry + out)[-keep:]
        return out

    def _check_tail(self) -> None:
        if self._tail is None:
            return
        rest = self._buf[self._pos :]
        while len(rest) < len(self._tail):
            chunk = self._stream.read(SLICE)
            if not chunk:
                break
            rest += chunk
        tail, self._tail = self._tail, None
        if rest != tail:
            raise UploadError(400, "one_file", "Send one file, as the only part of the upload.")


def open_file_part(stream: BinaryIO, content_type: str, length: int | None) -> FilePart:
    """Parse the head of an upload and return its file part, ready to be read as it arrives."""
    if length is None:
        raise UploadError(411, "length_required", "The upload needs a Content-Length.")
    boundary = _boundary(content_type)
    opening = b"--" + boundary + b"\r\n"
    head = b""
    while True:
        start = head.find(opening)
        if start >= 0 and head.find(b"\r\n\r\n", start) >= 0:
            break
        chunk = stream.read(HEAD_LIMIT) if len(head) <= HEAD_LIMIT else b""
        if not chunk:
            raise UploadError(400, "no_file", "Send the file as multipart part `file`.")
        head += chunk
    end = head.find(b"\r\n\r\n", start) + 4
    headers = head[start + len(opening) : end - 4].decode("utf-8", "replace")
    disposition = ""
    part_type = "application/octet-stream"
    for line in headers.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-disposition":
            disposition = value
        elif name.strip().lower() == "content-type":
            part_type = value.strip() or part_type
    params = {k.lower(): v.replace('\\"', '"') for k, v in PARAM.findall(disposition)}
    if params.get("name") != "file" or "filename" not in params:
        raise UploadError(400, "no_file", "Send the file as multipart part `file`.")
    tail = b"\r\n--" + boundary + b"--\r\n"
    size = length - end - len(tail)
    if size < 0:
        raise UploadError(400, "no_file", "Send the file as multipart part `file`.")
    reader = _PartReader(stream, head[end:], size, tail)
    return FilePart(params["filename"], part_type, size, reader)  # type: ignore[arg-type]


def drain(stream: BinaryIO) -> None:
    """Read and drop the rest of a body we refuse, so the client gets our answer, not a reset
    (the body is already bounded by MAX_CONTENT_LENGTH)."""
    while stream.read(SLICE):
        pass
