"""The HTTP API: availability, pre-chat parameters, files up and down, agent photos.

Routes stay thin: read the request, call the relay, shape the answer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import IO, BinaryIO, cast
from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    after_this_request,
    current_app,
    request,
    stream_with_context,
)

from ..limits import limiter
from ..relay import ChatError, Relay
from ..servicepattern import Streamed, UpstreamError
from ..socket_body import SocketBody, socket_body
from ..upload_deadline import BodyDeadline
from ..upload_stream import UploadError, drain, open_file_part
from ..visitor import bound_visitor, current_visitor, link_visitor
from .errors import api_error

bp = Blueprint("api", __name__, url_prefix="/api")

INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
CHUNK = 1024 * 1024  # a downloaded file is relayed in slices this large (fewer, larger writes)


def _relay() -> Relay:
    return current_app.extensions["webchat.relay"]


def clean_filename(name: str | None) -> str:
    """A safe base name: no path, no control or quote characters, at most 150 characters."""
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C" and c not in '"<>|*?:')
    name = name.strip(" .")[:150]
    return name or "file"


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name, both from the cleaned name."""
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _upstream_failed(error: UpstreamError) -> Response:
    if error.gone:
        return api_error(404, "not_found", "No such file in your chat.")
    if error.error_code == "5501" or error.status == 413:
        return api_error(413, "too_large", "The file is larger than 25 MB.")
    return api_error(502, "upstream", "The contact center is not answering. Please try again.")


def readyz() -> Response | tuple[dict, int]:
    """Readiness: this instance can serve chats when its store answers."""
    if current_app.extensions["webchat.store"].ping():
        return {"status": "ready"}, 200
    return api_error(503, "store_unavailable", "The store does not answer.")


@bp.get("/config")
def config() -> dict:
    """What the chat page needs to know of the server's settings (nothing secret)."""
    settings = current_app.config["WEBCHAT_SETTINGS"]
    return {
        "max_message_chars": settings.max_message_chars,
        "max_upload_bytes": settings.max_upload_bytes,
        "soft_end": settings.post_chat_survey,
        "typing_preview": settings.typing_preview,
    }


@bp.get("/availability")
def availability() -> dict[str, str]:
    """Whether chat is open, cached tenant-wide for a few seconds."""
    return {"chat": _relay().availability.get()}


@bp.get("/parameters")
def parameters() -> dict[str, list]:
    """The pre-chat fields of the scenario entry, cached tenant-wide."""
    return {"parameters": _relay().parameters.get()}


def _upload_limit() -> str:
    return f"{current_app.config['WEBCHAT_SETTINGS'].uploads_per_minute}/minute"


@bp.post("/files")
@limiter.limit(_upload_limit)
def upload() -> Response | tuple[dict, int]:
    """Stream a file to ServicePattern and share it in the visitor's chat."""
    if bound_visitor(request, current_app) is None:  # CSRF: only our page holds the token
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    limit = current_app.config["WEBCHAT_MAX_UPLOAD"]
    body = _body_stream()
    try:
        part = open_file_part(body, request.content_type or "", request.content_length)
    except UploadError as error:
        return api_error(error.status, error.code, error.message)
    if part.size > limit:
        drain(body)
        return api_error(413, "too_large", "The file is larger than 25 MB.")
    if part.size == 0:
        drain(body)
        return api_error(400, "empty_file", "The file is empty.")
    mime = part.content_type.split(";")[0].strip().lower()
    mime = mime if MIME.match(mime) else "application/octet-stream"
    try:
        shared = _relay().files.share(
            current_visitor(),
            part.data,
            part.size,
            clean_filename(part.filename),
            mime,
            request.headers.get("User-Agent"),
        )
    except UploadError as error:  # the body, read while relayed, broke off or was not one file
        drain(body)
        return api_error(error.status, error.code, error.message)
    except ChatError as error:
        drain(body)
        return api_error(409, error.code, error.message)
    except UpstreamError as error:
        return _upstream_failed(error)
    return shared, 200


def _body_stream() -> BinaryIO:
    """The upload's body as WSGI gives it.

    `request.stream` first: it answers 413 when the Content-Length is past MAX_CONTENT_LENGTH.
    Where the server ends its input at the Content-Length itself (`wsgi.input_terminated`, as
    gunicorn does), that input is read directly: werkzeug's `LimitedStream` over it would only
    count the bytes again and copy each read once more; gunicorn's own body of known length is
    read from its socket (webchat.socket_body), past gunicorn's buffers. Elsewhere,
    `request.stream`.
    Either is read under UPLOAD_BODY_TIMEOUT and UPLOAD_IDLE_TIMEOUT (408 past them).
    """
    stream: IO[bytes] | SocketBody = request.stream
    if request.environ.get("wsgi.input_terminated") and request.content_length is not None:
        stream = socket_body(request.environ) or request.environ["wsgi.input"]
    settings = current_app.config["WEBCHAT_SETTINGS"]
    body = BodyDeadline(
        stream,
        request.environ.get("gunicorn.socket"),
        settings.upload_body_timeout,
        settings.upload_idle_timeout,
    )

    @after_this_request
    def finish(response: Response) -> Response:
        body.finish()
        return response

    return cast(BinaryIO, body)


def _stream(upstream: Streamed) -> Iterator[bytes]:
    """The file's bytes handed on as they arrive (up to a slice at a time), not gathered into
    full slices first: the next bytes arrive while these are written."""
    try:
        while chunk := upstream.read1(CHUNK):
            yield chunk
    finally:
        upstream.close()


@bp.get("/files/<file_id>")
def download(file_id: str) -> Response:
    """A file of the visitor's current chat, streamed; never rendered as a page of ours."""
    if not ID.match(file_id):
        return api_error(404, "not_found", "No such file in your chat.")
    visitor_id = link_visitor(request, current_app, "file", file_id)
    if visitor_id is None:  # only the file's own link (or the page's token in the header)
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    try:
        upstream, event = _relay().files.open_file(
            visitor_id, file_id, request.headers.get("User-Agent")
        )
    except LookupError:
        return api_error(404, "not_found", "No such file in your chat.")
    except UpstreamError as error:
        return _upstream_failed(error)
    if not upstream.decodable:  # bytes still in a coding we cannot undo are not the file
        upstream.close()
        return api_error(502, "upstream", "The contact center is not answering. Please try again.")
    mime = (upstream.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    inline = mime in INLINE_TYPES
    name = clean_filename(event.get("file_name") or file_id)
    response = Response(stream_with_context(_stream(upstream)), status=200)
    response.headers["Content-Type"] = mime if inline else "application/octet-stream"
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", name
    )
    if upstream.length is not None:  # none when decoded: the upstream length counts gzip bytes
        response.headers["Content-Length"] = str(upstream.length)
    _private(response)
    return response


@bp.get("/photos/<party_id>")
def photo(party_id: str) -> Response:
    """An agent's photo from the visitor's current chat."""
    if not ID.match(party_id):
        return api_error(404, "not_found", "No such agent in your chat.")
    visitor_id = link_visitor(request, current_app, "photo", party_id)
    if visitor_id is None:
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    try:
        upstream = _relay().files.open_photo(
            visitor_id, party_id, request.headers.get("User-Agent")
        )
    except LookupError:
        return api_error(404, "not_found", "No such agent in your chat.")
    except UpstreamError as error:
        return _upstream_failed(error)
    mime = (upstream.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if mime not in INLINE_TYPES or not upstream.decodable:
        upstream.close()
        return api_error(404, "not_found", "No photo for this agent.")
    response = Response(stream_with_context(_stream(upstream)), status=200, mimetype=mime)
    _private(response)
    return response


def _private(response: Response) -> None:
    """Chat files are the visitor's own: never cached by others, never sniffed or scripted."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
