"""An upload body's time to arrive, bounded: in all, and between any two of its bytes.

A browser that sends the head of an upload and then nothing (or a byte now and then) would
hold a worker thread, and the upstream call the file is relayed into, for as long as it likes.
Here each read of the body may wait at most `idle` seconds (the connection's own timeout), and
the whole body must be in within `total` seconds: at that moment a watchdog shuts the
connection for reading, which ends a read however slowly it trickles. Either way the read
fails with a 408 UploadError, so the upstream call is broken off at once, and the connection,
closed for reading, takes no further request: the server closes it after the answer.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from .socket_body import SocketBody
from .upload_stream import UploadError


def _too_slow() -> UploadError:
    return UploadError(408, "upload_timeout", "The upload did not arrive in time.")


class _Watchdog:
    """One thread (a greenlet under gevent) for every deadline of the process, started on the
    first one: at its time each deadline's callback runs, unless it was cancelled."""

    def __init__(self) -> None:
        self._due: list[list[Any]] = []  # [at, order, callback or None once cancelled]
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, at: float, callback: Callable[[], None]) -> list[Any]:
        """Run `callback` at monotonic time `at`; the entry to `cancel` it with."""
        entry = [at, next(self._order), callback]
        with self._wake:
            heapq.heappush(self._due, entry)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="upload-deadlines")
                self._thread.daemon = True
                self._thread.start()
            self._wake.notify()
        return entry

    def cancel(self, entry: list[Any]) -> None:
        with self._wake:
            entry[2] = None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._due or self._due[0][0] > time.monotonic():
                    self._wake.wait(self._due[0][0] - time.monotonic() if self._due else None)
                callback = heapq.heappop(self._due)[2]
            if callback is not None:
                with contextlib.suppress(Exception):  # the connection may be gone already
                    callback()


_watchdog = _Watchdog()


class BodyDeadline:
    """The body stream, read under both bounds; `finish` when the request is done."""

    def __init__(
        self, stream: IO[bytes] | SocketBody, sock: Any, total: float, idle: float
    ) -> None:
        self._stream = stream
        self._sock = sock
        self._idle = idle
        self.expired = False
        self._saved = sock.gettimeout() if sock is not None else None
        self._deadline = time.monotonic() + total
        self._entry = _watchdog.add(self._deadline, self._expire) if sock is not None else None

    def read(self, size: int = -1) -> bytes:
        if self.expired:
            raise _too_slow()
        if self._sock is not None:
            self._sock.settimeout(max(0.001, min(self._idle, self._deadline - time.monotonic())))
        try:
            chunk = self._stream.read(size)
        except Exception as error:  # noqa: BLE001 - a timeout, or a read cut by the watchdog
            if self.expired or isinstance(error, TimeoutError):
                self._expire()
                raise _too_slow() from error
            raise
        if self.expired:  # the watchdog cut the connection: this read may have ended short
            raise _too_slow()
        return chunk

    def _expire(self) -> None:
        self.expired = True
        with contextlib.suppress(AttributeError, OSError):
            self._sock.shutdown(socket.SHUT_RD)

    def finish(self) -> None:
        """The request is answered: no deadline any more; the connection waits as before."""
        if self._entry is not None:
            _watchdog.cancel(self._entry)
            self._entry = None
        if self._sock is not None and not self.expired:
            with contextlib.suppress(OSError):
                self._sock.settimeout(self._saved)
