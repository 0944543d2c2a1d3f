"""A lean ServicePattern stand-in for benchmarks: one asyncio process, thousands of held polls.

It speaks just enough of the Mobile/Web API v1 for the relay (availability, parameters, Request
Chat, Get Active Chat, Send Events, the long poll, history, upload and download), does no
checking (the project's strict simulator does that in the tests), and timestamps what the
benchmarks measure with the system-wide monotonic clock, so other processes can compare:

- every emitted agent message carries `msg = "t=<monotonic seconds at emission>"`;
- every received client message whose `msg` is `"t=<monotonic>"` adds `now - t` to `send_lat`.

Control endpoints (not part of the API): POST /_ctl/auto {"chats": [...], "interval": s}
(emit on those chats every `interval` s, random phase; `{"chats": []}` stops), POST /_ctl/emit
{"chats": [...]} (one event each, now), GET /_ctl/stats[?reset=1] (request counts by kind, held
polls, send latencies).

Run: python bench/standin.py --port 0 --hold 10 (prints "PORT <n>" when listening).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from collections import Counter, deque

from gcfreeze import freeze_survivors

PREFIX = "/clientweb/api/v1"
CHUNK = 256 * 1024


class Chat:
    __slots__ = ("chat_id", "queue", "waiter")

    def __init__(self, chat_id: str) -> None:
        self.chat_id = chat_id
        self.queue: list[dict] = []
        self.waiter: asyncio.Future | None = None


class Standin:
    def __init__(self, hold: float, file_size: int) -> None:
        self.hold = hold
        self.file_size = file_size
        self.chats: dict[str, Chat] = {}
        self.counts: Counter[str] = Counter()
        self.send_lat: list[float] = []
        self.held = 0
        self.emitted = 0
        self.auto: list[str] = []
        self.auto_interval = 1.0
        self.auto_task: asyncio.Task | None = None
        self.upload_bytes = 0
        self.connections = 0  # TCP connections accepted (a pooled client reuses them)

    # -- events ----------------------------------------------------------------------------

    def emit(self, chat_id: str) -> None:
        chat = self.chats.get(chat_id)
        if chat is None:
            return
        chat.queue.append(
            {
                "event": "chat_session_message",
                "msg": f"t={time.monotonic():.6f}",
                "msg_id": uuid.uuid4().hex,
                "party_id": "agent-1",
                "timestamp": int(time.time()),
            }
        )
        self.emitted += 1
        if chat.waiter is not None and not chat.waiter.done():
            chat.waiter.set_result(None)

    async def _auto(self) -> None:
        """Each listed chat gets an event every `auto_interval` s, phases spread at random."""
        chats = list(self.auto)
        if not chats:
            return
        due = deque(
            sorted((time.monotonic() + random.random() * self.auto_interval, c) for c in chats)
        )
        while due:
            when, chat_id = due.popleft()
            delay = when - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.emit(chat_id)
            due.append((when + self.auto_interval, chat_id))
            if len(due) > 1 and due[0][0] > due[-1][0]:
                due = deque(sorted(due))

    def set_auto(self, chats: list[str], interval: float) -> None:
        if self.auto_task is not None:
            self.auto_task.cancel()
        self.auto, self.auto_interval = chats, interval
        self.auto_task = asyncio.get_running_loop().create_task(self._auto())

    async def poll(self, chat_id: str) -> bytes:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = self.chats[chat_id] = Chat(chat_id)
        if not chat.queue:
            chat.waiter = asyncio.get_running_loop().create_future()
            self.held += 1
            try:
                await asyncio.wait_for(chat.waiter, self.hold)
            except TimeoutError:
                pass
            finally:
                self.held -= 1
                chat.waiter = None
        if not chat.queue:
            return b""
        events, chat.queue = chat.queue, []
        return json.dumps({"events": events}).encode()

    def received(self, body: bytes) -> None:
        now = time.monotonic()
        try:
            events = json.loads(body).get("events") or []
        except ValueError:
            return
        for event in events:
            msg = event.get("msg")
            if isinstance(msg, str) and msg.startswith("t="):
                with contextlib.suppress(ValueError):  # not one of our stamped messages
                    self.send_lat.append(now - float(msg[2:]))

    # -- HTTP ------------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                path = target.split("?", 1)[0]
                query = target.split("?", 1)[1] if "?" in target else ""
                if path.startswith(PREFIX + "/files") and method == "POST":
                    await self._upload(reader, headers, writer)
                    continue
                body = await self._body(reader, headers)
                status, ctype, payload, stream = await self.route(method, path, query, body)
                head_out = (
                    f"HTTP/1.1 {status} {'OK' if status == 200 else 'ERR'}\r\n"
                    f"Content-Type: {ctype}\r\nContent-Length: "
                    f"{stream if stream else len(payload)}\r\n\r\n"
                ).encode()
                if stream:
                    writer.write(head_out)
                    block = b"x" * CHUNK
                    left = stream
                    while left > 0:
                        writer.write(block[: min(CHUNK, left)])
                        left -= CHUNK
                        await writer.drain()
                else:
                    writer.write(head_out + payload)
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError, asyncio.IncompleteReadError):
            return  # the client went away mid-request
        finally:
            writer.close()

    async def _body(self, reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    return bytes(out)
                out += await reader.readexactly(size)
                await reader.readexactly(2)
        length = int(headers.get("content-length") or 0)
        return await reader.readexactly(length) if length else b""

    async def _upload(self, reader, headers, writer) -> None:
        """Read (and drop) an upload of any size, chunked or with a length."""
        self.counts["upload"] += 1
        total = 0
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                left = size
                while left:
                    got = await reader.read(min(left, CHUNK))
                    left -= len(got)
                    total += len(got)
                await reader.readexactly(2)
        else:
            left = int(headers.get("content-length") or 0)
            while left:
                got = await reader.read(min(left, CHUNK))
                if not got:
                    return
                left -= len(got)
                total += len(got)
        self.upload_bytes = total
        payload = json.dumps({"file_id": "f" + uuid.uuid4().hex[:12], "file_name": "up.bin"})
        writer.write(
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            f"{len(payload)}\r\n\r\n{payload}".encode()
        )
        await writer.drain()

    async def route(self, method: str, path: str, query: str, body: bytes):
        js = "application/json"
        if path.startswith("/_ctl/"):
            return self.control(method, path, query, body)
        if not path.startswith(PREFIX):
            return 404, js, b"{}", 0
        rest = path[len(PREFIX) :]
        parts = rest.strip("/").split("/")
        if rest == "/availability":
            self.counts["availability"] += 1
            return 200, js, b'{"chat":"available"}', 0
        if rest == "/parameters":
            self.counts["parameters"] += 1
            return 200, js, b'{"parameters":[{"name":"first_name","type":"FIRST_NAME"}]}', 0
        if rest == "/chats" and method == "POST":
            self.counts["request_chat"] += 1
            chat_id = uuid.uuid4().hex
            self.chats[chat_id] = Chat(chat_id)
            reply = {"chat_id": chat_id, "state": "queued", "ewt": "20", "is_new_chat": True}
            return 200, js, json.dumps(reply).encode(), 0
        if rest == "/chats/active":
            self.counts["active_chat"] += 1
            return 404, js, b'{"error_code":"5005","error_message":"No active chat"}', 0
        if len(parts) == 3 and parts[0] == "chats" and parts[2] == "events":
            if method == "GET":
                self.counts["poll"] += 1
                return 200, js, await self.poll(parts[1]), 0
            self.counts["send_events"] += 1
            self.received(body)
            return 200, js, b"", 0
        if len(parts) == 3 and parts[2] == "history":
            self.counts["history"] += 1
            return 200, js, b'{"events":[]}', 0
        if len(parts) == 4 and parts[2] == "files":
            self.counts["file"] += 1
            return 200, "application/octet-stream", b"", self.file_size
        self.counts["other"] += 1
        return 404, js, b'{"error_code":"5005","error_message":"not found"}', 0

    def control(self, method: str, path: str, query: str, body: bytes):
        js = "application/json"
        data = json.loads(body) if body else {}
        if path == "/_ctl/auto":
            self.set_auto(list(data.get("chats") or []), float(data.get("interval") or 1.0))
        elif path == "/_ctl/emit":
            for chat_id in data.get("chats") or []:
                self.emit(chat_id)
        elif path == "/_ctl/config":
            self.hold = float(data.get("hold", self.hold))
            self.file_size = int(data.get("file_size", self.file_size))
        elif path == "/_ctl/stats":
            stats = {
                "counts": dict(self.counts),
                "held": self.held,
                "chats": len(self.chats),
                "emitted": self.emitted,
                "send_lat": self.send_lat,
                "upload_bytes": self.upload_bytes,
                "connections": self.connections,
            }
            if "reset=1" in query:
                self.counts, self.send_lat, self.emitted = Counter(), [], 0
                self.connections = 0
            return 200, js, json.dumps(stats).encode(), 0
        return 200, js, b"{}", 0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--file-size", type=int, default=25 * 1024 * 1024)
    args = parser.parse_args()
    standin = Standin(args.hold, args.file_size)
    _freezer = asyncio.get_running_loop().create_task(freeze_survivors())  # kept referenced
    server = await asyncio.start_server(
        standin.handle, "127.0.0.1", args.port, backlog=4096, limit=1 << 20
    )
    print("PORT", server.sockets[0].getsockname()[1], flush=True)
    sys.stdout.flush()
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
