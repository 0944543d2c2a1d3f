"""CPU of one long poll in our ServicePattern client alone, against instant canned answers.

    .venv/bin/python bench/poll_cpu.py

Counts only the calling thread's CPU (the answering server runs in other threads), so it
isolates what the client costs per poll: the figure that bounds how many chats one core polls.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stub_http import Canned, StubServer  # noqa: E402
from webchat.servicepattern import Identity, ServicePatternClient  # noqa: E402
from webchat.servicepattern.cookies import jar_from_list  # noqa: E402

POLLS, WARMUP = 3000, 300
ANSWER = '{"events": [{"event": "chat_session_typing", "party_id": "p"}]}'


def main() -> None:
    with StubServer() as stub:
        stub.answers = [Canned(200, ANSWER)] * (POLLS + WARMUP)
        client = ServicePatternClient(stub.url, "t", "a")
        cookies = [
            {"name": n, "value": v, "domain": "127.0.0.1", "path": "/"}
            for n, v in (("SPCLIENT", "x"), ("SPNODE", "n1"))
        ]
        who = Identity(jar_from_list(cookies))
        for _ in range(WARMUP):
            client.get_new_events(who, "c1")
        started = time.thread_time()
        for _ in range(POLLS):
            client.get_new_events(who, "c1")
        per_poll_us = (time.thread_time() - started) / POLLS * 1e6
    result = {"polls": POLLS, "client_cpu_per_poll_us": round(per_poll_us)}
    out = ROOT / "bench" / "results" / "poll_cpu.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"client CPU per poll: {per_poll_us:.0f} µs (wrote {out.relative_to(ROOT)})")


if __name__ == "__main__":
    main()
