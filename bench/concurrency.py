"""Concurrency and memory: N visitors, each with an open /ws socket and an active chat that our
server long-polls, against a fast upstream stand-in; RSS per chat, server CPU, and relay
latency while a fraction of the chats are chatting. gthread and gevent, one after the other;
one worker on the memory store, or several on a private Redis.

    .venv/bin/python bench/concurrency.py [--modes gthread,gevent] [--levels 100,500,...]
                                          [--budget 300] [--hold 10]
                                          [--workers 2 --store redis]

Levels are total chats over all workers; by default 100 to 6,000 with one worker, 1,000 to
10,000 with several.

For each mode: a fresh stand-in (bench/standin.py) and a fresh server (gunicorn, `--workers`
workers; memory store, or with `--store redis` a private redis-server on a free port and
STORE_URL=redis://...; gthread with --threads = the largest level + 64, gevent with as many
worker-connections). A warm-up of 10 chats, then the number of chats is raised level by level
(tabs from bench/wsclient.py in a separate process, 50 opening at once). At each level, once
every chat's poll is held upstream:
- RSS per chat = (workers' RSS now - RSS after warm-up) / (chats now - warm-up chats), RSS
  summed over the workers (and given per worker, with the chat sockets each holds);
- CPU of the server's workers (user+system from /proc), idle (polls held, no chat traffic, one
  poll cycle) and active (5 % of the chats, at least 10, get an agent message every 2 s and
  send one every 2 s), as % of one core, summed and per worker; next to it the CPU of the tab
  generator (wsclient), of the stand-in and of redis-server, so that a reader sees whether the
  bench or the server is the limit;
- with Redis: commands per chat per minute (total_commands_processed over the window, less
  the bench's own INFO calls, / chats / minutes), the heaviest commands (INFO commandstats),
  and Redis's used memory per chat;
- latency while active: stand-in emission -> tab, and tab `send` -> stand-in;
- how long the workers take to answer /healthz (a new connection every 0.1 s, through the
  whole window): its max bounds from above how long a worker's event loop (gevent) or GIL
  (gthread) kept a ready request waiting.
A level fails when tabs cannot open, the polls do not all get held within a minute, or the
server dies; the bench stops there (and at --budget seconds per mode) and reports why.
Writes bench/results/concurrency.json. Target: 5,000 chats a worker (10,000 on two), <= 100
KiB each, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CpuMeter,
    RedisServer,
    Server,
    Standin,
    WsClient,
    pct,
    summary,
    table,
    write_result,
)

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


class HealthProbe:
    """GET /healthz on a new connection every `every` s in a thread; the round-trip times."""

    def __init__(self, port: int, every: float = 0.1) -> None:
        self.port, self.every = port, every
        self.times: list[float] = []
        self.failures = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(self.every):
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                self.times.append(time.perf_counter() - t0)
            except (OSError, http.client.HTTPException):
                self.failures += 1
            finally:
                conn.close()

    def __enter__(self) -> HealthProbe:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def gc_figures(port: int) -> tuple[float, float]:
    """Full collections run so far and the last one's pause, from /metrics (of the worker that
    answers: with several, one of them)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return (float("nan"), float("nan"))
    finally:
        conn.close()
    found = dict(
        line.split(" ", 1) for line in text.splitlines() if line.startswith("webchat_gc_")
    )
    return (
        float(found.get("webchat_gc_full_collections", "nan")),
        float(found.get("webchat_gc_last_full_seconds", "nan")),
    )


def measure(
    server: Server,
    standin: Standin,
    client: WsClient,
    store: RedisServer | None,
    seconds: float,
    chats: int,
) -> dict:
    """CPU of every process, Redis commands and /healthz times over `seconds`."""
    procs = {f"worker{i}": w for i, w in enumerate(server.workers)}
    procs.update({"client": client.process, "standin": standin.process})
    if store is not None:
        procs["redis"] = store.process
    before = store.commands() if store is not None else {}
    gc_before = gc_figures(server.port)
    meter = CpuMeter(procs).start()
    with HealthProbe(server.port) as probe:
        time.sleep(seconds)
    cpu = meter.stop()
    gc_after = gc_figures(server.port)
    out: dict = {
        "server": round(sum(cpu[f"worker{i}"] for i in range(len(server.workers))), 1),
        "workers": [cpu[f"worker{i}"] for i in range(len(server.workers))],
        "client": cpu["client"],
        "standin": cpu["standin"],
        "healthz": {**summary(probe.times), "failures": probe.failures},
        # Full garbage collections during the window (webchat/gcpolicy.py), and the last pause.
        "gc_full": gc_after[0] - gc_before[0],
        "gc_last_full_s": round(gc_after[1], 3),
    }
    if store is not None:
        after = store.commands()
        delta = {k: v - before.get(k, 0) for k, v in after.items()}
        ours = delta.pop("info", 0)  # the bench's own INFO calls
        total = delta.pop("total") - ours
        out["redis"] = cpu["redis"]
        out["redis_commands"] = total
        out["redis_commands_per_chat_per_min"] = round(total / max(1, chats) / (seconds / 60), 2)
        top = sorted(((v, k) for k, v in delta.items() if v > 0), reverse=True)[:8]
        out["redis_top_commands"] = {k: v for v, k in top}
    return out


def run_mode(mode: str, levels: list[int], args: argparse.Namespace) -> dict:
    out: dict = {
        "mode": mode,
        "workers": args.workers,
        "store": args.store,
        "levels": [],
        "broke": None,
    }
    started = time.monotonic()
    standin = Standin(hold=args.hold)
    server = client = store = None
    try:
        env: dict[str, str] = {}
        if args.store == "redis":
            store = RedisServer()
            env["STORE_URL"] = store.url
            out["redis_version"] = store.client.info("server")["redis_version"]
        server = Server(
            standin.api,
            mode,
            threads=max(levels) + 64,
            log_name="concurrency",
            extra_env=env,
            workers=args.workers,
        )
        out["rss_start_mib"] = round(server.rss() / 2**20, 1)
        client = WsClient(server.url, concurrency=50)
        opened = client.call("open", count=WARM)
        if opened["open"] < WARM:
            out["broke"] = f"warm-up failed: {opened['errors']}; log: {server.log_tail(8)}"
            return out
        wait_held(standin, WARM, 30)
        time.sleep(2)
        base_rss = server.rss()
        base_redis = store.client.info("memory")["used_memory"] if store is not None else 0
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
            }
            workers = [
                {
                    "pid": w.pid,
                    "rss_mib": round(w.memory_info().rss / 2**20, 1),
                    "sockets": server.sockets(w),
                }
                for w in server.workers
            ]
            if store is not None:
                used = store.client.info("memory")["used_memory"]
                row["redis_used_memory_mib"] = round(used / 2**20, 1)
                row["redis_kib_per_chat"] = round(
                    (used - base_redis) / 1024 / max(1, chats - WARM), 1
                )
                row["redis_rss_mib"] = round(store.rss() / 2**20, 1)
            idle = measure(server, standin, client, store, args.hold, chats)  # one poll cycle
            row["cpu_idle_pct"] = idle["server"]
            active = max(10, chats // 20)
            chat_ids = opened["chats"]
            step = max(1, len(chat_ids) // active)
            tabs = list(range(0, len(chat_ids), step))[:active]
            standin.stats(reset=True)
            client.call("stats", reset=True)
            standin.ctl("auto", chats=[chat_ids[i] for i in tabs], interval=2.0)
            client.call("active", tabs=tabs, interval=2.0)
            busy = measure(server, standin, client, store, args.window, chats)
            row["cpu_active_pct"] = busy["server"]
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
            for worker, idle_pct, busy_pct in zip(
                workers, idle["workers"], busy["workers"], strict=True
            ):
                worker["cpu_idle_pct"], worker["cpu_active_pct"] = idle_pct, busy_pct
            row["workers"] = workers
            for who in ("client", "standin", "redis"):
                if who in idle:
                    row[f"{who}_cpu_idle_pct"] = idle[who]
                    row[f"{who}_cpu_active_pct"] = busy[who]
            if store is not None:
                for name, window in (("idle", idle), ("active", busy)):
                    row[f"redis_commands_per_chat_per_min_{name}"] = window[
                        "redis_commands_per_chat_per_min"
                    ]
                    row[f"redis_top_commands_{name}"] = window["redis_top_commands"]
            row["healthz_idle"] = idle["healthz"]
            row["healthz_active"] = busy["healthz"]
            row["gc_full_idle"], row["gc_full_active"] = idle["gc_full"], busy["gc_full"]
            row["gc_last_full_s"] = busy["gc_last_full_s"]
            out["levels"].append(row)
            per_worker = " + ".join(str(w["sockets"]) for w in workers)
            line = (
                f"  {mode} {chats:5d} chats ({per_worker}): {row['kib_per_chat']:7.1f} "
                f"KiB/chat, RSS {row['rss_mib']} MiB, {row['threads']} threads, cpu idle "
                f"{row['cpu_idle_pct']}% active {row['cpu_active_pct']}% (client "
                f"{row['client_cpu_active_pct']}%, stand-in {row['standin_cpu_active_pct']}%"
            )
            if store is not None:
                line += (
                    f", redis {row['redis_cpu_idle_pct']}/{row['redis_cpu_active_pct']}%, "
                    f"{row['redis_commands_per_chat_per_min_idle']}/"
                    f"{row['redis_commands_per_chat_per_min_active']} cmds/chat/min"
                )
            line += (
                f"), in p99 {row['inbound']['p99_ms']} out p99 {row['outbound']['p99_ms']} ms, "
                f"healthz max {row['healthz_active']['max_ms']} ms (ramp {row['ramp_s']} s), "
                f"full GCs in windows {row['gc_full_idle']:.0f}/{row['gc_full_active']:.0f} "
                f"(last {row['gc_last_full_s']} s)"
            )
            print(line, flush=True)
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
        if store is not None:
            store.stop()
        standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--modes", default="gthread,gevent")
    parser.add_argument(
        "--levels",
        help="total chats, rising (default: 100,...,6000 for one worker; "
        "1000,...,10000 for several)",
    )
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per mode")
    parser.add_argument("--window", type=float, default=15.0, help="active seconds per level")
    parser.add_argument("--hold", type=float, default=10.0, help="upstream poll hold, s")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--store", choices=("memory", "redis"), default="memory")
    args = parser.parse_args()
    if args.workers > 1 and args.store == "memory":
        parser.error("several workers need --store redis (the memory store is per process)")
    if args.levels is None:
        many = args.workers > 1
        args.levels = (
            "1000,2000,4000,6000,8000,10000" if many else "100,500,1000,2000,3000,5000,6000"
        )
    levels = [int(x) for x in args.levels.split(",")]
    results = {}
    for mode in args.modes.split(","):
        print(f"{mode}:", flush=True)
        results[mode] = run_mode(mode, levels, args)
    rows = []
    limits = []
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
            limits.append(
                [
                    mode,
                    r["chats"],
                    " + ".join(str(w["sockets"]) for w in r["workers"]),
                    " / ".join(f"{w['cpu_idle_pct']}-{w['cpu_active_pct']}" for w in r["workers"]),
                    f"{r['client_cpu_idle_pct']} / {r['client_cpu_active_pct']}",
                    f"{r['standin_cpu_idle_pct']} / {r['standin_cpu_active_pct']}",
                    f"{r['redis_cpu_idle_pct']} / {r['redis_cpu_active_pct']}"
                    if "redis_cpu_idle_pct" in r
                    else "-",
                    f"{r['redis_commands_per_chat_per_min_idle']} / "
                    f"{r['redis_commands_per_chat_per_min_active']}"
                    if "redis_commands_per_chat_per_min_idle" in r
                    else "-",
                    f"{r['healthz_idle']['max_ms']} / {r['healthz_active']['max_ms']}",
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
        res["target_chats"] = 5000 * args.workers
        res["meets_target"] = res["max_chats_within_targets"] >= res["target_chats"]
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
    print("\nCPU % of one core, idle / active (per worker idle-active), and who is the limit:")
    print(
        table(
            limits,
            [
                "mode",
                "chats",
                "sockets per worker",
                "workers %",
                "client %",
                "stand-in %",
                "redis %",
                "redis cmds/chat/min",
                "healthz max ms",
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
