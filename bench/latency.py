"""Relay latency: what our server adds to an event's way from ServicePattern to the browser,
and to a sent message's way from the browser to ServicePattern, against a client calling the
same upstream directly, with many other chats open on the server.

    .venv/bin/python bench/latency.py [--modes gevent[,gthread]] [--chats 20] [--seconds 10]
                                      [--others 1000]

One lean upstream stand-in (bench/standin.py, its own process) serves both sides:
- direct: a client polls the stand-in and posts Send Events itself, as a browser calling
  ServicePattern would, with one long-poll thread per chat and the same transport the relay
  uses (urllib3 with the strict reader, webchat/servicepattern/transport.py: requests would
  add more of its own per call and flatter the relay);
- relay: browser tabs (bench/wsclient.py, its own process) talk to our server over /ws, and our
  server polls and posts for them.
Before measuring, each server also gets `--others` idle chats (default 1,000) from another
wsclient process: open sockets whose polls the stand-in holds (10 s) and the server renews,
so the latency is measured on a server busy holding that many chats, not an empty one. They
stay open through every phase, the direct ones too (the stand-in holds their polls then as
well). gevent (the default worker) by default; gthread on request.
Inbound latency is stand-in emission -> frame received by the tab (or the direct poller);
outbound is `send` frame written (or POST started) -> Send Events body received by the stand-in.
Phases alternate (direct, then each mode, direct, ...) so all run under the same conditions;
the CPU of each server's worker is taken over its own phases.
Writes bench/results/latency.json. Targets: at most +1 ms at p50 and +3 ms at p99.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import (  # noqa: E402
    APP_ID,
    TENANT,
    Server,
    Standin,
    WsClient,
    summary,
    table,
    write_result,
)

from webchat.servicepattern import UpstreamError  # noqa: E402
from webchat.servicepattern.transport import Transport  # noqa: E402

TARGET_P50_MS = 1.0  # added over the direct client, with the other chats open
TARGET_P99_MS = 3.0

HEADERS = {
    "Authorization": f'MOBILE-API-140-327-PLAIN appId="{APP_ID}", clientId="WebChat"',
    "Accept": "application/json",
    "Cache-Control": "no-cache",
}


class Direct:
    """K chats, each long-polled by its own thread; sends from one thread, round robin."""

    def __init__(self, api: str, count: int) -> None:
        self.http = Transport(api, verify=False, pool_size=count + 8)
        self.base = urlsplit(api).path
        self.chats = [
            json.loads(self._call("POST", "/chats", {"parameters": {}}).body)["chat_id"]
            for _ in range(count)
        ]
        self.lat: list[float] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._poll, args=(c,), daemon=True) for c in self.chats
        ]
        for t in self.threads:
            t.start()

    def _call(self, method: str, path: str, body: dict | None = None, bust: bool = False):
        params = {"tenantUrl": TENANT}
        if bust:
            params["timestamp"] = str(int(time.time() * 1000))
        headers = dict(HEADERS)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        target = f"{self.base}{path}?{urlencode(params)}"
        timeout = (5.0, 40.0 if method == "GET" else 10.0)
        return self.http.call(method, target, headers, data, timeout)

    def _poll(self, chat_id: str) -> None:
        while not self.stop.is_set():
            try:
                answer = self._call("GET", f"/chats/{chat_id}/events", bust=True)
            except UpstreamError:
                return  # the stand-in stopped at the end of the run
            now = time.monotonic()
            if answer.body.strip():
                for event in json.loads(answer.body).get("events") or []:
                    msg = event.get("msg") or ""
                    if msg.startswith("t="):
                        self.lat.append(now - float(msg[2:]))

    def send_for(self, seconds: float, interval: float) -> None:
        """Each chat sends one message every `interval` s (spread over the chats)."""
        step = interval / len(self.chats)
        end = time.monotonic() + seconds
        i = 0
        next_at = time.monotonic()
        while time.monotonic() < end:
            chat_id = self.chats[i % len(self.chats)]
            body = {
                "events": [
                    {
                        "event": "chat_session_message",
                        "msg_id": f"m{i}",
                        "msg": f"t={time.monotonic():.6f}",
                    }
                ]
            }
            self._call("POST", f"/chats/{chat_id}/events", body)
            i += 1
            next_at += step
            time.sleep(max(0.0, next_at - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gevent", help="gevent, gthread or both")
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument(
        "--others", type=int, default=1000, help="other, idle chats open on each server"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--interval",
        type=float,
        default=0.25,
        help="seconds between events (and between sends) of one chat",
    )
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]

    standin = Standin(hold=10.0)
    servers: dict[str, Server] = {}
    clients: dict[str, WsClient] = {}
    others: dict[str, WsClient] = {}
    others_open: dict[str, dict] = {}
    failures: dict[str, str] = {}
    try:
        direct = Direct(standin.api, args.chats)
        relay_chats: dict[str, list[str]] = {}
        for mode in modes:
            try:
                servers[mode] = Server(
                    standin.api,
                    mode,
                    threads=args.others + 4 * args.chats + 64,
                    log_name="latency",
                )
                if args.others:
                    others[mode] = WsClient(servers[mode].url)
                    t0 = time.monotonic()
                    idle = others[mode].call("open", count=args.others)
                    others_open[mode] = {
                        "open": idle["open"],
                        "errors": idle["errors"],
                        "ramp_s": round(time.monotonic() - t0, 1),
                    }
                    if idle["open"] < args.others:
                        raise RuntimeError(
                            f"only {idle['open']} other chats opened: {idle['errors']}"
                        )
                clients[mode] = WsClient(servers[mode].url)
                opened = clients[mode].call("open", count=args.chats)
                if opened["open"] < args.chats:
                    raise RuntimeError(f"only {opened['open']} tabs opened: {opened['errors']}")
                relay_chats[mode] = opened["chats"]
            except Exception as error:  # noqa: BLE001 - a mode that does not work is a finding
                failures[mode] = f"{type(error).__name__}: {error}"
                if mode in servers:
                    failures[mode] += "\n" + servers[mode].log_tail()
        # Every poll loop, the others' too, holding a poll before anything is measured.
        want = args.chats * (1 + len(relay_chats))
        want += sum(others_open[m]["open"] for m in relay_chats if m in others_open)
        deadline = time.monotonic() + 60
        while (held := standin.stats()["held"]) < want and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(1.0)

        inbound: dict[str, list[float]] = {k: [] for k in ["direct", *relay_chats]}
        outbound: dict[str, list[float]] = {k: [] for k in ["direct", *relay_chats]}
        cpu: dict[str, list[float]] = {k: [0.0, 0.0] for k in relay_chats}  # seconds, CPU s
        for _ in range(args.rounds):
            for side in ["direct", *relay_chats]:
                standin.stats(reset=True)
                if side == "direct":
                    direct.lat = []
                    standin.ctl("auto", chats=direct.chats, interval=args.interval)
                    direct.send_for(args.seconds, args.interval)
                    standin.ctl("auto", chats=[])
                    time.sleep(0.3)
                    inbound[side] += direct.lat
                else:
                    client = clients[side]
                    client.call("stats", reset=True)
                    c0, t0 = servers[side].cpu(), time.monotonic()
                    standin.ctl("auto", chats=relay_chats[side], interval=args.interval)
                    client.call("active", tabs=list(range(args.chats)), interval=args.interval)
                    time.sleep(args.seconds)
                    client.call("active", tabs=[])
                    cpu[side][0] += time.monotonic() - t0
                    cpu[side][1] += servers[side].cpu() - c0
                    standin.ctl("auto", chats=[])
                    time.sleep(0.3)
                    inbound[side] += client.call("stats", reset=True)["lat"]
                outbound[side] += standin.stats()["send_lat"]
        direct.stop.set()

        result: dict = {
            "config": vars(args),
            "hold_s": 10.0,
            "targets": {"added_p50_ms": TARGET_P50_MS, "added_p99_ms": TARGET_P99_MS},
            "polls_held_before": held,
            "others": others_open,
            "server_cpu_pct": {
                side: round(100 * c / max(1e-9, t), 1) for side, (t, c) in cpu.items()
            },
            "failures": failures,
            "inbound": {},
            "outbound": {},
            "added": {},
        }
        for side in inbound:
            result["inbound"][side] = summary(inbound[side])
            result["outbound"][side] = summary(outbound[side])
        rows = []
        base_in, base_out = result["inbound"]["direct"], result["outbound"]["direct"]
        for side in inbound:
            i, o = result["inbound"][side], result["outbound"][side]
            if side != "direct" and i["n"] and o["n"]:
                result["added"][side] = {
                    "inbound_p50_ms": round(i["p50_ms"] - base_in["p50_ms"], 3),
                    "inbound_p99_ms": round(i["p99_ms"] - base_in["p99_ms"], 3),
                    "outbound_p50_ms": round(o["p50_ms"] - base_out["p50_ms"], 3),
                    "outbound_p99_ms": round(o["p99_ms"] - base_out["p99_ms"], 3),
                    "ratio_inbound_p50": round(i["p50_ms"] / base_in["p50_ms"], 2),
                    "ratio_outbound_p50": round(o["p50_ms"] / base_out["p50_ms"], 2),
                }
                a = result["added"][side]
                a["meets_target"] = (
                    max(a["inbound_p50_ms"], a["outbound_p50_ms"]) <= TARGET_P50_MS
                    and max(a["inbound_p99_ms"], a["outbound_p99_ms"]) <= TARGET_P99_MS
                )
            rows.append([side, i["n"], i["p50_ms"], i["p99_ms"], o["n"], o["p50_ms"], o["p99_ms"]])
        path = write_result("latency", result)
        print(
            table(
                rows,
                ["side", "in n", "in p50 ms", "in p99 ms", "out n", "out p50 ms", "out p99 ms"],
            )
        )
        for side, a in result["added"].items():
            print(
                f"{side}: added in p50 {a['inbound_p50_ms']} p99 {a['inbound_p99_ms']} ms; "
                f"out p50 {a['outbound_p50_ms']} p99 {a['outbound_p99_ms']} ms; "
                f"worker CPU {result['server_cpu_pct'][side]} %, {args.others} other chats; "
                f"target (+{TARGET_P50_MS} / +{TARGET_P99_MS} ms) "
                f"{'met' if a['meets_target'] else 'MISSED'}"
            )
        for mode, why in failures.items():
            print(f"{mode}: FAILED {why}")
        print(f"wrote {path}")
    finally:
        for c in [*clients.values(), *others.values()]:
            c.stop()
        for s in servers.values():
            s.stop()
        standin.stop()


if __name__ == "__main__":
    main()
