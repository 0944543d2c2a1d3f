"""Streaming: a 25 MB upload and download through our server against the same transfer made
directly to the upstream stand-in; throughput ratio and the server worker's peak RSS growth.

    .venv/bin/python bench/streaming.py [--modes gthread,gevent] [--mb 25] [--runs 3]

A visitor loads /chat (cookie and token), opens /ws and starts a chat; then, `runs` times each:
- upload: POST /api/files (multipart part `file`) vs POST {upstream}/files with the same body;
- download: GET /api/files/<id> vs GET {upstream}/chats/<id>/files/<id>, read in 64 KiB chunks.
The worker's RSS is sampled every 5 ms during each transfer through the server; growth is the
peak minus the RSS just before. Throughput is the median over the runs; the ratio is relayed /
direct (target >= 0.5); RSS growth target < 10 MB.
Writes bench/results/streaming.json.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import threading
import time
from pathlib import Path

import requests
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import APP_ID, TENANT, Server, Standin, table, write_result  # noqa: E402

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


def run_mode(mode: str, standin: Standin, body: bytes, size: int, runs: int) -> dict:
    server = Server(standin.api, mode, threads=32, log_name="streaming")
    try:
        http = requests.Session()
        page = http.get(server.url + "/chat", timeout=10)
        found = re.search(r'data-token="([^"]+)"', page.text)
        token = found.group(1) if found else ""
        if token:
            http.headers["X-Webchat-Token"] = token
        cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        ws = websocket.create_connection(
            server.url.replace("http", "ws", 1) + "/ws" + (f"?token={token}" if token else ""),
            origin=server.url,
            cookie=cookie or None,
            timeout=10,
        )
        ws.send(json.dumps({"type": "hello", "after": 0}))
        ws.send(json.dumps({"type": "start", "parameters": {}}))
        while True:
            frame = json.loads(ws.recv())
            if frame.get("type") == "state" and frame.get("chat"):
                break  # the chat exists: files can be shared
        up, down, up_rss, down_rss = [], [], [], []
        for _ in range(runs):
            with RssPeak(server) as peak:
                seconds, shared = timed_upload(http, server.url + "/api/files", body)
            assert standin.stats()["upload_bytes"] >= size, "upload did not arrive whole"
            up.append(seconds)
            up_rss.append(peak.growth_mib)
            with RssPeak(server) as peak:
                seconds, got = timed_download(http, f"{server.url}/api/files/{shared['file_id']}")
            assert got == size, f"downloaded {got} of {size} bytes"
            down.append(seconds)
            down_rss.append(peak.growth_mib)
        ws.close()
        return {
            "upload_s": up,
            "download_s": down,
            "upload_rss_growth_mib": up_rss,
            "download_rss_growth_mib": down_rss,
            "rss_after_mib": round(server.rss() / 2**20, 1),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gthread,gevent")
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024 - 4096  # under the 25 MB limit with the multipart framing
    body = multipart(size)
    standin = Standin(hold=10.0, file_size=size)
    try:
        http = requests.Session()
        params = {"tenantUrl": TENANT}
        chat_id = http.post(
            f"{standin.api}/chats", json={}, headers=HEADERS, params=params, timeout=10
        ).json()["chat_id"]
        d_up, d_down = [], []
        for _ in range(args.runs):
            d_up.append(
                timed_upload(http, f"{standin.api}/files", body, params=params, headers=HEADERS)[0]
            )
            d_down.append(
                timed_download(http, f"{standin.api}/chats/{chat_id}/files/f1", headers=HEADERS)[0]
            )
        mb = size / 1e6
        result: dict = {
            "config": vars(args),
            "bytes": size,
            "direct": {
                "upload_mb_s": round(mb / statistics.median(d_up), 1),
                "download_mb_s": round(mb / statistics.median(d_down), 1),
                "upload_s": d_up,
                "download_s": d_down,
            },
            "modes": {},
        }
        rows = [
            [
                "direct",
                result["direct"]["upload_mb_s"],
                None,
                None,
                result["direct"]["download_mb_s"],
                None,
                None,
            ]
        ]
        for mode in args.modes.split(","):
            try:
                got = run_mode(mode, standin, body, size, args.runs)
            except Exception as error:  # noqa: BLE001 - a mode that fails is a finding
                result["modes"][mode] = {"error": f"{type(error).__name__}: {error}"}
                print(f"{mode}: FAILED {error}")
                continue
            got["upload_mb_s"] = round(mb / statistics.median(got["upload_s"]), 1)
            got["download_mb_s"] = round(mb / statistics.median(got["download_s"]), 1)
            got["upload_ratio"] = round(got["upload_mb_s"] / result["direct"]["upload_mb_s"], 2)
            got["download_ratio"] = round(
                got["download_mb_s"] / result["direct"]["download_mb_s"], 2
            )
            got["peak_rss_growth_mib"] = max(
                got["upload_rss_growth_mib"] + got["download_rss_growth_mib"]
            )
            got["meets_target"] = (
                min(got["upload_ratio"], got["download_ratio"]) >= 0.5
                and got["peak_rss_growth_mib"] < 10 * 1e6 / 2**20
            )
            result["modes"][mode] = got
            rows.append(
                [
                    mode,
                    got["upload_mb_s"],
                    got["upload_ratio"],
                    max(got["upload_rss_growth_mib"]),
                    got["download_mb_s"],
                    got["download_ratio"],
                    max(got["download_rss_growth_mib"]),
                ]
            )
        path = write_result("streaming", result)
        print(
            table(
                rows,
                [
                    "side",
                    "up MB/s",
                    "up ratio",
                    "up RSS +MiB",
                    "down MB/s",
                    "down ratio",
                    "down RSS +MiB",
                ],
            )
        )
        print(f"wrote {path}")
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
