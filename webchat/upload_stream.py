"""An uploaded file relayed to ServicePattern while it arrives: never spooled, never whole.

The browser posts `multipart/form-data` with one part, `file`. Werkzeug's sans-IO
`MultipartDecoder` parses it; the part's bytes are handed on as the decoder gives them. The
upstream call needs the file's size before the first byte goes, so it is worked out from the
request's Content-Length: everything but the part's head and the closing delimiter browsers send
(`\\r\\n--boundary--\\r\\n`). When the last file byte is reached, the rest of the body is read and
checked before that byte is handed on: the decoder must see exactly one part, closed by that
delimiter, with exactly that many bytes (docs/uploads.md). Werkzeug's own form parser would
first copy the whole file to a temporary file.

Every failure while reading the browser's body, whatever raised it, leaves `read()` as an
`UploadError` (a `ValueError`), never as an `OSError`: the upstream transport then drops its
call at once instead of waiting for an answer that cannot come.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import BinaryIO, cast

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import (
    NEED_DATA,
    Data,
    Epilogue,
    Event,
    Field,
    File,
    MultipartDecoder,
)

HEAD_LIMIT = 16 * 1024  # the part's headers (and any preamble) must arrive within this
SLICE = 1024 * 1024  # the body is read this much at a time


class UploadError(ValueError):
    """The body is not one file part as the widget sends it; `code` and `status` for the API."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _no_file() -> UploadError:
    return UploadError(400, "no_file", "Send the file as multipart part `file`.")


def _one_file() -> UploadError:
    return UploadError(400, "one_file", "Send one file, as the only part of the upload.")


def _bad_end() -> UploadError:
    return UploadError(400, "malformed", "The upload does not end as form data must.")


@dataclass
class FilePart:
    """The file part of an upload: its name and type as sent, and a reader of its bytes."""

    filename: str | None
    content_type: str
    size: int
    data: BinaryIO


class _Body:
    """The browser's body, at most `length` bytes of it. Whatever goes wrong reading it (the
    server's reader raising, the socket failing, the body ending early) is an UploadError.

    Reads stop where the closing delimiter should begin (the last `tail_size` bytes), and those
    bytes are read whole, in one piece. The decoder then looks for the delimiter only in that
    small piece, not with a regular expression across a whole slice of the file; and Werkzeug's
    decoder (3.1.9), given a piece that ends just after `\\r\\n--boundary-`, would take that
    CR for file data.
    """

    def __init__(self, stream: BinaryIO, length: int, tail_size: int) -> None:
        self._stream = stream
        self.left = length
        self._tail_size = tail_size
        self.last = b""  # the body's last bytes read so far, up to tail_size of them

    def read(self, size: int) -> bytes:
        if self.left <= 0:
            return b""
        if self.left > self._tail_size:
            chunk = self._read(min(size, self.left - self._tail_size))
        else:
            pieces = [self._read(self.left)]
            while self.left:
                pieces.append(self._read(self.left))
            chunk = b"".join(pieces)
        self.last = (self.last + chunk[-self._tail_size :])[-self._tail_size :]
        return chunk

    def _read(self, size: int) -> bytes:
        try:
            chunk = self._stream.read(size)
        except UploadError:  # already said what went wrong (webchat.upload_deadline: too slow)
            raise
        except Exception as error:  # noqa: BLE001 - any failure of the browser's body is its own
            raise UploadError(400, "truncated", "The upload broke off before its end.") from error
        if not chunk:
            raise UploadError(400, "truncated", "The upload ended early.")
        self.left -= len(chunk)
        return chunk


class _FileData:
    """The file's bytes as the decoder gives them, `size` of them, checked to the body's end
    before the last of them is handed on (a reader stops asking once it has `size`)."""

    def __init__(self, decoder: MultipartDecoder, body: _Body, size: int, tail: bytes) -> None:
        self._decoder = decoder
        self._body = body
        self._size = size
        self._tail = tail
        self._got = 0
        self._piece = b""
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        """Up to `n` bytes (all the rest when negative); b"" once all `size` were read. A piece
        the decoder gave is handed on as it is when it fits, not copied."""
        if n is None or n < 0:
            return b"".join(iter(lambda: self.read(SLICE), b""))
        if self._pos >= len(self._piece):
            if self._got >= self._size or n == 0:
                return b""
            self._piece, self._pos = self._next_piece(), 0
        if self._pos == 0 and n >= len(self._piece):
            out = self._piece
        else:
            out = self._piece[self._pos : self._pos + n]
        self._pos += len(out)
        return out

    def _event(self) -> Event:
        """The decoder's next event, fed from the body as it needs."""
        while True:
            try:
                event = self._decoder.next_event()
            except ValueError as error:  # the decoder's word for a malformed body
                raise _bad_end() from error
            if event is not NEED_DATA:
                return event
            self._decoder.receive_data(self._body.read(SLICE) if self._body.left else None)

    def _next_piece(self) -> bytes:
        while True:
            event = self._event()
            if not isinstance(event, Data):
                raise _one_file()
            self._got += len(event.data)
            if self._got > self._size:  # more than fits before the standard closing delimiter
                raise _bad_end()
            if not event.more_data and self._got < self._size:  # a part or an end came early
                raise _one_file()
            if self._got == self._size:
                self._finish(event.more_data)
            if event.data:
                return event.data

    def _finish(self, more_data: bool) -> None:
        """All the file's bytes are in: what follows must be the closing delimiter alone."""
        while more_data:  # the decoder may hold the last bytes until it sees the delimiter
            event = self._event()
            if not isinstance(event, Data) or event.data:
                raise _bad_end()
            more_data = event.more_data
        if not isinstance(self._event(), Epilogue) or self._body.last != self._tail:
            raise _bad_end()


def _boundary(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if kind.lower() != "multipart/form-data" or not 0 < len(boundary) <= 200:
        raise _no_file()
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise _no_file() from None


def _part_head(decoder: MultipartDecoder, body: _Body) -> tuple[Field | File, int, bytes]:
    """Feed the decoder until it announces the first part: that part, the exact length of the
    body up to where its data begins (fed a byte at a time to know it) and the bytes read past
    that, still to be fed."""
    chunk = body.read(HEAD_LIMIT)
    fed = 0
    while True:
        try:
            event = decoder.next_event()
        except ValueError as error:  # no Content-Disposition, headers not UTF-8
            raise _no_file() from error
        if isinstance(event, Field | File):
            return event, fed, chunk[fed:]
        if isinstance(event, Epilogue):  # a form with no part at all
            raise _no_file()
        if event is NEED_DATA:
            if fed == len(chunk):
                if fed >= HEAD_LIMIT or not body.left:
                    raise _no_file()
                chunk += body.read(HEAD_LIMIT - fed)
            decoder.receive_data(chunk[fed : fed + 1])
            fed += 1


def open_file_part(stream: BinaryIO, content_type: str, length: int | None) -> FilePart:
    """Parse the head of an upload and return its file part, ready to be read as it arrives.

    The part must be named `file`. Its file name is Werkzeug's reading of the part's
    Content-Disposition (`filename*` first); None when there is none it can read, as for a
    name ending in a backslash that a browser sent unescaped.
    """
    if length is None:
        raise UploadError(411, "length_required", "The upload needs a Content-Length.")
    boundary = _boundary(content_type)
    tail = b"\r\n--" + boundary + b"--\r\n"
    decoder = MultipartDecoder(boundary)
    body = _Body(stream, length, len(tail))
    part, head, rest = _part_head(decoder, body)
    if part.name != "file":
        raise _no_file()
    size = length - head - len(tail)
    if size < 0:
        raise _bad_end()
    decoder.receive_data(rest)
    data = _FileData(decoder, body, size, tail)
    filename = part.filename if isinstance(part, File) else None
    part_type = part.headers.get("Content-Type") or "application/octet-stream"
    return FilePart(filename, part_type, size, cast(BinaryIO, data))


def drain(stream: BinaryIO) -> None:
    """Read and drop the rest of a body we refuse, so the client gets our answer, not a reset
    (the body is already bounded by MAX_CONTENT_LENGTH). A body that breaks meanwhile ends the
    draining: the answer goes out all the same."""
    with contextlib.suppress(Exception):  # a broken body: nothing more to read
        while stream.read(SLICE):
            pass
