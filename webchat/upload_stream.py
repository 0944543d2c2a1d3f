"""An uploaded file relayed to ServicePattern while it arrives: never spooled, never whole.

The browser posts `multipart/form-data` with one part, `file`. The `multipart` package's
sans-IO `PushMultipartParser` parses it; the part's bytes are handed on as the parser gives
them, which is the very bytes object read from the socket wherever no delimiter could begin in
it. The upstream call needs the file's size before the first byte goes, so it is worked out
from the request's Content-Length: everything but the part's head and the closing delimiter
browsers send (`\\r\\n--boundary--\\r\\n`). When the last file byte is reached, the rest of the
body is read and checked before that byte is handed on: the parser must see exactly one part,
closed by that delimiter, with exactly that many bytes (docs/uploads.md). A form parser that
collects whole fields would first copy the file to a temporary file.

Every failure while reading the browser's body, whatever raised it, leaves `read()` as an
`UploadError` (a `ValueError`), never as an `OSError`: the upstream transport then drops its
call at once instead of waiting for an answer that cannot come.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, TypeAlias, cast

from multipart import MultipartError, MultipartSegment, PushMultipartParser
from werkzeug.http import parse_options_header

HEAD_LIMIT = 16 * 1024  # the part's head must arrive within this
SLICE = 1024 * 1024  # the body is read at most this much at a time
_END = object()  # the parser has nothing more to say about the body read so far

ParserEvent: TypeAlias = MultipartSegment | bytes | bytearray | None


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
    bytes are read whole, in one piece, so the delimiter is checked in one small piece of its
    own and its bytes are never handed on as part of a large one.
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


class _Events:
    """The parser's events, fed from the body as it needs. The parser's generator for one
    piece is drained before the next piece is parsed, as the parser requires."""

    def __init__(self, parser: PushMultipartParser, body: _Body, pending: bytes) -> None:
        self._parser = parser
        self._body = body
        self._events: Iterator[ParserEvent] = iter(())
        self._pending = pending  # bytes read past the part's head, not parsed yet

    def next(self) -> ParserEvent | object:
        """The next event, or _END once the whole body is parsed and nothing is left."""
        while True:
            try:
                event = next(self._events, _END)
            except MultipartError as error:  # the parser's word for a malformed body
                raise _bad_end() from error
            if event is not _END:
                return event
            if self._pending:
                chunk, self._pending = self._pending, b""
            elif self._body.left:
                chunk = self._body.read(SLICE)
            else:
                return _END
            self._events = self._parser.parse(chunk)

    def close(self) -> None:
        """The body is all parsed: it must have ended the form (the closing delimiter seen)."""
        try:
            self._parser.close()
        except MultipartError as error:
            raise _bad_end() from error


class _FileData:
    """The file's bytes as the parser gives them, `size` of them, checked to the body's end
    before the last of them is handed on (a reader stops asking once it has `size`)."""

    def __init__(self, events: _Events, body: _Body, size: int, tail: bytes) -> None:
        self._events = events
        self._body = body
        self._size = size
        self._tail = tail
        self._got = 0
        self._piece: bytes = b""
        self._pos = 0

    def read(self, n: int | None = -1) -> bytes:
        """Up to `n` bytes (all the rest when negative); b"" once all `size` were read. A piece
        the parser gave is handed on as it is when it fits, not copied."""
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

    def _next_piece(self) -> bytes:
        while True:
            event = self._events.next()
            if not isinstance(event, bytes | bytearray):  # another part, or the end, came early
                raise _one_file() if event is not _END else _bad_end()
            self._got += len(event)
            if self._got > self._size:  # more than fits before the standard closing delimiter
                raise _bad_end()
            if self._got == self._size:
                self._finish()
            if event:
                return bytes(event) if isinstance(event, bytearray) else event

    def _finish(self) -> None:
        """All the file's bytes are in: what follows must be the closing delimiter alone."""
        if self._events.next() is not None:  # the part's end, then nothing more
            raise _bad_end()
        if self._events.next() is not _END:
            raise _bad_end()
        self._events.close()
        if self._body.last != self._tail:
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


def _part_head(parser: PushMultipartParser, body: _Body) -> tuple[MultipartSegment, int, bytes]:
    """Feed the parser until it announces the first part: that part, the exact length of the
    body up to where its data begins, and the bytes read past that, still to be parsed.

    A part's head always ends with an empty line, so the parser is fed up to each CRLF CRLF in
    turn: the piece in which it announces the part ends exactly where the part's data begins.
    """
    chunk = body.read(HEAD_LIMIT)
    fed = 0
    search = 0
    while True:
        end = chunk.find(b"\r\n\r\n", search)
        if end < 0:
            if len(chunk) >= HEAD_LIMIT or not body.left:
                raise _no_file()
            search = max(fed, len(chunk) - 3)
            chunk += body.read(HEAD_LIMIT - len(chunk))
            continue
        end += 4
        search = end - 3  # CRLF CRLF CRLF: the next candidate may overlap this one
        try:
            events = list(parser.parse(chunk[fed:end]))
        except MultipartError as error:  # no Content-Disposition, headers not UTF-8, ...
            raise _no_file() from error
        fed = end
        if events:
            part = events[0]
            if len(events) != 1 or not isinstance(part, MultipartSegment):
                raise _no_file()  # a form with no part at all, or one that is not a head
            return part, fed, chunk[fed:]
        if parser.closed:
            raise _no_file()


def open_file_part(stream: BinaryIO, content_type: str, length: int | None) -> FilePart:
    """Parse the head of an upload and return its file part, ready to be read as it arrives.

    The part must be named `file`. Its file name is the parser's reading of the part's
    Content-Disposition, as browsers write it (the HTML standard's escapes undone).
    """
    if length is None:
        raise UploadError(411, "length_required", "The upload needs a Content-Length.")
    boundary = _boundary(content_type)
    tail = b"\r\n--" + boundary + b"--\r\n"
    # Strict: no preamble (browsers send none), no folded headers, nothing after the end. A
    # preamble of empty lines would otherwise cost a parse call per line of it.
    parser = PushMultipartParser(boundary, content_length=length, strict=True)
    body = _Body(stream, length, len(tail))
    part, head, rest = _part_head(parser, body)
    if part.name != "file":
        raise _no_file()
    size = length - head - len(tail)
    if size < 0:
        raise _bad_end()
    data = _FileData(_Events(parser, body, rest), body, size, tail)
    part_type = part.header("Content-Type") or "application/octet-stream"
    return FilePart(part.filename, part_type, size, cast(BinaryIO, data))


def drain(stream: BinaryIO) -> None:
    """Read and drop the rest of a body we refuse, so the client gets our answer, not a reset
    (the body is already bounded by MAX_CONTENT_LENGTH). A body that breaks meanwhile ends the
    draining: the answer goes out all the same."""
    with contextlib.suppress(Exception):  # a broken body: nothing more to read
        while stream.read(SLICE):
            pass
