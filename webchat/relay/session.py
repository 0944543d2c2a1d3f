"""One browser tab's socket: frames in, numbered events out, each exactly once and in order.

The tab says `hello after=N`; the session replays N+1 … from the chat's log, then streams live
entries as the store publishes them. Every write goes through one lock and advances one
cursor, so live entries racing the replay are neither lost nor doubled: an entry at or below
the cursor is skipped, and a gap above it is filled from the log first.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from ..logs import visitor_var
from ..servicepattern import UpstreamError
from ..store import Message, StoreError
from .frames import Frame, FrameError, parse_frame
from .relay import Relay

log = logging.getLogger(__name__)


class Socket(Protocol):
    """What we need of a WebSocket (simple-websocket's Server has it)."""

    def send(self, data: str) -> None: ...
    def receive(self, timeout: float | None = None) -> str | bytes | None: ...


class FrameAllowance(Protocol):
    """Rate limit of frames per visitor (webchat.limits.FrameLimiter)."""

    def allow(self, visitor_id: str) -> bool: ...


class SocketSession:
    """Serves one socket of one visitor until it closes."""

    def __init__(
        self,
        ws: Socket,
        relay: Relay,
        visitor_id: str,
        max_chars: int,
        user_agent: str | None,
        limiter: FrameAllowance | None = None,
    ) -> None:
        self.ws = ws
        self.relay = relay
        self.visitor_id = visitor_id
        self.max_chars = max_chars
        self.user_agent = user_agent
        self.limiter = limiter
        self._lock = threading.Lock()
        self._chat_id: str | None = None
        self._cursor: int | None = None  # None until hello: live entries wait for the replay
        self.closed = False

    # -- the loop ------------------------------------------------------------------------

    def serve(self) -> None:
        """Read frames until the socket closes; a bad frame is answered, never fatal."""
        token = visitor_var.set(self.visitor_id)
        self.relay.store.subscribe(self.visitor_id, self.deliver)
        try:
            while True:
                raw = self.ws.receive()
                self.handle(raw)
        finally:
            self.closed = True
            self.relay.store.unsubscribe(self.visitor_id, self.deliver)
            visitor_var.reset(token)

    def handle(self, raw: str | bytes | None) -> None:
        """One frame from the browser."""
        frame_id = None
        if self.limiter is not None and not self.limiter.allow(self.visitor_id):
            self._error("rate_limited", "Too many messages at once. Please slow down.", None)
            return
        try:
            frame = parse_frame(raw, self.max_chars)
            frame_id = frame.id
            self._dispatch(frame)
        except FrameError as error:
            self._error(error.code, error.message, error.frame_id or frame_id)
        except UpstreamError as error:
            log.warning("upstream call for a frame failed: %s", error.message)
            self._error(
                "upstream", "The contact center is not answering. Please try again.", frame_id
            )
        except StoreError as error:
            log.warning("store unavailable for a frame: %s", error)
            self._error("unavailable", "Please try again in a moment.", frame_id)
        except Exception:  # a bug must cost one frame, not the visitor's socket
            log.exception("frame handling failed")
            self._error("internal", "Something went wrong on our side. Please try again.", frame_id)

    def _dispatch(self, frame: Frame) -> None:
        if frame.type == "ping":
            self._write({"type": "pong"})
        elif frame.type == "hello":
            self._hello(frame.after, frame.chat_id)
        elif frame.type == "start":
            self.relay.start_chat(
                self.visitor_id, frame.parameters, frame.phone_number, frame.from_, self.user_agent
            )
            # The relay published a `state` message: every tab, this one too, switches to it.
        elif frame.type == "send":
            assert frame.id is not None
            self.relay.sender.send(self.visitor_id, frame.id, frame.event, self.user_agent)
            self._write({"type": "ack", "id": frame.id})

    # -- writing ---------------------------------------------------------------------------

    def _write(self, frame: dict[str, Any]) -> None:
        with self._lock:
            self._send(frame)

    def _send(self, frame: dict[str, Any]) -> None:
        """Write under the lock; a closed socket just ends the session's writes."""
        if self.closed:
            return
        try:
            self.ws.send(json.dumps(frame, separators=(",", ":")))
        except Exception:  # the reader loop sees the close and ends the session
            self.closed = True

    def _error(self, code: str, message: str, frame_id: str | None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if frame_id:
            frame["id"] = frame_id
        self._write(frame)

    def _state_frame(self, chat: dict[str, Any] | None, last_seq: int) -> dict[str, Any]:
        public = None
        if chat:
            public = {k: chat.get(k) for k in ("chat_id", "state", "ewt", "ended")}  # no more
        return {
            "type": "state",
            "chat": public,
            "availability": self.relay.availability.get(),
            "last_seq": last_seq,
        }

    def _replay(self, chat_id: str, after: int) -> None:
        """Under the lock: everything logged after `after`, then the cursor stands at the end."""
        for seq, event in self.relay.store.read(chat_id, after):
            self._send({"type": "event", "seq": seq, "event": event})
            after = seq
        self._cursor = after

    # -- hello and live delivery --------------------------------------------------------------

    def _hello(self, after: int, chat_id: str | None) -> None:
        chat = self.relay.current_chat(self.visitor_id, self.user_agent)  # may call upstream
        with self._lock:
            self._switch(chat, after if chat and chat_id in (None, chat["chat_id"]) else 0)

    def _switch(self, chat: dict[str, Any] | None, after: int) -> None:
        """Under the lock: send `state` for `chat` and replay it from `after`."""
        if chat is None:
            self._chat_id = None
            self._send(self._state_frame(None, 0))
            self._cursor = 0
            return
        last = self.relay.store.last_seq(chat["chat_id"])
        if after > last:  # the tab saw a log that no longer exists: start it over
            after = 0
        self._chat_id = chat["chat_id"]
        self._send(self._state_frame(chat, last))
        self._replay(chat["chat_id"], after)

    def deliver(self, message: Message) -> None:
        """Called by the store for every message to this visitor, from any thread."""
        with self._lock:
            if self._cursor is None or self.closed:
                return  # before hello: the replay will include it
            kind = message.get("kind")
            if kind == "released":
                self.relay.wake(message.get("chat_id") or "")
            elif kind == "resync":  # the store was away: catch up on whatever was missed
                chat = self.relay.store.get_chat(self.visitor_id)
                if chat and chat["chat_id"] != self._chat_id:
                    self._switch(chat, 0)
                elif self._chat_id:
                    self._replay(self._chat_id, self._cursor)
            elif kind == "upstream":
                self._send({"type": "upstream", "status": message.get("status")})
            elif kind == "state" or (kind == "events" and message.get("chat_id") != self._chat_id):
                chat = self.relay.store.get_chat(self.visitor_id)
                if chat and chat["chat_id"] != self._chat_id:
                    self._switch(chat, 0)
                elif chat and kind == "state":
                    self._send(self._state_frame(chat, self._cursor))
            elif kind == "events":
                entries = message.get("entries") or []
                if entries and entries[0][0] > self._cursor + 1:
                    self._replay(self._chat_id or "", self._cursor)
                    return
                for seq, event in entries:
                    if seq > self._cursor:
                        self._send({"type": "event", "seq": seq, "event": event})
                        self._cursor = seq
