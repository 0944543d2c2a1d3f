"""A tab that stops reading stalls nobody: every socket writes from its own bounded queue.

The tab that fell behind is closed with 1013 once its queue overflows, and resumes from the log
with `hello after=N`, missing nothing and doubling nothing.
"""

from __future__ import annotations

import json
import queue
import socket
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import websocket
from simple_websocket import ConnectionClosed

from tests.harness import ServerProcess, Tab, Visitor, relay_on
from webchat.sockets.session import BEHIND, SocketSession
from webchat.store import MemoryStore

QUEUE = 64  # the stalled tab's bound in the gunicorn test (WS_SEND_QUEUE)
OTHERS = 50
ROUNDS = 8  # messages per other visitor and phase
FILLER = "x" * 65536  # big frames fill the stalled tab's socket buffers sooner


def _window_filler() -> int:
    """Agent messages that surely fill the stalled tab's socket buffers: twice the largest
    send buffer the kernel may grow for the socket."""
    try:
        with open("/proc/sys/net/ipv4/tcp_wmem") as f:
            most = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        most = 4 * 1024 * 1024
    return 2 * most // len(FILLER) + 4


# -- in process: the session's writer ------------------------------------------------------


class StuckSocket:
    """A WebSocket whose browser may stop reading: while `release` is clear, sends block."""

    def __init__(self) -> None:
        self.inbox: queue.Queue[str | None] = queue.Queue()
        self.sent: list[dict[str, Any]] = []
        self.wrote = threading.Condition()
        self.sending = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.closed = threading.Event()
        self.close_code: int | None = None

    def send(self, data: str) -> None:
        self.sending.set()
        self.release.wait()
        with self.wrote:
            self.sent.append(json.loads(data))
            self.wrote.notify_all()

    def wait_sent(self, count: int) -> list[dict[str, Any]]:
        with self.wrote:
            assert self.wrote.wait_for(lambda: len(self.sent) >= count, 5), self.sent
            return list(self.sent)

    def receive(self, timeout: float | None = None) -> str | None:
        frame = self.inbox.get()
        if frame is None:
            raise ConnectionClosed()
        return frame

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        self.close_code = reason
        self.closed.set()


def _writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ws-writer" and t.is_alive()]


def test_a_stuck_socket_holds_up_no_publisher_and_is_closed_when_its_queue_overflows(
    sim_server, sim
):
    store = MemoryStore()
    relay = relay_on(sim_server.base_url, store)
    ws = StuckSocket()
    session = SocketSession(ws, relay, "slow", 2000, "UA", queue_limit=8)
    before = len(_writers())
    serving = threading.Thread(target=lambda: pytest.raises(ConnectionClosed, session.serve))
    serving.start()
    try:
        ws.inbox.put(json.dumps({"type": "ping"}))
        assert ws.wait_sent(1)[0]["type"] == "pong"  # before hello the session writes itself
        assert session._outbox is None and len(_writers()) == before  # so: no thread yet
        ws.release.clear()  # the browser stops reading
        ws.sending.clear()
        ws.inbox.put(json.dumps({"type": "hello", "after": 0}))
        assert ws.sending.wait(5)  # the writer is stuck on the hello's state frame
        assert len(_writers()) == before + 1
        publisher = threading.Thread(
            target=lambda: [
                store.publish("slow", {"kind": "upstream", "status": "ok"}) for _ in range(50)
            ]
        )
        publisher.start()
        publisher.join(5)
        assert not publisher.is_alive(), "a publisher waited on a socket that reads nothing"
        ws.release.set()
        assert ws.closed.wait(5)
        assert ws.close_code == BEHIND
        # What got out before the close is in order, and nothing queued after the overflow.
        assert [f["type"] for f in ws.sent] == ["pong", "state"]
    finally:
        ws.release.set()
        ws.inbox.put(None)
        serving.join(5)
        relay.close(wait=5)
    assert not serving.is_alive()
    assert session._outbox is not None and not session._outbox.alive
    assert len(_writers()) == before


# -- real gunicorn on Redis ----------------------------------------------------------------


@pytest.fixture
def server_on_redis(sim_server, redis_url):
    env = {
        "STORE_URL": redis_url,
        "WS_SEND_QUEUE": str(QUEUE),
        "FRAMES_PER_MINUTE": "100000",
        "SECRET_KEY": "slow-tab-" + uuid.uuid4().hex,
    }
    process = ServerProcess(sim_server.base_url, env)
    yield process
    process.stop()


def _stalled_socket(visitor: Visitor) -> websocket.WebSocket:
    """A browser tab that reads nothing: a tiny receive buffer, never read from."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.http.cookies)
    return websocket.create_connection(
        visitor.base.replace("http", "ws", 1) + f"/ws?token={visitor.token}",
        origin=visitor.base,
        header=[f"User-Agent: {visitor.user_agent}"],
        cookie=cookie,
        timeout=10,
        sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 1024),),
    )


def _is_msg(text: str):
    return lambda f: f.get("type") == "event" and f["event"].get("msg") == text


def _phase(sim, others: list[tuple[Tab, str]], name: str) -> list[float]:
    """Every other visitor's agent says ROUNDS messages, one at a time; seconds until each
    reached its tab. A message that never arrives fails the test."""

    def chat(index: int) -> list[float]:
        tab, chat_id = others[index]
        took = []
        for round_ in range(ROUNDS):
            text = f"{name} {index} {round_}"
            began = time.perf_counter()
            sim.agent_say(chat_id, text)
            tab.wait(_is_msg(text), timeout=15)
            took.append(time.perf_counter() - began)
        return took

    with ThreadPoolExecutor(len(others)) as pool:
        return [t for took in pool.map(chat, range(len(others))) for t in took]


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[98]


def _read_until_close(ws: websocket.WebSocket) -> tuple[list[dict[str, Any]], int | None]:
    """Everything the stalled tab was sent, then the code of the server's close frame."""
    frames = []
    ws.settimeout(20)
    while True:
        opcode, data = ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return frames, int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        if opcode == websocket.ABNF.OPCODE_TEXT:
            frames.append(json.loads(data))


def test_one_stalled_tab_does_not_slow_fifty_others(server_on_redis, sim):
    base = server_on_redis.url
    made: list[Visitor] = []

    def open_chat(index: int) -> tuple[Tab, str]:
        visitor = Visitor(base)
        made.append(visitor)
        tab = visitor.tab()
        return tab, visitor.start_chat(tab, first_name=f"V{index}")["chat_id"]

    try:
        with ThreadPoolExecutor(10) as pool:
            others = list(pool.map(open_chat, range(OTHERS)))
        without = _phase(sim, others, "calm")

        # The slow visitor: one tab that reads, one that stopped reading.
        slow = Visitor(base)
        made.append(slow)
        reader = slow.tab()
        chat_id = slow.start_chat(reader)["chat_id"]
        stalled = _stalled_socket(slow)
        stalled.send(json.dumps({"type": "hello", "after": 0, "chat_id": chat_id}))

        def flood(count: int, first: int = 0) -> None:
            for i in range(first, first + count):  # one by one: each its own store message
                text = f"flood {i} {FILLER}"
                sim.agent_say(chat_id, text)
                reader.wait(_is_msg(text), timeout=15)

        window = _window_filler()
        flood(window)  # the stalled tab's socket buffers are full: its writer waits from here
        more: list[BaseException] = []

        def overflow() -> None:  # while the others chat: the stalled tab's queue overflows
            try:
                flood(QUEUE + 20, first=window)
            except BaseException as error:  # reported by the test thread
                more.append(error)

        flooding = threading.Thread(target=overflow)
        flooding.start()
        with_stall = _phase(sim, others, "stalled")
        flooding.join(60)
        assert not flooding.is_alive() and not more, more

        p99_without, p99_with = _p99(without), _p99(with_stall)
        print(
            f"\ndelivery to {OTHERS} other visitors ({len(without)} messages a phase): "
            f"p99 {p99_without * 1000:.1f} ms without a stalled tab, "
            f"{p99_with * 1000:.1f} ms with one"
        )
        assert p99_with <= max(5 * p99_without, p99_without + 0.2)

        # The stalled tab reads again: what it was sent, then the close that says "resume".
        got, code = _read_until_close(stalled)
        assert code == BEHIND
        seqs = [f["seq"] for f in got if f.get("type") == "event"]
        assert seqs == list(range(1, len(seqs) + 1))
        last = reader.seqs()[-1]
        assert len(seqs) < last, "the stalled tab was never behind"
        # It reconnects and says where it stopped: it gets each missed event exactly once.
        resumed = slow.tab()
        resumed.hello(after=seqs[-1], chat_id=chat_id)
        resumed.wait(lambda f: f.get("seq") == last, timeout=15)
        assert resumed.seqs() == list(range(seqs[-1] + 1, last + 1))
        assert {f["seq"]: f["event"] for f in resumed.events()} == {
            f["seq"]: f["event"] for f in reader.events() if f["seq"] > seqs[-1]
        }
    finally:
        for visitor in made:
            visitor.close()
