"""CPU of one long poll, alone: what bounds how many chats one core can keep polled.

    .venv/bin/python bench/poll_cpu.py

The stand-in (bench/standin.py) runs in its own process and answers polls at once, so only
this thread's CPU is counted (`time.thread_time`, user + system). Each figure is the median of
5 runs of 2,000 calls:
- `cycle`: one turn of the relay's poll loop as `Poller._poll` does it (lease, the visitor's
  cookies and browser from the store, Get New Chat Events, cookies saved back);
- `client`: the client's long poll alone (headers, the Cookie header for the visitor's stored
  cookies, the transport, JSON parsing), for a visitor loaded as a poll loads one (fresh, on
  the cookies the store holds: their Cookie header remembered from the first poll);
- `transport`: the transport alone on the same request (urllib3 with the strict reader);
- the candidates on the same request with the same headers, each over one kept-alive
  connection: `urllib3_plain` (urllib3's pool, no strictness layer), `requests` (a Session with
  the proxy variables read once), `h11` (h11 framing over one socket: what a small pool of
  h11 connections would cost at best);
- `cookie_header`: the headers with the Cookie header for the visitor's two cookies, as a
  poll gets them (remembered); `cookie_jar`: the same computed by http.cookiejar from a jar
  built from the store's cookies (a poll after the cookies changed).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import h11
import requests
import urllib3

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


class H11Poller:
    """The same request over one socket with h11 framing: the h11 candidate's floor."""

    def __init__(self, api: str) -> None:
        parts = urlsplit(api)
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = h11.Connection(h11.CLIENT)

    def get(self, target: str, headers: dict[str, str]) -> bytes:
        sock, conn = self.sock, self.conn
        request = h11.Request(
            method="GET", target=target, headers=[("Host", self.host), *headers.items()]
        )
        sock.sendall(conn.send(request) + conn.send(h11.EndOfMessage()))
        body = b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                conn.start_next_cycle()
                return body


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
        from webchat.servicepattern import Identity
        from webchat.servicepattern.cookies import jar_from_list

        relay = create_app().extensions["webchat.relay"]
        relay.store.set_chat(VISITOR, {"chat_id": CHAT, "user_agent": "Mozilla/5.0 (bench)"})
        relay.store.merge_cookies(VISITOR, COOKIES)
        client = relay.client
        lease = relay.loops.ctx

        def cycle() -> None:
            read = relay.store.renew_and_read(CHAT, lease.holder, lease.lease_ttl, VISITOR)
            who = relay.identities.from_read(VISITOR, read.chat, read.cookies)
            client.get_new_events(who, CHAT)
            relay.identities.save(VISITOR, who)

        who = relay.identities.load(VISITOR)
        fresh = lambda: Identity(user_agent=who.user_agent, stored=who.stored)  # noqa: E731
        path = f"/chats/{CHAT}/events"
        url = client.api_url + path
        headers = client._headers(who, url)
        target = f"{client._base_path}{path}?{urlencode(client._params(True, True))}"
        timeout = client.poll_timeout
        transport = client.transport
        plain = urllib3.HTTPConnectionPool("127.0.0.1", urlsplit(standin.api).port, maxsize=4)
        session = requests.Session()
        session.trust_env = False
        h11_poller = H11Poller(standin.api)
        result = {
            "calls": CALLS,
            "runs": RUNS,
            "cycle_cpu_us": cpu_per_call_us(cycle),
            "client_cpu_us": cpu_per_call_us(lambda: client.get_new_events(fresh(), CHAT)),
            "transport_cpu_us": cpu_per_call_us(
                lambda: transport.call("GET", target, headers, None, timeout)
            ),
            "urllib3_plain_cpu_us": cpu_per_call_us(
                lambda: plain.urlopen("GET", target, headers=headers, retries=False).data
            ),
            "requests_cpu_us": cpu_per_call_us(
                lambda: session.get(standin.base + target, headers=headers, timeout=timeout).content
            ),
            "h11_cpu_us": cpu_per_call_us(lambda: h11_poller.get(target, headers)),
            "cookie_header_cpu_us": cpu_per_call_us(lambda: client._headers(fresh(), url)),
            "cookie_jar_cpu_us": cpu_per_call_us(
                lambda: client._headers(Identity(jar_from_list(COOKIES), who.user_agent), url)
            ),
        }
        result["machine"] = machine()
    finally:
        standin.stop()
    out = ROOT / "bench" / "results" / "poll_cpu.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    per_core = 10_000 / 10 * result["cycle_cpu_us"] / 1e6 * 100
    print(
        f"CPU per poll: relay cycle {result['cycle_cpu_us']} µs ({per_core:.1f} % of a core at "
        f"10,000 chats polled every 10 s); client {result['client_cpu_us']} µs, transport "
        f"{result['transport_cpu_us']} µs; candidates: urllib3 {result['urllib3_plain_cpu_us']} "
        f"µs, requests {result['requests_cpu_us']} µs, h11 {result['h11_cpu_us']} µs; "
        f"headers with cookies {result['cookie_header_cpu_us']} µs (from a jar "
        f"{result['cookie_jar_cpu_us']} µs) "
        f"(wrote {out.relative_to(ROOT)})"
    )


if __name__ == "__main__":
    main()
