"""Streaming multipart reader: keeps the first file part, never more than limit+1 bytes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import NEED_DATA, Data, Epilogue, File, MultipartDecoder

from .errors import ApiError

CHUNK = 64 * 1024
DRAIN_CAP = 512 * 1024 * 1024  # stop discarding after this much; the connection closes anyway


@dataclass
class Upload:
    file_name: str
    content_type: str | None
    data: bytes


def _drain(stream: IO[bytes]) -> None:
    """Read and discard the rest of the body so the client gets our reply, not a reset."""
    total = 0
    while total < DRAIN_CAP:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        total += len(chunk)


def read_first_file(stream: IO[bytes], content_type: str | None, limit: int) -> Upload:
    """Parse a multipart body chunk by chunk and return its first file part, any part name.

    Raises ApiError 5501 as soon as the file exceeds ``limit`` bytes, 5003 when the body
    is not multipart or has no file part.
    """
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary")
    if mimetype != "multipart/form-data" or not boundary:
        _drain(stream)
        raise ApiError(400, "5003", "Expected multipart/form-data", "upload is not multipart")
    decoder = MultipartDecoder(boundary.encode("latin-1"))
    current: File | None = None
    found: Upload | None = None
    buf = bytearray()
    try:
        while found is None:
            chunk = stream.read(CHUNK)
            decoder.receive_data(chunk or None)
            event = decoder.next_event()
            while event is not NEED_DATA and found is None:
                if isinstance(event, File) and current is None:
                    current = event
                elif isinstance(event, Data) and current is not None:
                    if len(buf) + len(event.data) > limit:
                        raise ApiError(400, "5501", f"Upload size limit of {limit} bytes exceeded")
                    buf += event.data
                    if not event.more_data:
                        ctype = current.headers.get("content-type")
                        found = Upload(current.filename, ctype, bytes(buf))
                elif isinstance(event, Epilogue):
                    break
                event = decoder.next_event()
            if not chunk or isinstance(event, Epilogue):
                break
    except ValueError as exc:
        _drain(stream)
        raise ApiError(400, "5003", "Malformed multipart body", f"bad multipart: {exc}") from exc
    except ApiError:
        _drain(stream)
        raise
    _drain(stream)
    if found is None:
        raise ApiError(400, "5003", "No file part in upload", "upload without a file part")
    return found
