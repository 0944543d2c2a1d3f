"""A small forward proxy for tests: CONNECT tunnels (https) and absolute-URI requests (http).

It records what it was asked to reach, so a test can prove traffic went through it (or not).
"""

from __future__ import annotations

import contextlib
import select
import socket
import socketserver
import threading
from urllib.parse import urlsplit

from tests.stub_http import recv_head


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        client: socket.socket = self.request
        received = recv_head(client)
        if received is None:
            return
        head = received[0] + b"\r\n\r\n" + received[1]
        line, _, rest = head.partition(b"\r\n")
        method, target, version = line.decode("latin-1").split(" ", 2)
        self.server.seen.append(f"{method} {target}")  # type: ignore[attr-defined]
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            leftover = rest.partition(b"\r\n\r\n")[2]
        else:
            parts = urlsplit(target)
            upstream = socket.create_connection((parts.hostname, parts.port or 80))
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            leftover = f"{method} {path} {version}\r\n".encode() + rest
        with upstream:
            if leftover:
                upstream.sendall(leftover)
            self._pipe(client, upstream)

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        sockets = [a, b]
        while True:
            readable, _, _ = select.select(sockets, [], [], 30)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)


class Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> Proxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        with contextlib.suppress(OSError):
            self.server_close()
