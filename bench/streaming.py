"""Streaming: a 25 MB upload and download through our server against the same transfer made
directly to the upstream stand-in; throughput ratio and the server worker's peak RSS growth.

    .venv/bin/python bench/streaming.py [--modes gthread,gevent] [--mb 25] [--runs 5]

One server per mode, each with a visitor who loaded /chat (cookie and token), opened /ws and
started a chat. Then `runs` rounds, each: the direct transfers, then each mode's in turn:
- upload: POST /api/files (multipart part `file`) vs POST {upstream}/files with the same body;
- download: GET /api/files/<id> vs GET {upstream}/chats/<id>/files/<id>, read in 64 KiB chunks.
The worker's RSS is sampled every 5 ms during each transfer through the server; growth is the
peak minus the RSS just before. Throughput is the median over the runs; the ratio is the
median of each round's relayed / direct, so that drift in the machine's speed (the direct
transfers alone vary by up to 2x) hits both sides of a ratio alike. Targets: ratio >= 0.5,
RSS growth < 10 MB.
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
        """One upload then one download of the file: seconds and peak RSS growth of each."""
        with RssPeak(self.server) as peak:
            up_s, shared = timed_upload(self.http, self.server.url + "/api/files", body)
        assert standin.stats()["upload_bytes"] >= size, "upload did not arrive whole"
        up_rss = peak.growth_mib
        url = f"{self.server.url}/api/files/{shared['file_id']}"
        with RssPeak(self.server) as peak:
            down_s, got = timed_download(self.http, url)
        assert got == size, f"downloaded {got} of {size} bytes"
        return {"up_s": up_s, "down_s": down_s, "up_rss": up_rss, "down_rss": peak.growth_mib}

    def close(self) -> None:
        self.ws.close()
        self.server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gthread,gevent")
    parser.add_argument("--mb", type=int, default=25)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024 - 4096  # under the 25 MB limit with the multipart framing
    body = multipart(size)
    mb = size / 1e6
    standin = Standin(hold=10.0, file_size=size)
    relayed: dict[str, Relayed] = {}
    result: dict = {"config": vars(args), "bytes": size, "modes": {}}
    try:
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
        direct: dict[str, list[float]] = {"upload_s": [], "download_s": []}
        runs: dict[str, list[dict]] = {mode: [] for mode in relayed}
        for _ in range(args.runs):  # direct and each mode in turn, so drift hits all alike
            direct["upload_s"].append(
                timed_upload(http, f"{standin.api}/files", body, params=params, headers=HEADERS)[0]
            )
            direct["download_s"].append(
                timed_download(http, f"{standin.api}/chats/{chat_id}/files/f1", headers=HEADERS)[0]
            )
            for mode, side in relayed.items():
                runs[mode].append(side.transfer(standin, body, size))
        result["direct"] = {
            "upload_mb_s": round(mb / statistics.median(direct["upload_s"]), 1),
            "download_mb_s": round(mb / statistics.median(direct["download_s"]), 1),
            **direct,
        }
        rows = [["direct", result["direct"]["upload_mb_s"], None, None,
                 result["direct"]["download_mb_s"], None, None]]
        for mode, got in runs.items():
            up = [r["up_s"] for r in got]
            down = [r["down_s"] for r in got]
            # Each run's ratio against the direct transfer made just before it; the median.
            up_ratio = statistics.median(d / r for d, r in zip(direct["upload_s"], up, strict=True))
            down_ratio = statistics.median(
                d / r for d, r in zip(direct["download_s"], down, strict=True)
            )
            entry = {
                "upload_s": up,
                "download_s": down,
                "upload_mb_s": round(mb / statistics.median(up), 1),
                "download_mb_s": round(mb / statistics.median(down), 1),
                "upload_ratio": round(up_ratio, 2),
                "download_ratio": round(down_ratio, 2),
                "upload_rss_growth_mib": [r["up_rss"] for r in got],
                "download_rss_growth_mib": [r["down_rss"] for r in got],
                "rss_after_mib": round(relayed[mode].server.rss() / 2**20, 1),
            }
            entry["peak_rss_growth_mib"] = max(
                entry["upload_rss_growth_mib"] + entry["download_rss_growth_mib"]
            )
            entry["meets_target"] = (
                min(entry["upload_ratio"], entry["download_ratio"]) >= 0.5
                and entry["peak_rss_growth_mib"] < 10 * 1e6 / 2**20
            )
            result["modes"][mode] = entry
            rows.append([mode, entry["upload_mb_s"], entry["upload_ratio"],
                         max(entry["upload_rss_growth_mib"]), entry["download_mb_s"],
                         entry["download_ratio"], max(entry["download_rss_growth_mib"])])
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
        for side in relayed.values():
            side.close()
        standin.stop()


if __name__ == "__main__":
    main()
