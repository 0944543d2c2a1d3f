"""Upstream load: ServicePattern requests per minute caused by visitors who only look at pages
showing the launcher, at 10, 100 and 1,000 visitors (target: independent of the count).

    .venv/bin/python bench/upstream_load.py [--visitors 10,100,1000] [--window 30] [--modes gthread]

Each visitor views a page every `--period` s (phases spread at random), in two scenarios:
- launcher: the host page and the loader (GET /, GET /widget.js), as every page view does;
- chat page open: as if the iframe were prefetched or open with no chat started: GET /chat
  (keeping the visitor's cookie), GET /api/availability, GET /api/parameters, and /ws with
  `hello` (answered with `state`), closed at the next page view.
The upstream stand-in counts every call it gets by API method during the window; the result is
calls per minute by method, per scenario and visitor count. Writes bench/results/upstream_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server, Standin, table, write_result  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux) BenchVisitor/1.0"
TOKEN = re.compile(rb'data-token="([^"]+)"')
COOKIE = re.compile(rb"(?im)^set-cookie:\s*([^;\r\n]+)")


async def get(host: str, port: int, path: str, cookie: str = "", token: str = "") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    extra = (f"Cookie: {cookie}\r\n" if cookie else "") + (
        f"X-Webchat-Token: {token}\r\n" if token else ""
    )
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\n{extra}"
        f"Connection: close\r\n\r\n".encode()
    )
    data = await reader.read()
    writer.close()
    if not data.startswith(b"HTTP/1.1 2"):
        raise RuntimeError(f"GET {path}: {data[:30]!r}")
    return data


class Visitor:
    def __init__(self, url: str, chat_page: bool) -> None:
        self.url = url
        hostport = url.split("://", 1)[1]
        self.host, self.port = hostport.rsplit(":", 1)[0], int(hostport.rsplit(":", 1)[1])
        self.chat_page = chat_page
        self.cookie = ""
        self.ws = None

    async def page_view(self, errors: Counter) -> None:
        try:
            await get(self.host, self.port, "/")
            await get(self.host, self.port, "/widget.js")
            if not self.chat_page:
                return
            if self.ws is not None:
                await self.ws.close()
                self.ws = None
            page = await get(self.host, self.port, "/chat", self.cookie)
            if not self.cookie:
                self.cookie = "; ".join(c.decode() for c in COOKIE.findall(page))
            found = TOKEN.search(page)
            token = found.group(1).decode() if found else ""
            await get(self.host, self.port, "/api/availability", self.cookie, token)
            await get(self.host, self.port, "/api/parameters", self.cookie, token)
            ws_url = (
                self.url.replace("http", "ws", 1) + "/ws" + (f"?token={token}" if token else "")
            )
            self.ws = await connect(
                ws_url,
                origin=self.url,
                ping_interval=None,
                additional_headers={"Cookie": self.cookie},
                open_timeout=30,
                user_agent_header=UA,
                compression=None,
            )
            await self.ws.send(json.dumps({"type": "hello", "after": 0}))
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), 30))
            if frame.get("type") != "state":
                errors[f"hello answered {frame.get('type')}"] += 1
        except Exception as error:  # noqa: BLE001 - counted
            errors[f"{type(error).__name__}: {str(error)[:60]}"] += 1

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


async def drive(
    url: str,
    count: int,
    chat_page: bool,
    seconds: float,
    period: float,
    standin: Standin,
    server: Server,
) -> dict:
    visitors = [Visitor(url, chat_page) for _ in range(count)]
    errors: Counter = Counter()
    views = 0
    sem = asyncio.Semaphore(100)

    async def life(v: Visitor, end: float) -> None:
        nonlocal views
        await asyncio.sleep(random.random() * period)
        while time.monotonic() < end:
            async with sem:
                await v.page_view(errors)
            views += 1
            await asyncio.sleep(period)

    # A first page view each (and the caches' first fill) before the window opens.
    await asyncio.gather(*(v.page_view(errors) for v in visitors[:1]))
    await asyncio.to_thread(standin.stats, True)
    cpu0, t0 = server.cpu(), time.monotonic()
    await asyncio.gather(*(life(v, t0 + seconds) for v in visitors))
    elapsed = time.monotonic() - t0
    cpu = 100 * (server.cpu() - cpu0) / elapsed
    stats = await asyncio.to_thread(standin.stats, True)
    await asyncio.gather(*(v.close() for v in visitors), return_exceptions=True)
    per_min = {k: round(v * 60 / elapsed, 1) for k, v in sorted(stats["counts"].items())}
    return {
        "visitors": count,
        "page_views_per_min": round(views * 60 / elapsed, 1),
        "upstream_per_min": per_min,
        "upstream_total_per_min": round(sum(per_min.values()), 1),
        "server_cpu_pct": round(cpu, 1),
        "seconds": round(elapsed, 1),
        "errors": dict(errors),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visitors", default="10,100,1000")
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--period", type=float, default=10.0, help="seconds between page views")
    parser.add_argument("--modes", default="gthread")
    args = parser.parse_args()
    counts = [int(x) for x in args.visitors.split(",")]
    result: dict = {"config": vars(args), "modes": {}}
    rows = []
    for mode in args.modes.split(","):
        standin = Standin(hold=10.0)
        server = Server(standin.api, mode, threads=max(counts) + 64, log_name="upstream_load")
        try:
            runs = []
            for scenario in ("launcher", "chat page open"):
                for count in counts:
                    got = asyncio.run(
                        drive(
                            server.url,
                            count,
                            scenario != "launcher",
                            args.window,
                            args.period,
                            standin,
                            server,
                        )
                    )
                    got["scenario"] = scenario
                    runs.append(got)
                    rows.append(
                        [
                            mode,
                            scenario,
                            count,
                            got["page_views_per_min"],
                            got["upstream_total_per_min"],
                            ", ".join(f"{k} {v}" for k, v in got["upstream_per_min"].items()),
                            got["server_cpu_pct"],
                            sum(got["errors"].values()),
                        ]
                    )
                    print(rows[-1], flush=True)
            result["modes"][mode] = runs
            for scenario in ("launcher", "chat page open"):
                totals = [r["upstream_total_per_min"] for r in runs if r["scenario"] == scenario]
                result["modes"][mode + ":" + scenario + ":spread"] = max(totals) - min(totals)
        finally:
            server.stop()
            standin.stop()
    path = write_result("upstream_load", result)
    print(
        table(
            rows,
            [
                "mode",
                "scenario",
                "visitors",
                "page views/min",
                "upstream/min",
                "by method /min",
                "server CPU %",
                "errors",
            ],
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
