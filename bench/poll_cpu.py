"""CPU of one long poll, alone: what bounds how many chats one core can keep polled.

    .venv/bin/python bench/poll_cpu.py

The stand-in (bench/standin.py) runs in its own process and answers polls at once, so only
this thread's CPU is counted (`time.thread_time`, user + system). Three figures, each the
median of 5 runs of 2,000 calls:
- `cycle`: one turn of the relay's poll loop as `Poller._poll` does it (lease, the visitor's
  cookies and browser from the store, Get New Chat Events, cookies saved back);
- `client_lean`: the client's long poll alone, through the lean HTTP/1.1 client (what runs
  when no proxy is configured);
- `client_requests`: the same call through requests (what runs behind an HTTPS_PROXY).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Standin, machine  # noqa: E402

CALLS, WARMUP, RUNS = 2000, 200, 5
VISITOR, CHAT = "bench-visitor", "bench-chat"
COOKIES = [
    {"name": n, "value": v, "domain": "127.0.0.1", "path": "/", "domain_specified": False}
    for n, v in (("SPCLIENT", "x" * 32), ("AWSALB", "n1" * 40))
]


def cpu_per_call_us(call: Callable[[], object]) -> float:
    """Median over RUNS of this thread's CPU per call, in µs."""
    for _ in range(WARMUP):
        call()
    runs = []
    for _ in range(RUNS):
        started = time.thread_time()
        for _ in range(CALLS):
            call()
        runs.append((time.thread_time() - started) / CALLS * 1e6)
    return round(statistics.median(runs), 1)


def main() -> None:
    standin = Standin(hold=0)
    try:
        os.environ.update(
            SP_API_URL=standin.api,
            SP_TENANT_URL="bench.example.com",
            SP_APP_ID="bench",
            SECRET_KEY="bench-" + "x" * 32,
        )
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY"):
            os.environ.pop(name, None)
        from app import create_app

        relay = create_app().extensions["webchat.relay"]
        relay.store.set_chat(VISITOR, {"chat_id": CHAT, "user_agent": "Mozilla/5.0 (bench)"})
        relay.store.merge_cookies(VISITOR, COOKIES)
        client = relay.client

        def cycle() -> None:
            relay.store.acquire_lease(CHAT, relay.holder, relay.lease_ttl)
            who = relay.identity(VISITOR)
            client.get_new_events(who, CHAT)
            relay.save_identity(VISITOR, who)

        who = relay.identity(VISITOR)
        result = {
            "calls": CALLS,
            "runs": RUNS,
            "cycle_cpu_us": cpu_per_call_us(cycle),
            "client_lean_cpu_us": cpu_per_call_us(lambda: client.get_new_events(who, CHAT)),
        }
        lean, client._lean = client._lean, None  # the requests path, as behind a proxy
        result["client_requests_cpu_us"] = cpu_per_call_us(
            lambda: client.get_new_events(who, CHAT)
        )
        client._lean = lean
        result["machine"] = machine()
    finally:
        standin.stop()
    out = ROOT / "bench" / "results" / "poll_cpu.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"CPU per poll: relay cycle {result['cycle_cpu_us']} µs; client alone "
        f"{result['client_lean_cpu_us']} µs lean, {result['client_requests_cpu_us']} µs "
        f"through requests (wrote {out.relative_to(ROOT)})"
    )


if __name__ == "__main__":
    main()
