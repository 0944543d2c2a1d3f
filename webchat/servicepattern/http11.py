"""A small HTTP/1.1 client for ServicePattern's JSON calls, the long poll above all.

Every open chat costs one long poll every 5-15 s, so the CPU of one call bounds how many chats a
process can hold. requests and urllib3 spend about 0.4 ms of CPU on a call that moves a few
hundred bytes (URL parsing, header objects, email-parser headers, a buffered reader per
response); this client writes the request in one `sendall` and reads the answer with a few
`recv` calls, about a fifth of that (bench/README.md). It does only what these calls need:
keep-alive connections pooled per origin, TLS verified as configured, `Content-Length`, chunked
and read-until-close bodies, a connect timeout and a per-read timeout. Everything else (proxies,
streamed files) stays with requests.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

_UNSAFE = re.compile(r"[\r\n\x00]")  # would end a header line or the head early
MAX_HEAD = 64 * 1024  # status line and headers
MAX_BODY = 16 * 1024 * 1024  # a JSON answer; anything larger is not ServicePattern's
READ_SIZE = 65536


class TransportError(Exception):
    """The call failed below HTTP: refused, reset, closed early, or not HTTP at all."""


class TransportTimeout(TransportError):
    """Connecting, or waiting for the next bytes of the answer, took longer than allowed."""


class TransportTLSError(TransportError):
    """The TLS handshake failed, the certificate's verification above all."""


@dataclass
class Answer:
    """One HTTP answer, read whole."""

    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order, repeats kept
    body: bytes

    def get_all(self, name: str) -> list[str]:
        """Every value of a header (Set-Cookie comes more than once)."""
        name = name.lower()
        return [value for key, value in self.headers if key == name]


class _Connection:
    __slots__ = ("sock", "buffer", "reused")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""  # bytes read past the end of the previous answer (none, normally)
        self.reused = False


class HTTP11Client:
    """Calls on one origin (scheme, host, port) over pooled keep-alive connections."""

    def __init__(self, base_url: str, *, verify: bool | str, max_idle: int = 1000) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        default_port = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = host if self.port == default_port else f"{host}:{self.port}"
        self.max_idle = max_idle
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._context = _tls_context(verify) if self.tls else None
        # Under gevent a socket waits in the hub before it reads, holding no buffer; with OS
        # threads the client waits with poll() itself first (see _read_answer).
        self._wait_first = not socket.socket.__module__.startswith("gevent")

    # -- calls -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        timeout: tuple[float, float],
    ) -> Answer:
        """One call. A pooled connection found closed by the server as the request went out
        (no byte of an answer came) is dropped and the call goes again on another one; a new
        connection is never retried."""
        payload = self._head(method, target, headers, None if body is None else len(body))
        if body:
            payload += body
        while True:
            conn = self._checkout(timeout[0])
            try:
                try:
                    conn.sock.settimeout(timeout[1])
                    conn.sock.sendall(payload)
                except Exception as error:  # noqa: BLE001 - _fail raises what it means
                    self._fail(conn, error)
                return self._finish(conn, method)
            except _Retry:
                continue

    def send_stream(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        chunks: Iterable[bytes],
        length: int,
        timeout: tuple[float, float],
    ) -> Answer:
        """A call whose body is read as it is sent (an upload): `length` bytes from `chunks`,
        each written as it comes, never gathered. Not retried: the body cannot be read twice.
        When the server answers before taking the whole body (a 413, say), that answer is
        returned."""
        conn = self._checkout(timeout[0])
        conn.reused = False  # a stale connection is an error here, not a retry
        try:
            conn.sock.settimeout(timeout[1])
            conn.sock.sendall(self._head(method, target, headers, length))
        except Exception as error:  # noqa: BLE001 - _fail raises what it means
            self._fail(conn, error)
        sent = 0
        try:
            for chunk in chunks:
                sent += len(chunk)
                if sent > length:
                    raise ValueError("the body is longer than its length")
                conn.sock.sendall(chunk)
        except (OSError, ssl.SSLError):
            pass  # the server stopped reading: its answer, if any, says why
        except BaseException:
            self._discard(conn)
            raise
        else:
            if sent != length:
                self._discard(conn)
                raise ValueError("the body is shorter than its length")
        try:
            return self._finish(conn, method)
        except _Retry:
            raise TransportError("the connection closed without an answer") from None

    def _head(self, method: str, target: str, headers: dict[str, str], length: int | None) -> bytes:
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        head.extend(f"{name}: {value}" for name, value in headers.items())
        # One search over all of it: a CR, LF or NUL anywhere would end a line or the head.
        if _UNSAFE.search("".join(head)) or " " in target:
            raise ValueError("a header or the target would break the request")
        if any(":" in name for name in headers):
            raise ValueError("a header name would break the request")
        if length is not None:
            head.append(f"Content-Length: {length}")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def _finish(self, conn: _Connection, method: str) -> Answer:
        """Read the answer; the connection goes back to the pool or is closed."""
        try:
            answer, keep = self._read_answer(conn, method)
        except Exception as error:  # noqa: BLE001 - _fail raises what it means
            self._fail(conn, error)
        if keep:
            self._checkin(conn)
        else:
            self._discard(conn)
        return answer

    def _fail(self, conn: _Connection, error: BaseException) -> NoReturn:
        """Close the connection and raise what the failure means: a retry (a reused
        connection the server had closed), or a TransportError of the right kind."""
        self._discard(conn)
        if isinstance(error, _ClosedEarly):
            if conn.reused:
                raise _Retry from None
            raise TransportError("the connection closed without an answer") from None
        if isinstance(error, TimeoutError):
            raise TransportTimeout("no answer in time") from None
        if isinstance(error, ssl.SSLError):
            raise TransportTLSError(str(error)) from error
        if isinstance(error, OSError):
            if conn.reused and isinstance(error, (ConnectionResetError, BrokenPipeError)):
                raise _Retry from None
            raise TransportError(f"{type(error).__name__}: {error}") from error
        raise error

    def close(self) -> None:
        """Close every idle connection (calls in flight close theirs when they end)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.sock.close()

    # -- connections -----------------------------------------------------------------------

    def _checkout(self, connect_timeout: float) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._connect(connect_timeout)
            if _still_open(conn.sock):
                conn.reused = True
                return conn
            conn.sock.close()

    def _connect(self, timeout: float) -> _Connection:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
        except TimeoutError:
            raise TransportTimeout("connecting took too long") from None
        except OSError as error:
            raise TransportError(f"{type(error).__name__}: {error}") from error
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._context is not None:
            try:
                sock = self._context.wrap_socket(sock, server_hostname=self.host)
            except TimeoutError:
                sock.close()
                raise TransportTimeout("the TLS handshake took too long") from None
            except ssl.SSLError as error:
                sock.close()
                raise TransportTLSError(str(error)) from error
            except OSError as error:
                sock.close()
                raise TransportError(f"{type(error).__name__}: {error}") from error
        return _Connection(sock)

    def _checkin(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                conn.reused = False
                self._idle.append(conn)
                return
        conn.sock.close()

    @staticmethod
    def _discard(conn: _Connection) -> None:
        conn.sock.close()

    # -- reading an answer -----------------------------------------------------------------

    def _read_answer(self, conn: _Connection, method: str) -> tuple[Answer, bool]:
        data = conn.buffer
        conn.buffer = b""
        if not data and self._wait_first and not _readable(conn.sock, conn.sock.gettimeout()):
            # Waited for before reading: a thread blocked in recv() holds its 64 KiB buffer,
            # and thousands of long polls wait here at once.
            raise TimeoutError
        while True:
            end = data.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(data) > MAX_HEAD:
                raise TransportError("the answer's headers are too long")
            chunk = conn.sock.recv(READ_SIZE)
            if not chunk:
                if data:
                    raise TransportError("the server closed the connection mid-answer")
                raise _ClosedEarly
            data += chunk
        status, version, headers = _parse_head(data[:end])
        rest = data[end + 4 :]
        if 100 <= status < 200:  # an interim answer; the real one follows
            conn.buffer = rest
            return self._read_answer(conn, method)
        keep = version == "HTTP/1.1"
        length: int | None = None
        chunked = False
        for name, value in headers:
            if name == "connection":
                tokens = value.lower()
                if "close" in tokens:
                    keep = False
                elif "keep-alive" in tokens:
                    keep = True
            elif name == "content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise TransportError(f"bad Content-Length {value!r}") from None
                if length < 0:
                    raise TransportError(f"bad Content-Length {value!r}")
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if method == "HEAD" or status in (204, 304):
            body, rest = b"", rest
        elif chunked:
            body, rest = _read_chunked(conn.sock, rest)
        elif length is not None:
            if length > MAX_BODY:
                raise TransportError("the answer is too large")
            body, rest = _read_exactly(conn.sock, rest, length)
        else:
            body, rest, keep = _read_to_close(conn.sock, rest), b"", False
        conn.buffer = rest
        return Answer(status, headers, body), keep


class _ClosedEarly(Exception):
    """The connection ended before a byte of the answer arrived."""


class _Retry(Exception):
    """A pooled connection turned out closed: the call goes again on another one."""


def _tls_context(verify: bool | str) -> ssl.SSLContext:
    """Verification against a CA file (the caller passes requests' own when none is set), the
    system's CAs, or none at all."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)


def _readable(sock: socket.socket, timeout: float | None) -> bool:
    """Whether the socket has bytes (or an end) to read within `timeout` seconds. poll, not
    select: a busy process has far more than select's 1,024 descriptors."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(None if timeout is None else timeout * 1000))


def _still_open(sock: socket.socket) -> bool:
    """An idle keep-alive connection is usable unless the server closed it (or, out of turn,
    sent something): one non-blocking peek, or a poll() for TLS, which cannot peek."""
    try:
        if isinstance(sock, ssl.SSLSocket):
            return not _readable(sock, 0)
        sock.settimeout(0)
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True  # nothing to read: open and idle
    except (OSError, ValueError):
        return False
    return False


def _parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise TransportError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise TransportError(f"bad header line {line[:80]!r}")
        headers.append((name.lower(), value.strip()))
    return int(parts[1]), parts[0], headers


def _read_exactly(sock: socket.socket, data: bytes, length: int) -> tuple[bytes, bytes]:
    while len(data) < length:
        chunk = sock.recv(max(READ_SIZE, length - len(data)))
        if not chunk:
            raise TransportError("the server closed the connection mid-answer")
        data += chunk
    return data[:length], data[length:]


def _read_line(sock: socket.socket, data: bytes) -> tuple[bytes, bytes]:
    while True:
        end = data.find(b"\r\n")
        if end >= 0:
            return data[:end], data[end + 2 :]
        if len(data) > MAX_HEAD:
            raise TransportError("a chunk header is too long")
        chunk = sock.recv(READ_SIZE)
        if not chunk:
            raise TransportError("the server closed the connection mid-answer")
        data += chunk


def _read_chunked(sock: socket.socket, data: bytes) -> tuple[bytes, bytes]:
    body = bytearray()
    while True:
        line, data = _read_line(sock, data)
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise TransportError(f"bad chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise TransportError(f"bad chunk size {size_text[:20]!r}")
        if size == 0:
            while True:  # trailers, up to the empty line
                line, data = _read_line(sock, data)
                if not line:
                    return bytes(body), data
        if len(body) + size > MAX_BODY:
            raise TransportError("the answer is too large")
        chunk, data = _read_exactly(sock, data, size + 2)
        if chunk[-2:] != b"\r\n":
            raise TransportError("a chunk does not end with CRLF")
        body += chunk[:-2]


def _read_to_close(sock: socket.socket, data: bytes) -> bytes:
    parts = [data]
    size = len(data)
    while True:
        chunk = sock.recv(READ_SIZE)
        if not chunk:
            return b"".join(parts)
        size += len(chunk)
        if size > MAX_BODY:
            raise TransportError("the answer is too large")
        parts.append(chunk)
