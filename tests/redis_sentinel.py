"""A private highly available Redis for tests: a primary, a replica and three sentinels, each
a child process on a free port, with sentinel timings short enough to fail over in seconds."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from tests.harness import free_port
from tests.redis_server import RedisServer

SERVICE = "webchat"


def _until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something true; the servers offer nothing to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except redis.RedisError:
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


class Sentinel:
    """`redis-server --sentinel` as a child process, watching one primary."""

    def __init__(self, folder: Path, primary_port: int, password: str) -> None:
        self.port = free_port()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "sentinel.conf"  # sentinel rewrites its own config file
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 2\n"
            f"sentinel auth-pass {SERVICE} {password}\n"
            f"sentinel down-after-milliseconds {SERVICE} 1000\n"
            f"sentinel failover-timeout {SERVICE} 3000\n"
            f"sentinel parallel-syncs {SERVICE} 1\n"
        )
        binary = shutil.which("redis-sentinel") or shutil.which("redis-server")
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(port=self.port, socket_timeout=2, decode_responses=True)

    def master(self) -> tuple[str, int] | None:
        found = self.client.sentinel_get_master_addr_by_name(SERVICE)
        return (found[0], int(found[1])) if found else None

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


class SentinelCluster:
    """Primary and replica (password protected, like a production pair) and three sentinels
    (without one); `url` is the store URL of the service."""

    def __init__(self, folder: Path, password: str = "s3cret-pass") -> None:
        self.folder = folder
        self.password = password
        (folder / "primary").mkdir(parents=True)
        (folder / "replica").mkdir()
        self.primary = RedisServer(folder / "primary")
        self.replica = RedisServer(folder / "replica")
        self.sentinels: list[Sentinel] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://:{self.password}@{hosts}/{SERVICE}/0"

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password, decode_responses=True)

    def start(self) -> SentinelCluster:
        for server in (self.primary, self.replica):
            server.start()
            plain = redis.Redis(port=server.port)
            plain.config_set("masterauth", self.password)
            plain.config_set("requirepass", self.password)
            plain.close()
        replica = self.client(self.replica.port)
        replica.replicaof("127.0.0.1", self.primary.port)
        _until(
            lambda: replica.info("replication").get("master_link_status") == "up",
            20,
            "the replica to sync",
        )
        replica.close()
        self.sentinels = [
            Sentinel(self.folder / f"sentinel{i}", self.primary.port, self.password)
            for i in range(3)
        ]
        for sentinel in self.sentinels:
            # Each sentinel must know the replica (to promote it) and its two peers (to vote).
            _until(
                lambda s=sentinel: (
                    (state := s.client.sentinel_master(SERVICE))
                    and int(state["num-slaves"]) >= 1
                    and int(state["num-other-sentinels"]) >= 2
                ),
                30,
                "the sentinels to know the replica and each other",
            )
        return self

    def kill_primary(self) -> None:
        """SIGKILL: the primary dies with whatever it had not yet sent to its replica."""
        proc = self.primary.proc
        assert proc is not None
        proc.kill()
        proc.wait(10)
        self.primary.proc = None

    def wait_failover(self, timeout: float = 30) -> tuple[str, int]:
        """Until every sentinel names the replica as the primary, and it takes writes."""
        want = ("127.0.0.1", self.replica.port)
        _until(lambda: all(s.master() == want for s in self.sentinels), timeout, "a failover")
        promoted = self.client(self.replica.port)
        _until(lambda: promoted.info("replication")["role"] == "master", timeout, "promotion")
        promoted.close()
        return want

    def stop(self) -> None:
        for sentinel in self.sentinels:
            sentinel.stop()
        self.primary.stop()
        self.replica.stop()
