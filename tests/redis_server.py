"""A private redis-server for tests, on a free port, with an append-only file so that a
restart keeps the data (as a production Redis for this server should)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Callable
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


def burst_while_paused(url: str, call: Callable[[], object], callers: int = 300) -> list[object]:
    """`call()` from `callers` threads released together while Redis holds every command for
    0.3 s (CLIENT PAUSE): what each returned, or the exception it raised."""
    outcomes: list[object] = []
    lock = threading.Lock()
    started = threading.Barrier(callers + 1)

    def one() -> None:
        started.wait()
        try:
            outcome = call()
        except Exception as error:  # noqa: BLE001 - an error is an outcome the caller checks
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(callers)]
    for t in threads:
        t.start()
    redis.Redis.from_url(url).execute_command("CLIENT", "PAUSE", 300, "ALL")
    started.wait()
    for t in threads:
        t.join(30)
    return outcomes
