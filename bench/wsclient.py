"""Many browser tabs in one asyncio process (the `websockets` library), driven over stdin.

Each tab loads /chat (for the visitor's cookie and the page's token, as a browser does), opens
/ws with the server's Origin, says hello, optionally starts a chat and keeps the
socket open, answering pings. It times every agent message whose `msg` is "t=<monotonic>"
(emitted by bench/standin.py) on arrival, and, while "active", sends a message "t=<monotonic>"
every `interval` s for the stand-in to time. Run by the benchmarks, not by hand:

    python bench/wsclient.py --url http://127.0.0.1:8000 --count 100 --start-chats

Commands (one JSON object a line on stdin) and answers (one a line on stdout):
  {"cmd": "open", "count": N}         -> {"ok": true, "open": n, "chats": [...], "errors": {...}}
  {"cmd": "active", "tabs": [i...], "interval": s}   -> {"ok": true}
  {"cmd": "stats", "reset": true}     -> {"lat": [...], "frames": n, "closed": n, "errors": {...}}
  {"cmd": "close", "count": N}        -> {"ok": true, "open": n}  (the newest N tabs end their
                                         chat, if any, and close their socket)
  {"cmd": "quit"}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
import uuid
from collections import Counter

from gcfreeze import freeze_survivors
from websockets.asyncio.client import connect

UA = "Mozilla/5.0 (X11; Linux) BenchTab/1.0"
TOKEN = re.compile(rb'data-token="([^"]+)"')
COOKIE = re.compile(rb"(?im)^set-cookie:\s*([^;\r\n]+)")


async def load_page(host: str, port: int, path: str = "/chat") -> tuple[str, str]:
    """GET the chat page as a browser would: its cookie and its token ("" when none)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {UA}\r\n"
        f"Accept: text/html\r\nConnection: close\r\n\r\n".encode()
    )
    data = await reader.read()
    writer.close()
    if not data.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET {path}: {data[:40]!r}")
    token = TOKEN.search(data)
    cookies = "; ".join(c.decode() for c in COOKIE.findall(data))
    return cookies, token.group(1).decode() if token else ""


class Tab:
    def __init__(self, index: int) -> None:
        self.index = index
        self.ws = None
        self.chat_id: str | None = None
        self.task: asyncio.Task | None = None
        self.sender: asyncio.Task | None = None
        self.cookie = ""
        self.token = ""


class Client:
    def __init__(self, url: str, start_chats: bool, concurrency: int) -> None:
        self.ws_url = url.replace("http", "ws", 1) + "/ws"
        hostport = url.split("://", 1)[1].rstrip("/")
        self.host, self.port = hostport.rsplit(":", 1)[0], int(hostport.rsplit(":", 1)[1])
        self.origin = url
        self.start_chats = start_chats
        self.concurrency = concurrency
        self.tabs: list[Tab] = []
        self.lat: list[float] = []
        self.frames = 0
        self.closed = 0
        self.errors: Counter[str] = Counter()

    async def _open_one(self, tab: Tab, sem: asyncio.Semaphore) -> None:
        async with sem:
            try:
                cookie, token = await load_page(self.host, self.port)
                tab.cookie, tab.token = cookie, token
                ws = await connect(
                    self.ws_url + (f"?token={token}" if token else ""),
                    origin=self.origin,
                    ping_interval=None,
                    open_timeout=60,
                    max_size=2**22,
                    user_agent_header=UA,
                    compression=None,
                    additional_headers={"Cookie": cookie} if cookie else None,
                )
                await ws.send(json.dumps({"type": "hello", "after": 0}))
                state = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if state.get("type") != "state":
                    raise RuntimeError(f"expected state, got {state.get('type')}")
                if self.start_chats:
                    await ws.send(json.dumps({"type": "start", "parameters": {}}))
                    while True:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
                        if frame.get("type") == "state" and frame.get("chat"):
                            tab.chat_id = frame["chat"]["chat_id"]
                            break
                        if frame.get("type") == "error":
                            raise RuntimeError(f"start refused: {frame.get('code')}")
                tab.ws = ws
                tab.task = asyncio.get_running_loop().create_task(self._reader(tab))
            except Exception as error:  # noqa: BLE001 - counted and reported
                self.errors[f"{type(error).__name__}: {str(error)[:80]}"] += 1

    async def open(self, count: int) -> dict:
        sem = asyncio.Semaphore(self.concurrency)
        new = [Tab(len(self.tabs) + i) for i in range(count)]
        await asyncio.gather(*(self._open_one(t, sem) for t in new))
        self.tabs += [t for t in new if t.ws is not None]
        return {
            "ok": True,
            "open": len(self.tabs),
            "chats": [t.chat_id for t in self.tabs],
            "errors": dict(self.errors),
            "visitors": [[t.cookie, t.token] for t in new if t.ws is not None],
        }

    async def _reader(self, tab: Tab) -> None:
        try:
            async for raw in tab.ws:
                now = time.monotonic()
                self.frames += 1
                if '"t=' not in raw:
                    continue
                frame = json.loads(raw)
                event = frame.get("event") or {}
                msg = event.get("msg") or ""
                if frame.get("type") == "event" and event.get("party_id") == "agent-1":
                    self.lat.append(now - float(msg[2:]))
        except Exception as error:  # noqa: BLE001
            self.errors[f"reader {type(error).__name__}"] += 1
        finally:
            self.closed += 1

    async def _send_loop(self, tab: Tab, interval: float) -> None:
        await asyncio.sleep(random.random() * interval)
        while True:
            frame = {
                "type": "send",
                "id": uuid.uuid4().hex,
                "event": {"event": "chat_session_message", "msg": f"t={time.monotonic():.6f}"},
            }
            try:
                await tab.ws.send(json.dumps(frame))
            except Exception:  # noqa: BLE001
                self.errors["send failed"] += 1
                return
            await asyncio.sleep(interval)

    def active(self, indices: list[int], interval: float) -> None:
        for tab in self.tabs:
            if tab.sender is not None:
                tab.sender.cancel()
                tab.sender = None
        for i in indices:
            tab = self.tabs[i]
            tab.sender = asyncio.get_running_loop().create_task(self._send_loop(tab, interval))

    async def close(self, count: int) -> dict:
        """The newest `count` tabs leave as a visitor ending the chat does: end, then close."""
        leaving, self.tabs = (
            self.tabs[len(self.tabs) - count :],
            self.tabs[: len(self.tabs) - count],
        )

        async def leave(tab: Tab) -> None:
            if tab.sender is not None:
                tab.sender.cancel()
            try:
                if tab.chat_id:
                    end = {"event": "chat_session_end"}
                    await tab.ws.send(
                        json.dumps({"type": "send", "id": uuid.uuid4().hex, "event": end})
                    )
                await tab.ws.close()
            except Exception:  # noqa: BLE001 - counted and reported
                self.errors["close failed"] += 1

        await asyncio.gather(*(leave(t) for t in leaving))
        return {"ok": True, "open": len(self.tabs)}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        _freezer = loop.create_task(freeze_survivors())  # kept referenced while running
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = json.loads(line)
            if cmd["cmd"] == "open":
                out = await self.open(int(cmd["count"]))
            elif cmd["cmd"] == "active":
                self.active(cmd.get("tabs") or [], float(cmd.get("interval") or 1.0))
                out = {"ok": True}
            elif cmd["cmd"] == "stats":
                out = {
                    "lat": self.lat,
                    "frames": self.frames,
                    "closed": self.closed,
                    "errors": dict(self.errors),
                }
                if cmd.get("reset"):
                    self.lat = []
            elif cmd["cmd"] == "close":
                out = await self.close(min(int(cmd["count"]), len(self.tabs)))
            elif cmd["cmd"] == "quit":
                break
            else:
                out = {"ok": False}
            print(json.dumps(out), flush=True)
        for tab in self.tabs:
            if tab.sender:
                tab.sender.cancel()
        await asyncio.gather(*(t.ws.close() for t in self.tabs if t.ws), return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--start-chats", action="store_true")
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(Client(args.url, args.start_chats, args.concurrency).run())


if __name__ == "__main__":
    main()
