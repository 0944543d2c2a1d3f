"""Streaming: a 25 MB upload and download through our server against the same transfer made
directly to the upstream stand-in, and through nginx as a plain reverse proxy to it (the
anchor: what one good proxy hop costs on this machine); throughput ratios, the server worker's
peak RSS growth and its CPU per transfer.

    .venv/bin/python bench/streaming.py [--modes gthread,gevent] [--mb 25] [--runs 5]
                                        [--nginx streaming|defaults|none]

One server per mode, each with a visitor who loaded /chat (cookie and token), opened /ws and
started a chat. nginx (Debian's /usr/sbin/nginx, one worker, its own prefix and configuration
in a temporary folder, on a free port) proxies everything to the stand-in. Its buffering:
- `streaming` (default): proxy_request_buffering off and proxy_buffering off, as
  deploy/nginx.conf has them for /api/files: a body passes through as it arrives, never
  spooled, which is what our relay does too, so the two hops compare like for like;
- `defaults`: nginx's defaults (the upload read whole into a temporary file before it is
  sent on, the download buffered in memory and temporary files): what an unconfigured nginx
  does, which costs disk writes our relay never makes.
Both raise client_max_body_size (1 MB by default) to take the 25 MB.
Then `runs` rounds, each: the direct transfers, then nginx's, then each mode's in turn:
- upload: POST /api/files (multipart part `file`) vs POST {upstream}/files with the same body;
- download: GET /api/files/<id> vs GET {upstream}/chats/<id>/files/<id>, read in 64 KiB chunks.
The worker's RSS is sampled every 5 ms during each transfer through the server; growth is the
peak minus the RSS just before. CPU per transfer is the time the worker's threads (ours, or
nginx's) ran during it, from /proc/<pid>/task/*/schedstat (nanoseconds; /proc's user+system
ticks are 10 ms, a fair part of one transfer), the median over the runs. Throughput is the
median over the runs; each ratio is the median of each round's ours / direct (or ours /
nginx, nginx / direct), so that drift in the machine's speed (the direct transfers alone vary
by up to 2x) hits both sides of a ratio alike.
Targets: ours / direct >= 0.5, ours / nginx >= 0.8, RSS growth < 10 MB.
Writes bench/results/streaming.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    APP_ID,
    PREFIX,
    TENANT,
    Server,
    Standin,
    cpu_precise,
    free_port,
    table,
    write_result,
)

TARGET_DIRECT = 0.5  # ours / direct
TARGET_NGINX = 0.8  # ours / nginx

HEADERS = {"Authorization": f'MOBILE-API-140-327-PLAIN appId="{APP_ID}", clientId="WebChat"'}
BOUNDARY = "benchboundary7d1f0c"


def multipart(size: int) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    return head + b"\x5a" * size + f"\r\n--{BOUNDARY}--\r\n".encode()


class RssPeak:
    """Samples a process's RSS every 5 ms in a thread while in the `with` block."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def __enter__(self) -> RssPeak:
        self.before = self.server.rss()
        self.peak = self.before
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.005):
            self.peak = max(self.peak, self.server.rss())

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        self.peak = max(self.peak, self.server.rss())

    @property
    def growth_mib(self) -> float:
        return round((self.peak - self.before) / 2**20, 2)


def timed_download(http: requests.Session, url: str, **kw) -> tuple[float, int]:
    t0 = time.perf_counter()
    got = 0
    with http.get(url, stream=True, timeout=120, **kw) as r:
        r.raise_for_status()
        for chunk in r.iter_content(64 * 1024):
            got += len(chunk)
    return time.perf_counter() - t0, got


def timed_upload(http: requests.Session, url: str, body: bytes, **kw) -> tuple[float, dict]:
    t0 = time.perf_counter()
    r = http.post(
        url,
        data=body,
        timeout=120,
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            **kw.pop("headers", {}),
        },
        **kw,
    )
    elapsed = time.perf_counter() - t0
    r.raise_for_status()
    return elapsed, r.json()


class Nginx:
    """Debian's nginx, one worker, as a reverse proxy in front of the stand-in on `port`; its
    prefix, configuration, logs and temporary files in a folder of its own (no root needed)."""

    def __init__(self, upstream_port: int, buffering: str) -> None:
        binary = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin")
        if binary is None:
            raise FileNotFoundError("nginx is not installed")
        self.folder = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}{PREFIX}"
        temp = "\n".join(
            f"    {kind}_temp_path {self.folder / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        streaming = (
            "        proxy_request_buffering off;\n        proxy_buffering off;\n"
            if buffering == "streaming"
            else ""
        )
        # `user` matters only when run as root: the worker stays this user, who owns the folder.
        user = pwd.getpwuid(os.getuid()).pw_name
        conf = self.folder / "nginx.conf"
        conf.write_text(
            f"daemon off;\nworker_processes 1;\nuser {user};\npid {self.folder / 'nginx.pid'};\n"
            f"error_log {self.folder / 'error.log'} warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log off;\n{temp}\n"
            f"    upstream standin {{ server 127.0.0.1:{upstream_port}; keepalive 16; }}\n"
            "    server {\n"
            f"        listen 127.0.0.1:{self.port};\n"
            "        client_max_body_size 0;\n"
            "        proxy_http_version 1.1;\n"
            '        proxy_set_header Connection "";\n'
            f"{streaming}"
            "        location / { proxy_pass http://standin; }\n"
            "    }\n"
            "}\n"
        )
        command = [binary, "-p", str(self.folder), "-e", str(self.folder / "error.log")]
        command += ["-c", str(conf)]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise RuntimeError(f"nginx -t failed: {check.stderr}")
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                workers = psutil.Process(self.proc.pid).children()
                if workers:
                    self.worker = workers[0]
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not start")
            time.sleep(0.05)  # the port is not open yet: nothing to wait on but time

    def cpu(self) -> float:
        return cpu_precise(self.worker)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


class Relayed:
    """One server of a mode with a visitor whose chat is started, ready to transfer files."""

    def __init__(self, mode: str, standin: Standin) -> None:
        self.server = Server(standin.api, mode, threads=32, log_name="streaming")
        self.http = requests.Session()
        page = self.http.get(self.server.url + "/chat", timeout=10)
        found = re.search(r'data-token="([^"]+)"', page.text)
        token = found.group(1) if found else ""
        if token:
            self.http.headers["X-Webchat-Token"] = token
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self.ws = websocket.create_connection(
            self.server.url.replace("http", "ws", 1) + "/ws" + (f"?token={token}" if token else ""),
            origin=self.server.url,
            cookie=cookie or None,
            timeout=10,
        )
        self.ws.send(json.dumps({"type": "hello", "after": 0}))
        self.ws.send(json.dumps({"type": "start", "parameters": {}}))
        while True:
            frame = json.loads(self.ws.recv())
            if frame.get("type") == "state" and frame.get("chat"):
                break  # the chat exists: files can be shared

    def transfer(self, standin: Standin, body: bytes, size: int) -> dict:
        """One upload then one download of the file: seconds, peak RSS growth and worker CPU
        seconds of each."""
        cpu0 = self.cpu()
        with RssPeak(self.server) as peak:
            up_s, shared = timed_upload(self.http, self.server.url + "/api/files", body)
        cpu1 = self.cpu()
        assert standin.stats()["upload_bytes"] >= size, "upload did not arrive whole"
        up_rss = peak.growth_mib
        url = f"{self.server.url}/api/files/{shared['file_id']}"
        with RssPeak(self.server) as peak:
            down_s, got = timed_download(self.http, url)
        cpu2 = self.cpu()
        assert got == size, f"downloaded {got} of {size} bytes"
        return {
            "up_s": up_s,
            "down_s": down_s,
            "up_rss": up_rss,
            "down_rss": peak.growth_mib,
            "up_cpu_s": cpu1 - cpu0,
            "down_cpu_s": cpu2 - cpu1,
        }

    def cpu(self) -> float:
        return cpu_precise(self.server.worker)

    def close(self) -> None:
        self.ws.close()
        self.server.stop()


def median_ratio(ref: list[float], ours: list[float]) -> float:
    """The median over the rounds of ref seconds / our seconds (our throughput over ref's)."""
    return round(statistics.median(r / o for r, o in zip(ref, ours, strict=True)), 2)


def cpu_ms(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gthread,gevent")
    parser.add_argument("--mb", type=int, default=25, help="file size (smoke tests: 2)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--nginx",
        choices=("streaming", "defaults", "none"),
        default="streaming",
        help="nginx's buffering as the anchor (streaming: request and response buffering off)",
    )
    args = parser.parse_args()
    size = args.mb * 1024 * 1024 - 4096  # under the 25 MB limit with the multipart framing
    body = multipart(size)
    mb = size / 1e6
    standin = Standin(hold=10.0, file_size=size)
    relayed: dict[str, Relayed] = {}
    nginx: Nginx | None = None
    result: dict = {
        "config": vars(args),
        "bytes": size,
        "targets": {"ratio_direct": TARGET_DIRECT, "ratio_nginx": TARGET_NGINX, "rss_mb": 10},
        "modes": {},
    }
    try:
        if args.nginx != "none":
            try:
                nginx = Nginx(standin.port, args.nginx)
                version = subprocess.run(
                    [nginx.proc.args[0], "-v"], capture_output=True, text=True
                ).stderr.strip()
                result["nginx_version"] = version.removeprefix("nginx version: ")
            except (OSError, RuntimeError) as error:
                result["nginx"] = {"error": f"{type(error).__name__}: {error}"}
                print(f"nginx: FAILED {error}")
        for mode in args.modes.split(","):
            try:
                relayed[mode] = Relayed(mode, standin)
            except Exception as error:  # noqa: BLE001 - a mode that fails is a finding
                result["modes"][mode] = {"error": f"{type(error).__name__}: {error}"}
                print(f"{mode}: FAILED {error}")
        http = requests.Session()
        params = {"tenantUrl": TENANT}
        chat_id = http.post(
            f"{standin.api}/chats", json={}, headers=HEADERS, params=params, timeout=10
        ).json()["chat_id"]
        # The plain sides: direct to the stand-in, and through nginx to it.
        plain = {"direct": standin.api, **({"nginx": nginx.api} if nginx else {})}
        seen: dict[str, dict[str, list[float]]] = {
            side: {"upload_s": [], "download_s": [], "upload_cpu_s": [], "download_cpu_s": []}
            for side in plain
        }
        runs: dict[str, list[dict]] = {mode: [] for mode in relayed}
        for _ in range(args.runs):  # direct, nginx and each mode in turn: drift hits all alike
            for side, api in plain.items():
                cpu0 = nginx.cpu() if side == "nginx" and nginx else 0.0
                seen[side]["upload_s"].append(
                    timed_upload(http, f"{api}/files", body, params=params, headers=HEADERS)[0]
                )
                cpu1 = nginx.cpu() if side == "nginx" and nginx else 0.0
                assert standin.stats()["upload_bytes"] >= size, "upload did not arrive whole"
                took, got = timed_download(http, f"{api}/chats/{chat_id}/files/f1", headers=HEADERS)
                assert got == size, f"{side}: downloaded {got} of {size} bytes"
                seen[side]["download_s"].append(took)
                cpu2 = nginx.cpu() if side == "nginx" and nginx else 0.0
                seen[side]["upload_cpu_s"].append(cpu1 - cpu0)
                seen[side]["download_cpu_s"].append(cpu2 - cpu1)
            for mode, side in relayed.items():
                runs[mode].append(side.transfer(standin, body, size))
        direct = seen["direct"]
        result["direct"] = {
            "upload_mb_s": round(mb / statistics.median(direct["upload_s"]), 1),
            "download_mb_s": round(mb / statistics.median(direct["download_s"]), 1),
            "upload_s": direct["upload_s"],
            "download_s": direct["download_s"],
        }
        rows = [
            [
                "direct",
                result["direct"]["upload_mb_s"],
                None,
                None,
                None,
                None,
                result["direct"]["download_mb_s"],
                None,
                None,
                None,
                None,
            ]
        ]
        if nginx is not None:
            got_n = seen["nginx"]
            result["nginx"] = {
                "buffering": args.nginx,
                "upload_s": got_n["upload_s"],
                "download_s": got_n["download_s"],
                "upload_mb_s": round(mb / statistics.median(got_n["upload_s"]), 1),
                "download_mb_s": round(mb / statistics.median(got_n["download_s"]), 1),
                "upload_ratio": median_ratio(direct["upload_s"], got_n["upload_s"]),
                "download_ratio": median_ratio(direct["download_s"], got_n["download_s"]),
                "upload_cpu_ms": cpu_ms(got_n["upload_cpu_s"]),
                "download_cpu_ms": cpu_ms(got_n["download_cpu_s"]),
            }
            n = result["nginx"]
            rows.append(
                [
                    "nginx",
                    n["upload_mb_s"],
                    n["upload_ratio"],
                    None,
                    n["upload_cpu_ms"],
                    None,
                    n["download_mb_s"],
                    n["download_ratio"],
                    None,
                    n["download_cpu_ms"],
                    None,
                ]
            )
        for mode, got in runs.items():
            up = [r["up_s"] for r in got]
            down = [r["down_s"] for r in got]
            # Each run's ratio against the transfer made just before it; the median.
            entry = {
                "upload_s": up,
                "download_s": down,
                "upload_mb_s": round(mb / statistics.median(up), 1),
                "download_mb_s": round(mb / statistics.median(down), 1),
                "upload_ratio": median_ratio(direct["upload_s"], up),
                "download_ratio": median_ratio(direct["download_s"], down),
                "upload_rss_growth_mib": [r["up_rss"] for r in got],
                "download_rss_growth_mib": [r["down_rss"] for r in got],
                "rss_after_mib": round(relayed[mode].server.rss() / 2**20, 1),
                "upload_cpu_s": [round(r["up_cpu_s"], 4) for r in got],
                "download_cpu_s": [round(r["down_cpu_s"], 4) for r in got],
                "upload_cpu_ms": cpu_ms([r["up_cpu_s"] for r in got]),
                "download_cpu_ms": cpu_ms([r["down_cpu_s"] for r in got]),
            }
            entry["peak_rss_growth_mib"] = max(
                entry["upload_rss_growth_mib"] + entry["download_rss_growth_mib"]
            )
            entry["meets_target"] = (
                min(entry["upload_ratio"], entry["download_ratio"]) >= TARGET_DIRECT
                and entry["peak_rss_growth_mib"] < 10 * 1e6 / 2**20
            )
            if nginx is not None:
                entry["upload_ratio_nginx"] = median_ratio(seen["nginx"]["upload_s"], up)
                entry["download_ratio_nginx"] = median_ratio(seen["nginx"]["download_s"], down)
                entry["meets_nginx_target"] = (
                    min(entry["upload_ratio_nginx"], entry["download_ratio_nginx"]) >= TARGET_NGINX
                )
            result["modes"][mode] = entry
            rows.append(
                [
                    mode,
                    entry["upload_mb_s"],
                    entry["upload_ratio"],
                    entry.get("upload_ratio_nginx"),
                    entry["upload_cpu_ms"],
                    max(entry["upload_rss_growth_mib"]),
                    entry["download_mb_s"],
                    entry["download_ratio"],
                    entry.get("download_ratio_nginx"),
                    entry["download_cpu_ms"],
                    max(entry["download_rss_growth_mib"]),
                ]
            )
        path = write_result("streaming", result)
        print(
            table(
                rows,
                [
                    "side",
                    "up MB/s",
                    "up /direct",
                    "up /nginx",
                    "up CPU ms",
                    "up RSS +MiB",
                    "down MB/s",
                    "down /direct",
                    "down /nginx",
                    "down CPU ms",
                    "down RSS +MiB",
                ],
            )
        )
        print(
            f"CPU ms: the time the worker (ours, or nginx's) ran per {mb:.1f} MB transfer, "
            f"median of {args.runs}; targets: /direct >= {TARGET_DIRECT}, "
            f"/nginx >= {TARGET_NGINX} (nginx buffering: {args.nginx})"
        )
        print(f"wrote {path}")
    finally:
        for side in relayed.values():
            side.close()
        if nginx is not None:
            nginx.stop()
        standin.stop()


if __name__ == "__main__":
    main()
