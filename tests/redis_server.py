"""A private redis-server for tests, on a free port, with an append-only file so that a
restart keeps the data (as a production Redis for this server should)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from tests.harness import free_port


class RedisServer:
    """`redis-server` as a child process; `restart()` stops and starts it on the same port."""

    def __init__(
        self, folder: Path, appendfsync: str = "always", extra: tuple[str, ...] = ()
    ) -> None:
        """`appendfsync` "always" (the tests: nothing acknowledged is lost in a restart) or
        "everysec" (Redis's default for AOF, as the benches run it); `extra`: more options."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed")
        self.binary = binary
        self.folder = folder
        self.appendfsync = appendfsync
        self.extra = extra
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                "--dir",
                str(self.folder),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    client.close()
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)  # the port is not open yet: nothing to wait on but time
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
