"""The README's command, untuned, holds more open chats than any thread pool it used to have.

Started exactly as `gunicorn -c gunicorn.conf.py wsgi:app` in demo mode, 300 tabs each hold an
open socket that said hello; then a new visitor must still load /chat and /healthz. Under the
old default (gthread, THREADS=256) every thread was held by a socket and the 257th visitor
timed out.
"""

from __future__ import annotations

import json
import re
import signal

import requests
import websocket

from tests.harness import ServerProcess

OPEN_SOCKETS = 300
# A generous bound for a page under load; the old default never answered at all.
PAGE_TIMEOUT = 10


def page_token(session: requests.Session, base: str) -> str:
    """Load /chat as a browser does: its cookie lands in `session`, its token is returned."""
    page = session.get(base + "/chat", timeout=PAGE_TIMEOUT)
    assert page.status_code == 200
    found = re.search(r'data-token="([^"]+)"', page.text)
    assert found
    return found.group(1)


def open_greeted_socket(session: requests.Session, base: str, token: str) -> websocket.WebSocket:
    """One tab's socket that said hello and got its `state` answer."""
    ws = websocket.create_connection(
        base.replace("http", "ws", 1) + f"/ws?token={token}",
        origin=base,
        cookie="; ".join(f"{c.name}={c.value}" for c in session.cookies),
        timeout=PAGE_TIMEOUT,
    )
    ws.send(json.dumps({"type": "hello", "after": 0, "chat_id": None}))
    while True:
        opcode, data = ws.recv_data()
        assert opcode != websocket.ABNF.OPCODE_CLOSE, f"socket closed by the server: {data!r}"
        if (frame := json.loads(data)).get("type") == "state":
            break
    assert frame["availability"] == "available"
    return ws


def test_readme_command_holds_300_sockets_and_still_serves_pages():
    # Every test tab comes from 127.0.0.1, so the per-address cap (a defence against one
    # address, which real visitors do not share by the hundred) is lifted: the harness does so.
    server = ServerProcess(None, readme=True)
    sockets: list[websocket.WebSocket] = []
    visitors: list[requests.Session] = []
    try:
        for _ in range(OPEN_SOCKETS):
            session = requests.Session()
            visitors.append(session)
            token = page_token(session, server.url)
            sockets.append(open_greeted_socket(session, server.url, token))
        newcomer = requests.Session()
        visitors.append(newcomer)
        assert page_token(newcomer, server.url)
        health = requests.get(server.url + "/healthz", timeout=PAGE_TIMEOUT)
        assert health.status_code == 200
        metrics = requests.get(server.url + "/metrics", timeout=PAGE_TIMEOUT).text
        assert re.search(rf"^webchat_open_sockets {OPEN_SOCKETS}(\.0)?$", metrics, re.M)
    finally:
        for ws in sockets:
            ws.close()
        for session in visitors:
            session.close()
        server.kill()


def test_the_default_worker_leaves_politely_on_sigterm_when_idle():
    """gevent runs an idle worker's signal handler in its event loop: the shutdown (sockets
    closed with 1012, leases given back) must start there without blocking, or the worker dies
    with an exception instead."""
    server = ServerProcess(None, readme=True)
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=60) == 0
    server.log.close()
    log = server.log_path.read_text()
    assert "closed 0 sockets with code 1012" in log
    assert "Exception in worker process" not in log and "Traceback" not in log
