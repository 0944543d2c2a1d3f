"""Real parts for integration tests: the simulator, our server under gunicorn, browser-like tabs.

A `Visitor` is one browser: a cookie jar (from loading /chat) shared by its `Tab`s, each a real
WebSocket to /ws with the browser's Origin. Tabs keep every frame they receive, so tests wait
for a frame (an event, never a sleep) and then assert on the whole sequence.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import websocket

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "0123456789abcdef0123456789abcdef"
TENANT = "tenant.example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """Our app under real gunicorn (gevent unless WORKER_CLASS says), pointed at an upstream URL."""

    def __init__(
        self,
        upstream: str | None,
        extra_env: dict[str, str] | None = None,
        readme: bool = False,
        open_files: tuple[int, int] | None = None,
        app: str = "wsgi:app",
    ) -> None:
        """With `upstream` None, demo mode: the README's command, the built-in simulator.
        `readme`: exactly that command, `gunicorn -c gunicorn.conf.py wsgi:app`, with no
        options (else 64 threads, and 2 s to stop). `open_files`: the (soft, hard) limit of open
        files gunicorn starts with. `app`: what gunicorn serves (a test's own wrapper)."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SP_", "SECRET_KEY"))}
        env["BIND"] = f"127.0.0.1:{self.port}"
        if upstream is not None:
            env.update(
                {
                    "SP_API_URL": upstream,
                    "SP_TENANT_URL": TENANT,
                    "SP_APP_ID": APP_ID,
                    "SECRET_KEY": "integration-test-secret-" + uuid.uuid4().hex,
                    "SP_POLL_TIMEOUT": "10",
                    "SP_CALL_TIMEOUT": "3",
                    "MAX_MESSAGE_CHARS": "2000",
                }
            )
        # Every test visitor comes from 127.0.0.1, and one server serves many tests: the
        # per-address caps stay out of the way unless a test sets them.
        env.setdefault("WS_MAX_PER_ADDRESS", "100000")
        env.setdefault("CHAT_STARTS_PER_ADDRESS_PER_HOUR", "100000")
        env.update(extra_env or {})
        self.log_path = ROOT / "test-artifacts" / f"gunicorn-{self.port}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        options = [] if readme else ["--threads", "64", "--graceful-timeout", "2"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *options, app],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=(lambda: resource.setrlimit(resource.RLIMIT_NOFILE, open_files))
            if open_files
            else None,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            try:
                if requests.get(self.url + "/healthz", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)  # the port is not open yet: nothing to wait on but time
            except requests.Timeout:
                pass  # the port is open but the worker is still booting: ask again
        raise RuntimeError("gunicorn did not start")

    def kill(self) -> None:
        """SIGKILL the master and its workers at once: a machine dying, no goodbye."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Tab:
    """One browser tab: a WebSocket to /ws that records every frame it receives."""

    def __init__(self, visitor: Visitor, origin: str | None = None) -> None:
        self.visitor = visitor
        self.frames: list[dict[str, Any]] = []
        cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.http.cookies)
        path = f"/ws?token={visitor.token}" if visitor.token else "/ws"
        self.ws = websocket.create_connection(
            visitor.base.replace("http", "ws", 1) + path,
            origin=origin or visitor.base,
            header=[f"User-Agent: {visitor.user_agent}"],
            cookie=cookie or None,
            timeout=10,
        )

    def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, bytes):
            self.ws.send_binary(frame)
        else:
            self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    def wait(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 10, since: int = 0
    ) -> dict:
        """The first frame from index `since` on (received or arriving) that matches."""
        for frame in self.frames[since:]:
            if predicate(frame):
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                raw = self.ws.recv()
            except websocket.WebSocketTimeoutException:
                break
            frame = json.loads(raw)
            self.frames.append(frame)
            if predicate(frame):
                return frame
        raise AssertionError(f"no matching frame within {timeout}s; got {self.frames[-8:]}")

    def wait_type(self, kind: str, timeout: float = 10, **fields: Any) -> dict:
        return self.wait(
            lambda f: f.get("type") == kind and all(f.get(k) == v for k, v in fields.items()),
            timeout,
        )

    def wait_event(self, name: str, timeout: float = 10, **fields: Any) -> dict:
        return self.wait(
            lambda f: (
                f.get("type") == "event"
                and f["event"].get("event") == name
                and all(f["event"].get(k) == v for k, v in fields.items())
            ),
            timeout,
        )

    def hello(self, after: int = 0, chat_id: str | None = None) -> dict:
        """Send hello; the `state` frame that answers it (not an earlier one)."""
        since = len(self.frames)
        self.send({"type": "hello", "after": after, "chat_id": chat_id})
        return self.wait(lambda f: f.get("type") == "state", since=since)

    def start(self, parameters: dict[str, str] | None = None, **extra: str) -> dict:
        """Send `start` (with `phone_number`, `from` … as given); the chat it answers with."""
        since = len(self.frames)
        self.send({"type": "start", "parameters": parameters or {}, **extra})
        state = self.wait(lambda f: f.get("type") == "state" and f.get("chat"), since=since)
        return state["chat"]

    def events(self) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("type") == "event"]

    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.events()]

    def say(self, text: str, send_id: str | None = None) -> str:
        send_id = send_id or uuid.uuid4().hex
        self.send(
            {"type": "send", "id": send_id, "event": {"event": "chat_session_message", "msg": text}}
        )
        return send_id

    def close_code(self, timeout: float = 10) -> int | None:
        """Read frames until the server's close frame; its status code."""
        self.ws.settimeout(timeout)
        while True:
            opcode, data = self.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return int.from_bytes(data[:2], "big") if len(data) >= 2 else None

    def close(self) -> None:
        self.ws.close()


class Visitor:
    """One browser: loads /chat for its cookie, then opens tabs that share it."""

    def __init__(self, base: str, user_agent: str = "Mozilla/5.0 (X11; Linux) TestBrowser/1.0"):
        self.base = base
        self.user_agent = user_agent
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        response = self.http.get(base + "/chat", timeout=10)
        assert response.status_code == 200
        found = re.search(r'data-token="([^"]+)"', response.text)
        self.token = found.group(1) if found else ""
        self.http.headers["X-Webchat-Token"] = self.token
        self.tabs: list[Tab] = []

    def raw_upload_head(self, length: int, boundary: str = "XyZ") -> bytes:
        """The head of `POST /api/files` as this visitor's browser sends it (cookie, token, user
        agent, any X-Forwarded-For), for tests that write the body to a socket themselves."""
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        sent = ("X-Webchat-Token", "User-Agent", "X-Forwarded-For")
        headers = "".join(f"{k}: {v}\r\n" for k, v in self.http.headers.items() if k in sent)
        return (
            f"POST /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n{headers}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()

    def tab(self, origin: str | None = None) -> Tab:
        tab = Tab(self, origin)
        self.tabs.append(tab)
        return tab

    def tab_on(self, server: ServerProcess) -> Tab:
        """A tab of this browser served by another instance (a load balancer's choice)."""
        base = self.base
        self.base = server.url
        try:
            return self.tab(origin=server.url)
        finally:
            self.base = base

    def start_chat(self, tab: Tab, **parameters: str) -> dict:
        """hello, start, and wait for the agent's greeting."""
        tab.hello()
        chat = tab.start(parameters)
        tab.wait_event("chat_session_message", timeout=10)
        return chat

    def close(self) -> None:
        for tab in self.tabs:
            with contextlib.suppress(Exception):  # already closed by the server
                tab.close()
        self.http.close()


def relay_on(upstream: str, store: Any, **options: Any) -> Any:
    """A Relay in the test process on `store`, polling `upstream` (fast retries)."""
    from webchat.relay import Relay
    from webchat.servicepattern import ServicePatternClient

    client = ServicePatternClient(upstream, TENANT, APP_ID, poll_timeout=5)
    return Relay(store, client, **{"retry_base": 0.05, **options})


def logged_messages(store: Any, chat_id: str) -> list[str | None]:
    """The texts of a chat's logged messages, after checking the log is numbered 1, 2, 3 …"""
    log = store.read(chat_id)
    assert [seq for seq, _ in log] == list(range(1, len(log) + 1))
    return [e.get("msg") for _, e in log if e["event"] == "chat_session_message"]
