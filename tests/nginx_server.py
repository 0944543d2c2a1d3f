"""A private nginx for tests, running deploy/nginx.conf as shipped, on a free port.

The shipped file is what goes inside nginx's `http {}`; here it is rendered with the test's
port, certificate and upstreams and wrapped in a main configuration of our own: no daemon, one
worker (so round-robin alternates strictly between the upstreams), and pid, logs and temporary
files in the test's folder, so no root and no system paths are needed.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import ROOT, ServerProcess, free_port
from tests.tls import Certs

TEMPLATE = ROOT / "deploy" / "nginx.conf"
PLACEHOLDER = re.compile(r"\$\{(WEBCHAT_[A-Z0-9_]+)\}")
FORGED = "203.0.113.7"  # an address a client claims in X-Forwarded-For


def render(template: str, values: dict[str, str]) -> str:
    """Substitute ${WEBCHAT_*} as envsubst would with those names; nginx's own $variables stay.
    A placeholder without a value is an error, not an empty string."""

    def value(match: re.Match[str]) -> str:
        return values[match[1]]

    return PLACEHOLDER.sub(value, template)


def main_conf(folder: Path, site: Path) -> str:
    """The main configuration around the site file; `user` matters only when run as root."""
    user = pwd.getpwuid(os.getuid()).pw_name
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nworker_processes 1;\nuser {user};\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} notice;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {folder / 'access.log'};\n{temp}\n"
        f"    include {site};\n"
        "}\n"
    )


class NginxServer:
    """Debian's nginx as a child process in front of `upstreams` (host:port each)."""

    def __init__(self, folder: Path, certs: Certs, upstreams: list[str]) -> None:
        binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
        if binary is None:
            raise FileNotFoundError("nginx is not installed")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        site = folder / "webchat.conf"
        site.write_text(
            render(
                TEMPLATE.read_text(),
                {
                    "WEBCHAT_LISTEN": f"127.0.0.1:{self.port}",
                    "WEBCHAT_SERVER_NAME": "127.0.0.1",
                    "WEBCHAT_TLS_CERT": str(certs.cert),
                    "WEBCHAT_TLS_KEY": str(certs.key),
                    "WEBCHAT_APP_1": upstreams[0],
                    "WEBCHAT_APP_2": upstreams[1],
                },
            )
        )
        self.conf = folder / "nginx.conf"
        self.conf.write_text(main_conf(folder, site))
        self.error_log = folder / "error.log"
        self.access_log = folder / "access.log"
        self.proc: subprocess.Popen | None = None

    def _command(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p",
            str(self.folder),
            "-e",
            str(self.error_log),
            "-c",
            str(self.conf),
            *extra,
        ]

    def start(self) -> NginxServer:
        check = subprocess.run(self._command("-t"), capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        self.proc = subprocess.Popen(
            self._command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)  # the port is not open yet: nothing to wait on but time
        raise RuntimeError("nginx did not start")

    def workers_started(self) -> int:
        return self.error_log.read_text().count("start worker process")

    def reload(self) -> None:
        """`nginx -s reload` as an operator runs it; returns once the new worker is up (the old
        one keeps its open sockets until they close)."""
        before = self.workers_started()
        subprocess.run(self._command("-s", "reload"), check=True, capture_output=True)
        deadline = time.monotonic() + 10
        while self.workers_started() <= before:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not reload: {self.error_log.read_text()}")
            time.sleep(0.05)  # the master logs the new worker: nothing else to wait on

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@dataclass
class Stack:
    """nginx in front of two instances sharing a store and a secret."""

    apps: list[ServerProcess]
    edge: NginxServer
    certs: Certs

    def stop(self) -> None:
        self.edge.stop()
        for app in self.apps:
            app.stop()


def start_stack(
    folder: Path, certs: Certs, upstream: str, redis_url: str, allowed_origins: str
) -> Stack:
    """Two instances on `redis_url` behind nginx; /metrics is for FORGED only (no one real)."""
    env = {
        "STORE_URL": redis_url,
        "TRUSTED_PROXIES": "1",
        "SECRET_KEY": "nginx-test-secret-" + uuid.uuid4().hex,
        "ALLOWED_ORIGINS": allowed_origins,
        "METRICS_ALLOW": FORGED,
    }
    apps = [ServerProcess(upstream, env), ServerProcess(upstream, env)]
    try:
        edge = NginxServer(folder, certs, [f"127.0.0.1:{a.port}" for a in apps]).start()
    except BaseException:
        for app in apps:
            app.stop()
        raise
    return Stack(apps, edge, certs)


def started_or_skip(make: Callable[[], Stack]) -> Stack:
    """`make()`; off CI a missing nginx skips the test, under CI it fails it."""
    try:
        return make()
    except FileNotFoundError:
        if os.environ.get("CI"):
            raise
        pytest.skip("waits for nginx (Debian package; scripts/test installs it as root)")
