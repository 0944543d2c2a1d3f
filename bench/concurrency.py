"""Concurrency and memory: N visitors, each with an open /ws socket and an active chat that our
server long-polls, against a fast upstream stand-in; RSS per chat, server CPU, and relay
latency while a fraction of the chats are chatting. gthread and gevent, one after the other.

    .venv/bin/python bench/concurrency.py [--modes gthread,gevent] [--levels 100,500,...]
                                          [--budget 300] [--hold 10]

For each mode: a fresh stand-in (bench/standin.py) and a fresh server (one gunicorn worker,
memory store; gthread with --threads = the largest level + 64, gevent with as many
worker-connections). A warm-up of 10 chats, then the number of chats is raised level by level
(tabs from bench/wsclient.py in a separate process, 50 opening at once). At each level, once
every chat's poll is held upstream:
- RSS per chat = (worker RSS now - RSS after warm-up) / (chats now - warm-up chats);
- CPU of the server worker only (user+system from /proc), idle (polls held, no chat traffic)
  and active (5 % of the chats, at least 10, get an agent message every 2 s and send one every
  2 s), as % of one core;
- latency while active: stand-in emission -> tab, and tab `send` -> stand-in.
A level fails when tabs cannot open, the polls do not all get held within a minute, or the
server dies; the bench stops there (and at --budget seconds per mode) and reports why.
Writes bench/results/concurrency.json. Target: 5,000 chats, <= 100 KiB each, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Server, Standin, WsClient, pct, summary, table, write_result  # noqa: E402

WARM = 10


def wait_held(standin: Standin, want: int, timeout: float) -> int:
    """Polls held upstream right now, waiting until `want` are (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    held = 0
    while time.monotonic() < deadline:
        held = standin.stats()["held"]
        if held >= want:
            return held
        time.sleep(0.5)
    return held


def cpu_over(server: Server, seconds: float) -> float:
    c0, t0 = server.cpu(), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (server.cpu() - c0) / (time.monotonic() - t0)


def run_mode(mode: str, levels: list[int], args: argparse.Namespace) -> dict:
    out: dict = {"mode": mode, "levels": [], "broke": None}
    started = time.monotonic()
    standin = Standin(hold=args.hold)
    server = client = None
    try:
        server = Server(standin.api, mode, threads=max(levels) + 64, log_name="concurrency")
        out["rss_start_mib"] = round(server.rss() / 2**20, 1)
        client = WsClient(server.url, concurrency=50)
        opened = client.call("open", count=WARM)
        if opened["open"] < WARM:
            out["broke"] = f"warm-up failed: {opened['errors']}; log: {server.log_tail(8)}"
            return out
        wait_held(standin, WARM, 30)
        time.sleep(2)
        base_rss = server.rss()
        out["rss_base_mib"] = round(base_rss / 2**20, 1)
        chats = WARM
        for level in levels:
            if time.monotonic() - started > args.budget:
                out["broke"] = f"time budget ({args.budget:.0f} s) spent before {level} chats"
                break
            t0 = time.monotonic()
            opened = client.call("open", count=level - chats)
            ramp_s = time.monotonic() - t0
            chats = opened["open"]
            if opened["errors"]:
                print(f"  {mode} {level}: open errors {opened['errors']}", flush=True)
            if not server.alive():
                out["broke"] = f"server died at {level} chats: {server.log_tail(8)}"
                break
            held = wait_held(standin, chats, 60)
            if chats < level * 0.99 or held < chats * 0.99:
                out["broke"] = (
                    f"at {level}: {chats} tabs open, {held} polls held; errors "
                    f"{opened['errors']}; log: {server.log_tail(6)}"
                )
                if chats < WARM + 1:
                    break
            time.sleep(3)
            rss = server.rss()
            row = {
                "chats": chats,
                "polls_held": held,
                "ramp_s": round(ramp_s, 1),
                "rss_mib": round(rss / 2**20, 1),
                "kib_per_chat": round((rss - base_rss) / 1024 / max(1, chats - WARM), 1),
                "threads": server.threads(),
                "fds": server.fds(),
                "cpu_idle_pct": round(cpu_over(server, args.hold), 1),  # one full poll cycle
            }
            active = max(10, chats // 20)
            chat_ids = opened["chats"]
            step = max(1, len(chat_ids) // active)
            tabs = list(range(0, len(chat_ids), step))[:active]
            standin.stats(reset=True)
            client.call("stats", reset=True)
            standin.ctl("auto", chats=[chat_ids[i] for i in tabs], interval=2.0)
            client.call("active", tabs=tabs, interval=2.0)
            row["cpu_active_pct"] = round(cpu_over(server, args.window), 1)
            client.call("active", tabs=[])
            standin.ctl("auto", chats=[])
            time.sleep(1)
            inbound = client.call("stats", reset=True)
            stats = standin.stats(reset=True)
            row["active_chats"] = len(tabs)
            row["inbound"] = summary(inbound["lat"])
            row["outbound"] = summary(stats["send_lat"])
            row["upstream_new_connections"] = stats["connections"]
            row["upstream_calls_per_s"] = round(
                sum(stats["counts"].values()) / (args.window + 1), 1
            )
            row["client_errors"] = inbound["errors"]
            row["rss_after_mib"] = round(server.rss() / 2**20, 1)
            out["levels"].append(row)
            print(
                f"  {mode} {chats:5d} chats: {row['kib_per_chat']:7.1f} KiB/chat, "
                f"RSS {row['rss_mib']} MiB, {row['threads']} threads, cpu idle "
                f"{row['cpu_idle_pct']}% active {row['cpu_active_pct']}%, in p99 "
                f"{row['inbound']['p99_ms']} out p99 {row['outbound']['p99_ms']} ms "
                f"(ramp {row['ramp_s']} s)",
                flush=True,
            )
            if out["broke"]:
                break
        return out
    except Exception as error:  # noqa: BLE001 - reported as where the mode broke
        out["broke"] = f"{type(error).__name__}: {error}"
        if server is not None:
            out["broke"] += "; log: " + server.log_tail(8)
        return out
    finally:
        out["seconds"] = round(time.monotonic() - started, 1)
        if client is not None:
            client.stop()
        if server is not None:
            server.stop()
        standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gthread,gevent")
    parser.add_argument("--levels", default="100,500,1000,2000,3000,5000,6000")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per mode")
    parser.add_argument("--window", type=float, default=15.0, help="active seconds per level")
    parser.add_argument("--hold", type=float, default=10.0, help="upstream poll hold, s")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    results = {}
    for mode in args.modes.split(","):
        print(f"{mode}:", flush=True)
        results[mode] = run_mode(mode, levels, args)
    rows = []
    for mode, res in results.items():
        for r in res["levels"]:
            rows.append(
                [
                    mode,
                    r["chats"],
                    r["rss_mib"],
                    r["kib_per_chat"],
                    r["threads"],
                    r["cpu_idle_pct"],
                    r["cpu_active_pct"],
                    r["inbound"]["p99_ms"],
                    r["outbound"]["p99_ms"],
                ]
            )
        good = [
            r
            for r in res["levels"]
            if r["kib_per_chat"] <= 100
            and (r["inbound"]["p99_ms"] or 1e9) < 50
            and (r["outbound"]["p99_ms"] or 1e9) < 50
        ]
        res["max_chats"] = max((r["chats"] for r in res["levels"]), default=0)
        res["max_chats_within_targets"] = max((r["chats"] for r in good), default=0)
        res["meets_target"] = res["max_chats_within_targets"] >= 5000
    path = write_result("concurrency", {"config": vars(args), "modes": results})
    print(
        table(
            rows,
            [
                "mode",
                "chats",
                "RSS MiB",
                "KiB/chat",
                "threads",
                "CPU idle %",
                "CPU active %",
                "in p99 ms",
                "out p99 ms",
            ],
        )
    )
    for mode, res in results.items():
        print(
            f"{mode}: reached {res['max_chats']} chats; within targets up to "
            f"{res['max_chats_within_targets']}; stopped: {res['broke']}"
        )
    print(f"wrote {path}")
    _ = pct  # re-exported helper kept for ad-hoc use


if __name__ == "__main__":
    main()
