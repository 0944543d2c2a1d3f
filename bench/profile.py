"""Profile the server under a chosen load: where its CPU goes, with py-spy.

    .venv/bin/python bench/profile.py [--mode gevent] [--chats 1000] [--active 50]
                                      [--interval 0.2] [--hold 10] [--seconds 15] [--gil]

Starts the stand-in and one server worker as the other benches do, opens `chats` tabs with a
chat each, makes `active` of them chat (an agent message and a sent message every `interval`
s each), then records the worker with py-spy for `seconds` and prints the worker's CPU, the
upstream calls per second, and the functions that took the most samples (inclusive and self).
The raw py-spy output is kept in bench/results/profile-<mode>.txt. `--gil` samples only the
thread holding the GIL (what costs CPU; use it with gthread, whose thousands of threads py-spy
otherwise samples too slowly). With `--active 0` and a short `--hold`, it profiles polling.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, Server, Standin, WsClient  # noqa: E402

PY_SPY = Path(sys.executable).with_name("py-spy")


def top(raw: Path, count: int) -> str:
    """The heaviest functions of a py-spy raw (collapsed stacks) file, as text."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack:
            continue
        samples = int(number)
        total += samples
        frames = [frame.split(" (")[0] for frame in stack.split(";")]
        for name in set(frames):
            inclusive[name] += samples
        own[frames[-1]] += samples
    if not total:
        return "no samples"
    lines = [f"{total} samples; inclusive:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(count)]
    lines.append("self:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(count // 2)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", default="gevent", choices=["gthread", "gevent"])
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument("--active", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--gil", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()

    standin = Standin(hold=args.hold)
    server = Server(standin.api, args.mode, threads=args.chats + 64, log_name="profile")
    client = WsClient(server.url, concurrency=50)
    raw = RESULTS / f"profile-{args.mode}.txt"
    tabs: list[int] = []
    try:
        opened = client.call("open", count=args.chats)
        print(f"{opened['open']} chats open", flush=True)
        time.sleep(min(args.hold, 3.0) + 1.0)
        tabs = list(range(min(args.active, len(opened["chats"]))))
        if tabs:
            standin.ctl("auto", chats=[opened["chats"][i] for i in tabs], interval=args.interval)
            client.call("active", tabs=tabs, interval=args.interval)
            time.sleep(2)
        standin.stats(reset=True)
        cpu0, t0 = server.cpu(), time.monotonic()
        command = [str(PY_SPY), "record", "-p", str(server.worker.pid), "-d", str(args.seconds)]
        command += ["-r", "100", "-f", "raw", "-o", str(raw), "--nonblocking"]
        if args.gil:
            command.append("--gil")
        subprocess.run(command, capture_output=True, check=False)
        elapsed = time.monotonic() - t0
        cpu = 100 * (server.cpu() - cpu0) / elapsed
        counts = standin.stats(reset=True)["counts"]
        rates = ", ".join(f"{k} {v / elapsed:.0f}/s" for k, v in sorted(counts.items()))
        print(f"worker CPU {cpu:.1f}% of a core; upstream {rates}")
        print(top(raw, args.top) if raw.exists() else "py-spy wrote nothing")
    finally:
        if tabs:
            client.call("active", tabs=[])
        client.stop()
        server.stop()
        standin.stop()


if __name__ == "__main__":
    main()
