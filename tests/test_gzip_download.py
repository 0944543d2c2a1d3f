"""A download that reaches us content-coded (ServicePattern, or a proxy before it, gzips it and
says so with a Content-Length of the gzipped bytes) reaches the visitor as the whole file: the
bytes are decoded and that Content-Length is not forwarded. A coding we cannot undo is a 502,
never a file of the wrong bytes."""

from __future__ import annotations

import gzip
import random
import socket
import zlib
from urllib.parse import urlsplit

import pytest
import urllib3

from tests.harness import ServerProcess, Visitor
from tests.test_transport import RawServer, answer
from webchat.servicepattern import Streamed

HOP = ("connection", "content-length", "transfer-encoding", "keep-alive")
CODERS = {"gzip": gzip.compress, "deflate": zlib.compress, "compress": lambda data: data}


class CodingProxy:
    """A reverse proxy on a raw socket in front of the simulator: each file download is
    answered in `coding` with the Content-Length of the coded bytes."""

    def __init__(self, sim_base: str) -> None:
        parts = urlsplit(sim_base)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.prefix = parts.path
        self.pool = urllib3.PoolManager(maxsize=64, retries=False)
        self.coding = "gzip"
        self.coded: list[tuple[str, int]] = []  # (coding, Content-Length) of each coded answer
        self.raw = RawServer()
        self.raw.script = self._relay
        self.url = f"http://127.0.0.1:{self.raw.port}{self.prefix}"

    def _relay(self, conn: socket.socket, request: bytes) -> bool:
        head, _, body = request.partition(b"\r\n\r\n")
        line, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ", 2)
        headers = urllib3.HTTPHeaderDict()
        for header in lines:
            name, _, value = header.partition(":")
            if name.strip().lower() not in (*HOP, "host"):
                headers.add(name.strip(), value.strip())
        got = self.pool.request(
            method,
            self.origin + target,
            body=body or None,
            headers=headers,
            redirect=False,
            decode_content=False,
            timeout=30,
        )
        data = got.data
        out = [f"{k}: {v}" for k, v in got.headers.iteritems() if k.lower() not in HOP]
        if method == "GET" and "/files/" in target and got.status == 200:
            data = CODERS[self.coding](data)
            out.append(f"Content-Encoding: {self.coding}")
            self.coded.append((self.coding, len(data)))
        conn.sendall(answer(data, *out, status=f"{got.status} {got.reason}"))
        return True

    def close(self) -> None:
        self.raw.close()
        self.pool.clear()


@pytest.fixture(scope="module")
def proxy(sim_server):
    proxy = CodingProxy(sim_server.base_url)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def coded_server(proxy):
    process = ServerProcess(proxy.url)
    yield process
    process.stop()


def _file(size: int) -> bytes:
    """Text-like bytes that compress about as well as a document does."""
    rng = random.Random(size)
    words = [bytes(rng.choices(range(97, 123), k=rng.randint(2, 9))) for _ in range(400)]
    out = bytearray()
    while len(out) < size:
        out += b" ".join(rng.choices(words, k=12)) + b"\n"
    return bytes(out[:size])


def _download(v, base: str, file_id: str) -> tuple[int, dict[str, str], bytes]:
    """The answer as it went over the wire (nothing decoded on our side)."""
    down = v.http.get(base + f"/api/files/{file_id}", stream=True, timeout=30)
    body = down.raw.read(decode_content=False)
    return down.status_code, dict(down.headers), body


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_a_coded_download_arrives_whole(coded_server, proxy, sim, coding):
    proxy.coding = coding
    v = Visitor(coded_server.url)
    try:
        tab = v.tab()
        chat = v.start_chat(tab)
        data = _file(680_000)
        file_id = sim.agent_send_file(chat["chat_id"], "report.txt", data)
        tab.wait_event("chat_session_file", file_id=file_id)
        status, headers, body = _download(v, coded_server.url, file_id)
        assert proxy.coded[-1][0] == coding and proxy.coded[-1][1] < len(data) // 2
        assert (status, len(body)) == (200, len(data))
        assert body == data
        assert "Content-Encoding" not in headers
        assert headers.get("Content-Length") in (None, str(len(data)))
    finally:
        v.close()


def test_a_coding_we_cannot_undo_is_a_502(coded_server, proxy, sim):
    proxy.coding = "compress"
    v = Visitor(coded_server.url)
    try:
        tab = v.tab()
        chat = v.start_chat(tab)
        file_id = sim.agent_send_file(chat["chat_id"], "a.bin", b"\x1f\x9d" + bytes(5000))
        tab.wait_event("chat_session_file", file_id=file_id)
        status, _, body = _download(v, coded_server.url, file_id)
        assert proxy.coded[-1][0] == "compress"
        assert status == 502 and b"upstream" in body
    finally:
        v.close()
        proxy.coding = "gzip"


@pytest.mark.parametrize(
    ("headers", "length", "decodable"),
    [
        ({"Content-Length": "10"}, 10, True),
        ({"Content-Length": "10", "Content-Encoding": "identity"}, 10, True),
        ({"Content-Length": "10", "Content-Encoding": "GZIP"}, None, True),
        ({"Content-Length": "10", "Content-Encoding": "x-gzip"}, None, True),
        ({"Content-Length": "10", "Content-Encoding": "deflate, gzip"}, None, True),
        ({"Content-Length": "10", "Content-Encoding": "gzip, compress"}, None, False),
        ({"Content-Length": "10", "Content-Encoding": "zz"}, None, False),
        ({}, None, True),
    ],
)
def test_the_length_handed_on_is_the_length_read(headers, length, decodable):
    upstream = Streamed(urllib3.HTTPResponse(body=b"", headers=headers), "GET /file")
    assert (upstream.length, upstream.decodable) == (length, decodable)
