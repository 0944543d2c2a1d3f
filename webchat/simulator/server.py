"""Serve a Simulator over real HTTP on a background thread (demo mode and tests)."""

from __future__ import annotations

import ssl
import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import PREFIX, create_app
from .simulator import Simulator


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (polls would flood the output)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SimulatorServer:
    """A threaded werkzeug server for one Simulator; ``start()`` returns once listening."""

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.ssl_context = ssl_context
        self._requested_port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SimulatorServer is not started")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}{PREFIX}"

    def start(self) -> SimulatorServer:
        if self._server is not None:
            return self
        app = create_app(self.simulator)
        self._server = make_server(
            self.host,
            self._requested_port,
            app,
            threaded=True,
            request_handler=_QuietHandler,
            ssl_context=self.ssl_context,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-http-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Cancel agent timers, release held polls, and close the listening socket."""
        self.simulator.close()
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
