"""What every benchmark shares: the machine, the stand-in, our server under gunicorn, a private
Redis, the process figures (RSS, CPU of the server's workers; CPU of any other process),
percentiles and the result file."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
PY = sys.executable
APP_ID = "0123456789abcdef0123456789abcdef"
TENANT = "tenant.example.com"
PREFIX = "/clientweb/api/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for name in (
        "gunicorn",
        "flask",
        "flask-sock",
        "simple-websocket",
        "requests",
        "urllib3",
        "werkzeug",
        "gevent",
        "greenlet",
        "websockets",
        "redis",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "--", "webchat", "app.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit + ("+dirty" if dirty else ""),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {"bench": name, "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 3)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50_ms": ms(pct(values, 50)),
        "p90_ms": ms(pct(values, 90)),
        "p99_ms": ms(pct(values, 99)),
        "max_ms": ms(max(values) if values else None),
    }


class Standin:
    """bench/standin.py in its own process."""

    def __init__(self, hold: float = 10.0, file_size: int = 25 * 1024 * 1024) -> None:
        self.proc = subprocess.Popen(
            [PY, str(BENCH / "standin.py"), "--hold", str(hold), "--file-size", str(file_size)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        line = self.proc.stdout.readline()
        if not line.startswith("PORT"):
            raise RuntimeError("stand-in did not start")
        self.port = int(line.split()[1])
        self.process = psutil.Process(self.proc.pid)
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = self.base + PREFIX
        self.http = requests.Session()

    def ctl(self, what: str, **body: Any) -> dict:
        r = self.http.post(f"{self.base}/_ctl/{what}", json=body, timeout=30)
        return r.json()

    def stats(self, reset: bool = False) -> dict:
        return self.http.get(
            f"{self.base}/_ctl/stats" + ("?reset=1" if reset else ""), timeout=30
        ).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def cpu_seconds(proc: psutil.Process) -> float:
    """User + system CPU seconds a process has used so far (0 once it is gone)."""
    try:
        t = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return t.user + t.system


def cpu_precise(proc: psutil.Process) -> float:
    """CPU seconds the process's live threads have run, to the nanosecond (the first field of
    /proc/<pid>/task/<tid>/schedstat): cpu_times() counts in 10 ms ticks, too coarse for one
    transfer of a few tens of ms. Threads that already exited are not in it; falls back to
    cpu_times() where schedstat is missing."""
    total = 0
    try:
        for task in os.scandir(f"/proc/{proc.pid}/task"):
            with open(f"{task.path}/schedstat") as stat:
                total += int(stat.read().split()[0])
    except (OSError, ValueError, IndexError):
        return cpu_seconds(proc)
    return total / 1e9


class CpuMeter:
    """CPU of named processes over a window, as % of one core: `start()`, then `stop()`."""

    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs

    def start(self) -> CpuMeter:
        self.t0 = time.monotonic()
        self.c0 = {name: cpu_seconds(p) for name, p in self.procs.items()}
        return self

    def stop(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.t0)
        return {
            name: round(100.0 * (cpu_seconds(p) - self.c0[name]) / elapsed, 1)
            for name, p in self.procs.items()
        }


OPEN_FILES = 65536  # two a chat: 10,000 chats need more than the 20,000 some machines allow


def allow_open_files() -> None:
    """In the server's process before it starts: a hard limit of OPEN_FILES open files where
    the bench may raise it (root); gunicorn itself raises its soft limit to the hard one."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


class Server:
    """Our app under real gunicorn; `mode` is gthread or gevent; `workers` processes (one by
    default: the memory store lives in one process; several need STORE_URL=redis://)."""

    def __init__(
        self,
        upstream: str,
        mode: str = "gthread",
        threads: int = 256,
        extra_env: dict[str, str] | None = None,
        log_name: str = "server",
        app: str = "wsgi:app",
        workers: int = 1,
    ) -> None:
        self.mode = mode
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SP_", "SECRET_KEY"))}
        env.update(
            {
                "BIND": f"127.0.0.1:{self.port}",
                "SP_API_URL": upstream,
                "SP_TENANT_URL": TENANT,
                "SP_APP_ID": APP_ID,
                "SECRET_KEY": "bench-secret-" + uuid.uuid4().hex,
                "SP_POLL_TIMEOUT": "30",
                "FRAMES_PER_MINUTE": "1000000",
                "UPLOADS_PER_MINUTE": "100000",
                "LOG_LEVEL": "WARNING",
                "WEB_CONCURRENCY": str(workers),
                # Every bench tab comes from 127.0.0.1: the per-address caps, meant for the
                # visitors of one network, would refuse the load being measured.
                "WS_MAX_PER_ADDRESS": "1000000",
                "CHAT_STARTS_PER_ADDRESS_PER_HOUR": "1000000",
                "CHAT_STARTS_PER_HOUR": "1000000",
            }
        )
        env.update(extra_env or {})
        cmd = [PY, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--graceful-timeout", "2"]
        if mode == "gthread":
            # gthread also caps open connections at worker_connections (default 1000), whatever
            # --threads says: raise both, or sockets beyond 1000 wait in the listen backlog.
            cmd += ["-k", "gthread", "--threads", str(threads)]
            cmd += ["--worker-connections", str(threads + 64)]
            env.setdefault("WS_MAX_OPEN", str(threads))  # its default keeps threads for pages
        elif mode == "gevent":
            cmd += ["-k", "gevent", "--worker-connections", str(max(threads, 1000))]
        else:
            raise ValueError(mode)
        cmd.append(app)
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.log_path = RESULTS / f"{log_name}-{mode}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=allow_open_files,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        master = psutil.Process(self.proc.pid)
        while len(master.children()) < workers:  # the others may still be forking
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(master.children())} of {workers} workers started")
            time.sleep(0.1)
        self.workers = sorted(master.children(), key=lambda p: p.pid)
        self.worker = self.workers[0]

    # Figures summed over the workers (with one worker, that worker's own).

    def rss(self) -> int:
        return sum(w.memory_info().rss for w in self.workers)

    def cpu(self) -> float:
        return sum(cpu_seconds(w) for w in self.workers)

    def threads(self) -> int:
        return sum(w.num_threads() for w in self.workers)

    def fds(self) -> int:
        return sum(w.num_fds() for w in self.workers)

    def sockets(self, worker: psutil.Process) -> int:
        """Established client connections a worker holds (the chats' sockets, mostly)."""
        return sum(
            1
            for c in worker.net_connections(kind="tcp")
            if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == self.port
        )

    def alive(self) -> bool:
        return self.proc.poll() is None and all(w.is_running() for w in self.workers)

    def log_tail(self, lines: int = 20) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def table(rows: list[list[Any]], head: list[str]) -> str:
    cells = [[str(c) for c in head]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


class RedisServer:
    """A private redis-server on a free port, its files in a temporary folder: the tests' own
    (tests/redis_server.py), persisted as the README advises (AOF) but with fsync once a second
    (Redis's default for AOF), what a production Redis for this server does, without the disk
    waits of fsync on every write; room for 50,000 clients."""

    def __init__(self) -> None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from tests.redis_server import RedisServer as Launcher

        self.folder = tempfile.mkdtemp(prefix="bench-redis-")
        self.launcher = Launcher(Path(self.folder), "everysec", ("--maxclients", "50000"))
        self.launcher.start()
        self.port, self.url = self.launcher.port, self.launcher.url
        self.client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        self.process = psutil.Process(self.launcher.proc.pid)

    def commands(self) -> dict[str, int]:
        """Calls so far by command (INFO commandstats), and "total" (total_commands_processed).
        Each call of this adds one INFO to both; callers taking deltas subtract it."""
        stats = self.client.info("commandstats")
        out = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        out["total"] = int(self.client.info("stats")["total_commands_processed"])
        return out

    def rss(self) -> int:
        return self.process.memory_info().rss

    def stop(self) -> None:
        self.launcher.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class WsClient:
    """bench/wsclient.py in its own process (its CPU never counts as the server's)."""

    def __init__(self, url: str, start_chats: bool = True, concurrency: int = 50) -> None:
        cmd = [PY, str(BENCH / "wsclient.py"), "--url", url, "--concurrency", str(concurrency)]
        if start_chats:
            cmd.append("--start-chats")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True
        )
        self.process = psutil.Process(self.proc.pid)

    def call(self, cmd: str, **args: Any) -> dict:
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ws client died")
        return json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
