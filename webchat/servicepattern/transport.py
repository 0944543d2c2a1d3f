"""The one way to ServicePattern: HTTP/1.1 over urllib3's pool, with a strict reading of answers.

urllib3 (what requests stands on) does the connections: one pool for the API's origin, TLS
verified as configured, the proxy from the environment (CONNECT for https), an idle connection
checked for a close (or stray bytes) before it is used again. This module adds what a relay of
many visitors needs on top (docs/transport.md):
- strict framing: one Content-Length of digits only, Transfer-Encoding only exactly `chunked`,
  never both, chunk sizes of hex digits only, no header line without a colon, no 1xx as the
  final answer, at most MAX_INTERIM interim answers; anything else fails that one call and the
  connection is closed, never pooled;
- no retry of a request once a byte of it was written, except a GET whose connection closed
  before a byte of its answer came (it went out on a pooled connection the server had just
  closed): tried once more;
- one error mapping: whatever fails leaves as an UpstreamError, with `sent` telling whether the
  request may have reached ServicePattern; an exception from an upload's source (the browser's
  stream) leaves unchanged, at once, and its connection is closed.
"""

from __future__ import annotations

import functools
import http.client
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    InsecureRequestWarning,
    NewConnectionError,
    ProtocolError,
    SSLError,
    TimeoutError,
)
from urllib3.util import parse_url

from .errors import UpstreamError
from .wire import Connection, FramingError, Sent, TLSConnection, current

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024 * 1024  # a JSON answer; anything larger is not ServicePattern's


class _SourceFailed(Exception):
    """An upload's source raised: carried past urllib3 (which would take an OSError for the
    upstream's), then raised again as it was."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(repr(error))
        self.error = error


def _source(chunks: Iterable[bytes], length: int) -> Iterator[bytes]:
    """The body's pieces, exactly `length` bytes of them; the source's own failure wrapped."""
    sent = 0
    try:
        for chunk in chunks:
            sent += len(chunk)
            if sent > length:
                raise ValueError("the body is longer than its length")
            yield chunk
        if sent != length:
            raise ValueError("the body is shorter than its length")
    except Exception as error:  # noqa: BLE001 - whatever the source raised goes up as it is
        raise _SourceFailed(error) from error


@dataclass
class Answer:
    """One answer read whole."""

    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes


class Streamed:
    """An answer whose body is read as it comes (a download); close it when done."""

    def __init__(self, response: urllib3.BaseHTTPResponse, what: str) -> None:
        self._response = response
        self._what = what
        self.status = response.status
        self.headers = response.headers

    @property
    def codings(self) -> list[str]:
        """The body's content codings (gzip, deflate …), `identity` left out."""
        raw = (self.headers.get("Content-Encoding") or "").lower()
        return [c for c in (part.strip() for part in raw.split(",")) if c and c != "identity"]

    @property
    def decodable(self) -> bool:
        """Whether reading undoes every content coding: else the bytes read are still encoded."""
        return all(c in urllib3.response.BaseHTTPResponse.CONTENT_DECODERS for c in self.codings)

    @property
    def length(self) -> int | None:
        """How many bytes reading yields, when known. A Content-Length counts the encoded bytes
        on the wire, so it is only the length of what is read when nothing is decoded."""
        raw = self.headers.get("Content-Length") or ""
        return int(raw) if raw.isdigit() and not self.codings else None

    def read1(self, size: int) -> bytes:
        """What has arrived, up to `size` bytes; b"" at the end. Cut short: UpstreamError."""
        try:
            return self._response.read1(size, decode_content=True)
        except Exception as error:  # noqa: BLE001 - the one mapping
            self.close()
            raise UpstreamError(f"ServicePattern broke off its answer to {self._what}") from error

    def read_all(self, limit: int = MAX_BODY) -> bytes:
        """The rest of the body, at most `limit` bytes (more is an UpstreamError)."""
        try:
            data = self._response.read(limit + 1, decode_content=True)
        except Exception as error:  # noqa: BLE001 - the one mapping
            self.close()
            raise UpstreamError(f"ServicePattern broke off its answer to {self._what}") from error
        if len(data) > limit:
            self.close()
            raise UpstreamError(f"ServicePattern's answer to {self._what} is too large", 200)
        return data

    def close(self) -> None:
        """Back to the pool when the body was read whole; otherwise the connection is closed."""
        if self._response.closed:
            self._response.release_conn()
        else:
            self._response.close()
            self._response.release_conn()


class Transport:
    """Calls on one origin over pooled keep-alive connections."""

    def __init__(
        self,
        base_url: str,
        *,
        verify: bool | str,
        proxies: Mapping[str, str] | None = None,
        pool_size: int = 1000,
    ) -> None:
        url = parse_url(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        tls: dict[str, Any] = {}
        if url.scheme == "https":
            if verify is False:
                tls = {"cert_reqs": "CERT_NONE", "assert_hostname": False}
                warnings.filterwarnings("ignore", category=InsecureRequestWarning)
            else:
                tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify if verify else None}
        proxy = (proxies or {}).get(url.scheme) or (proxies or {}).get("all")
        options: dict[str, Any] = {"num_pools": 1, "maxsize": pool_size, "block": False, **tls}
        if proxy:
            self._manager: urllib3.PoolManager = urllib3.ProxyManager(proxy, **options)
        else:
            self._manager = urllib3.PoolManager(**options)
        self._pool = self._manager.connection_from_url(self.base_url)
        self._pool.ConnectionCls = TLSConnection if url.scheme == "https" else Connection
        # Through a proxy, plain http goes as an absolute URL; https through its CONNECT tunnel.
        self._absolute = bool(proxy) and url.scheme == "http"
        self._origin = f"{url.scheme}://{url.netloc}"
        self._tls_reported = False

    def call(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: tuple[float, float],
    ) -> Answer:
        """One call read whole. `target` is the path and query on the origin."""
        response = self.open(method, target, headers, body, timeout)
        try:
            data = response.read_all()
        finally:
            response.close()
        return Answer(response.status, response.headers, data)

    def open(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | None,
        timeout: tuple[float, float],
    ) -> Streamed:
        """One call whose answer's body is left to read (a download, or `call`)."""
        retry = method == "GET" and body is None
        while True:
            try:
                return self._send(method, target, headers, body, timeout)
            except UpstreamError as error:
                if not (retry and _closed_unanswered(error.__cause__)):
                    raise
                retry = False

    def upload(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        chunks: Iterable[bytes],
        length: int,
        timeout: tuple[float, float],
    ) -> Streamed:
        """A call whose body is sent as `chunks` gives it (never gathered), exactly `length`
        bytes. An answer that comes before the whole body went (a 413) is returned."""
        headers = {**headers, "Content-Length": str(length)}
        return self._send(method, target, headers, _source(chunks, length), timeout)

    def _send(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes | Iterator[bytes] | None,
        timeout: tuple[float, float],
    ) -> Streamed:
        what = f"{method} {target.split('?', 1)[0]}"
        state = Sent()
        token = current.set(state)
        try:
            response = self._pool.urlopen(
                method,
                self._origin + target if self._absolute else target,
                body=body,
                headers=dict(headers),
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=_timeout(*timeout),
                preload_content=False,
                decode_content=True,
                chunked=False,
            )
        except _SourceFailed as failed:
            raise failed.error from None
        except Exception as error:  # noqa: BLE001 - the one mapping
            raise self._translate(what, error, state.sent) from error
        finally:
            current.reset(token)
        return Streamed(response, what)

    def _translate(self, what: str, error: Exception, sent: bool) -> UpstreamError:
        """A failure below HTTP as an UpstreamError (a TLS failure explained once, loudly)."""
        if isinstance(error, SSLError) or isinstance(error.__context__, SSLError):
            if self._tls_reported:
                return UpstreamError("ServicePattern's TLS certificate did not verify", sent=sent)
            self._tls_reported = True
            message = (
                "ServicePattern's TLS certificate did not verify; if it is signed by a private "
                f"CA, set SP_CA_BUNDLE to that CA's PEM file ({_reason(error)})"
            )
            log.error(message)
            return UpstreamError(message, sent=sent)
        if isinstance(error, NewConnectionError):
            return UpstreamError(f"ServicePattern unreachable: {_reason(error)}", sent=False)
        if isinstance(error, ConnectTimeoutError):
            return UpstreamError(f"ServicePattern did not answer {what} in time", sent=False)
        if isinstance(error, TimeoutError):
            return UpstreamError(f"ServicePattern did not answer {what} in time", sent=sent)
        framing = error.args[-1] if isinstance(error, ProtocolError) and error.args else None
        if isinstance(framing, FramingError):
            return UpstreamError(f"ServicePattern's answer to {what} refused: {framing}")
        return UpstreamError(f"ServicePattern unreachable: {type(error).__name__}", sent=sent)

    def close(self) -> None:
        """Close every idle connection."""
        self._manager.clear()


@functools.lru_cache(maxsize=32)
def _timeout(connect: float, read: float) -> urllib3.Timeout:
    """One Timeout per (connect, read) pair: urllib3 clones it for each call, never changes it."""
    return urllib3.Timeout(connect=connect, read=read)


def _closed_unanswered(error: BaseException | None) -> bool:
    """Whether the server closed the connection before a byte of its answer."""
    if not isinstance(error, ProtocolError) or len(error.args) < 2:
        return False
    return isinstance(error.args[1], (http.client.RemoteDisconnected, BrokenPipeError))


def _reason(error: BaseException) -> str:
    """The innermost cause of an error, in one short line."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__
    text = str(error).splitlines()[0][:200] if str(error) else ""
    return text or type(error).__name__
