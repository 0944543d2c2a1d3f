"""What the memory of one open chat is made of, in one gevent worker (the default).

    .venv/bin/python bench/chat_memory.py [--from 500] [--to 2500]

Opens `--from` chats (each a tab with its socket and a chat whose poll the stand-in holds),
takes figures, opens more up to `--to`, takes them again; every figure is the difference divided
by the chats added, so what the process holds anyway drops out. Two servers, one after the other:
- plain (as deployed, but GC_FREEZE=false so the collector can list every object): resident
  memory per chat, objects the collector tracks per chat by type, and the C stacks that suspended
  greenlets keep on the heap, by what each greenlet waits in;
- with tracemalloc (PYTHONTRACEMALLOC=1, which inflates RSS itself): bytes the Python allocator
  gave out per chat, by the file that asked, grouped into the parts of a chat.
Writes bench/results/chat_memory.json. The kernel's socket buffers are not in RSS, nor here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BENCH, Server, Standin, WsClient, write_result  # noqa: E402

# The parts of a chat, by the file that allocated (first match wins).
PARTS = [
    ("browser socket: simple-websocket, wsproto, h11", ("simple_websocket/", "wsproto/", "h11/")),
    ("socket session, outbox, caps", ("webchat/sockets/", "webchat/routes/", "webchat/readable")),
    (
        "request the socket came in on: gunicorn, Flask, Werkzeug",
        ("gunicorn/", "flask", "werkzeug/"),
    ),
    (
        "upstream poll: urllib3, http.client, client",
        ("urllib3/", "http/client", "webchat/servicepattern/", "socket.py", "ssl.py"),
    ),
    ("chat domain: relay, poller, chat log", ("webchat/relay/",)),
    ("store entries (memory store)", ("webchat/store/",)),
    ("rate limits", ("webchat/limits", "limits/")),
    ("greenlet stacks (a greenlet's C stack, on the heap while it waits)", ("greenlet stacks",)),
    ("greenlets, timers, locks: gevent, threading", ("gevent/", "threading.py", "greenlet")),
]


def part_of(filename: str) -> str:
    """The part of a chat a file's allocations belong to."""
    for name, prefixes in PARTS:
        if any(p in filename for p in prefixes):
            return name
    return "other"


def probe(folder: Path, tag: str) -> dict:
    (folder / f"{tag}.req").write_text("")
    result = folder / f"{tag}.json"
    deadline = time.monotonic() + 300
    while not result.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the memory probe did not answer")
        time.sleep(0.3)
    return json.loads(result.read_text())


def held(standin: Standin, want: int) -> None:
    deadline = time.monotonic() + 120
    while standin.stats()["held"] < want * 0.99 and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(3)


def measure(first: int, last: int, traced: bool) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="chat-memory-"))
    env = {"MEMORY_PROBE_DIR": str(folder), "GC_FREEZE": "false"}
    env["PYTHONPATH"] = str(BENCH) + os.pathsep + os.environ.get("PYTHONPATH", "")
    if traced:
        env["PYTHONTRACEMALLOC"] = "1"
    standin = Standin(hold=10)
    server = client = None
    try:
        server = Server(
            standin.api,
            "gevent",
            threads=last + 64,
            extra_env=env,
            log_name="chat-memory",
            app="memory_probe:app",
        )
        client = WsClient(server.url, concurrency=50)
        client.call("open", count=first)
        held(standin, first)
        rss_a, a = server.rss(), probe(folder, "a")
        opened = client.call("open", count=last - first)["open"]
        held(standin, opened)
        rss_b, b = server.rss(), probe(folder, "b")
        n = opened - first
        out: dict = {"chats_added": n, "rss_kib_per_chat": round((rss_b - rss_a) / 1024 / n, 1)}
        out["tracked_objects_per_chat"] = round((b["tracked"] - a["tracked"]) / n, 1)
        types = Counter(b["types"])
        types.subtract(a["types"])
        out["objects_by_type"] = {k: round(v / n, 2) for k, v in types.most_common(25)}
        stacks = Counter(b["stacks"])
        stacks.subtract(a["stacks"])
        glets = Counter(b["greenlets"])
        glets.subtract(a["greenlets"])
        out["greenlets_per_chat"] = round(sum(glets.values()) / n, 2)
        out["greenlet_stacks_kib_per_chat"] = {
            k: {"kib": round(v / 1024 / n, 2), "greenlets": round(glets[k] / n, 2)}
            for k, v in stacks.most_common(8)
            if v > 0
        }
        if traced:
            files = Counter(b["traced"])
            files.subtract(a["traced"])
            # A greenlet's C stack is copied to the heap where it switches out: tracemalloc
            # charges it to the Python line that waited. Counted apart, as greenlet stacks.
            stack_bytes = sum(stacks.values())
            for where, size in stacks.items():
                charged = "simple_websocket/ws.py" if where.startswith("ws.") else "readable.py"
                for name in files:
                    if name.endswith(charged):
                        files[name] -= size
            files["greenlet stacks"] = stack_bytes
            for name in list(files):  # the probe's own (frames it looked at, paths)
                if name.endswith(("memory_probe.py", "pathlib.py")):
                    del files[name]
            parts: Counter[str] = Counter()
            for name, size in files.items():
                parts[part_of(name)] += size
            out["traced_kib_per_chat"] = round(sum(files.values()) / 1024 / n, 1)
            out["traced_by_part_kib"] = {k: round(v / 1024 / n, 2) for k, v in parts.most_common()}
            out["traced_by_file_kib"] = {
                k: round(v / 1024 / n, 2) for k, v in files.most_common(20)
            }
        return out
    finally:
        if client is not None:
            client.stop()
        if server is not None:
            server.stop()
        standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="first", type=int, default=500)
    parser.add_argument("--to", dest="last", type=int, default=2500)
    args = parser.parse_args()
    plain = measure(args.first, args.last, traced=False)
    print(
        f"RSS per chat {plain['rss_kib_per_chat']} KiB; {plain['tracked_objects_per_chat']} "
        f"tracked objects; {plain['greenlets_per_chat']} greenlets",
        flush=True,
    )
    for where, figure in plain["greenlet_stacks_kib_per_chat"].items():
        print(
            f"  greenlet stack {figure['kib']:6.2f} KiB x{figure['greenlets']}  waiting in {where}"
        )
    traced = measure(args.first, args.last, traced=True)
    print(f"Python allocations per chat {traced['traced_kib_per_chat']} KiB (tracemalloc):")
    for part, kib in traced["traced_by_part_kib"].items():
        print(f"  {kib:6.2f} KiB  {part}")
    path = write_result("chat_memory", {"config": vars(args), "plain": plain, "traced": traced})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
