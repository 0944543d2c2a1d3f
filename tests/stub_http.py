"""A real HTTP server on loopback that answers from a script and records what it got.

For unit tests of the client: each canned answer is (status, headers, body); every request is
kept with its method, path, query, headers and body, so tests assert on what went over the wire.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def recv_head(conn: socket.socket, data: bytes = b"") -> tuple[bytes, bytes] | None:
    """Read from a raw socket up to the end of an HTTP head: (head, what came after it), or
    None when the peer closed first."""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Canned:
    status: int = 200
    body: bytes | str = b""
    headers: list[tuple[str, str]] = field(default_factory=list)


class StubServer:
    """Answers requests in order from `answers`; records them in `seen`."""

    def __init__(self) -> None:
        self.answers: list[Canned] = []
        self.seen: list[Seen] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                stub.seen.append(
                    Seen(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
                )
                canned = stub.answers.pop(0) if stub.answers else Canned(500, b"no answer")
                data = canned.body.encode() if isinstance(canned.body, str) else canned.body
                self.send_response(canned.status)
                for name, value in canned.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/clientweb/api/v1"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
