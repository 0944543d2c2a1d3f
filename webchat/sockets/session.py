"""One browser tab's socket: frames in, numbered events out, each exactly once and in order.

The tab says `hello after=N`; the session replays N+1 … from the chat's log, then streams live
entries as the store publishes them. Everything the socket writes after hello (state, replay,
live entries, acks, errors, pongs) goes through one queue, written in order by the socket's
writer, and advances one cursor, so live entries racing the replay are neither lost nor
doubled: an entry at or below the cursor is skipped, and a gap above it is filled from the log.

The store hands live messages over from a thread that serves every visitor of the process, so
handing over only queues (`deliver` never reads the store, never waits on the browser). A tab
that falls `queue_limit` messages behind is closed with 1013: it reconnects and resumes with
`hello after=N` from the log. No writer thread before hello, and after it only while there is
something to write (webchat.sockets.outbox): an idle socket holds no extra thread.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from ..logs import visitor_var
from ..relay import ChatError, Relay
from ..servicepattern import UpstreamError
from ..store import Message, StoreError
from . import rawsocket
from .frames import Frame, FrameError, parse_frame
from .outbox import Outbox

log = logging.getLogger(__name__)

BEHIND = 1013  # close code "try again later": this tab fell behind; resume with hello after=N
QUEUE_LIMIT = 256  # messages a tab may fall behind before it is closed with BEHIND
SEND_TIMEOUT = 60.0  # a peer that takes no byte for this long is gone: its socket is ended
HELLO_TIMEOUT = 10.0  # a socket that says no hello for this long is closed (NO_HELLO)
INTERNAL = "Something went wrong on our side. Please try again."


class Socket(Protocol):
    """What we need of a WebSocket (simple-websocket's Server has it)."""

    def send(self, data: str) -> None: ...
    def receive(self, timeout: float | None = None) -> str | bytes | None: ...
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


class FrameAllowance(Protocol):
    """Rate limit of frames per visitor (webchat.limits.FrameLimiter)."""

    def allow(self, visitor_id: str) -> bool: ...


class StartAllowance(Protocol):
    """Rate limit of chat starts per visitor and address (webchat.limits.StartLimiter)."""

    def allow(self, visitor_id: str, address: str | None) -> bool: ...


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
        queue_limit: int = QUEUE_LIMIT,
        send_timeout: float = SEND_TIMEOUT,
        hello_timeout: float = HELLO_TIMEOUT,
        starts: StartAllowance | None = None,
        address: str | None = None,
        typing_preview: bool = False,
    ) -> None:
        self.ws = ws
        self.relay = relay
        self.visitor_id = visitor_id
        self.max_chars = max_chars
        self.user_agent = user_agent
        self.limiter = limiter
        self.queue_limit = queue_limit
        self.send_timeout = send_timeout
        self.hello_timeout = hello_timeout
        self._greeted = False  # a hello came (it may have failed; the next one retries)
        self.starts = starts
        self.address = address  # the client's address, for the limit of chat starts
        self.typing_preview = typing_preview  # drafts go with typing notices (TYPING_PREVIEW)
        self._outbox: Outbox | None = None  # made at hello; only its writers write from then on
        self._sending = False
        self._chat_id: str | None = None
        self._cursor: int | None = None  # None until hello: live entries wait for the replay
        self.closed = False

    # -- the loop ------------------------------------------------------------------------

    def serve(self) -> None:
        """Read frames until the socket closes; a bad frame is answered, never fatal."""
        token = visitor_var.set(self.visitor_id)
        rawsocket.harden(self.ws, self.send_timeout)
        self.relay.store.subscribe(self.visitor_id, self.deliver)
        try:
            for raw in rawsocket.frames(self.ws, self.hello_timeout, lambda: self._greeted):
                self.handle(raw)
        finally:
            self.closed = True
            self.relay.store.unsubscribe(self.visitor_id, self.deliver)
            if self._outbox is not None:
                if self._sending:  # stuck on a peer that reads nothing: free the writer now
                    rawsocket.abort(self.ws)
                self._outbox.stop(wait=2.0)
            visitor_var.reset(token)

    def handle(self, raw: str | bytes | None) -> None:
        """One frame from the browser."""
        frame_id = None
        if self.limiter is not None and not self.limiter.allow(self.visitor_id):
            self._error("rate_limited", "Too many messages at once. Please slow down.", None)
            return
        try:
            frame = parse_frame(raw, self.max_chars, self.typing_preview)
            frame_id = frame.id
            self._dispatch(frame)
        except FrameError as error:
            self._error(error.code, error.message, error.frame_id or frame_id)
        except ChatError as error:
            self._error(error.code, error.message, frame_id)
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
            self._error("internal", INTERNAL, frame_id)

    def _dispatch(self, frame: Frame) -> None:
        if frame.type == "ping":
            self._write({"type": "pong"})
        elif frame.type == "hello":
            self._greeted = True
            chat = self.relay.current_chat(self.visitor_id, self.user_agent)  # may call upstream
            after = frame.after if chat and frame.chat_id in (None, chat["chat_id"]) else 0
            self._queue(("hello", chat, after))
        elif frame.type == "start":
            if self.starts is not None and not self.starts.allow(self.visitor_id, self.address):
                self._error("rate_limited", "Too many chats started. Please try later.", frame.id)
                return
            self.relay.start_chat(
                self.visitor_id, frame.parameters, frame.phone_number, frame.from_, self.user_agent
            )
            # The relay published a `state` message: every tab, this one too, switches to it.
        elif frame.type == "send":
            assert frame.id is not None
            self.relay.send(self.visitor_id, frame.id, frame.event, self.user_agent)
            self._write({"type": "ack", "id": frame.id})

    # -- the ordered path out ------------------------------------------------------------

    def deliver(self, message: Message) -> None:
        """Called by the store for every message to this visitor, from any thread: queues it.

        Before hello it is dropped: the hello's replay, read later, includes it.
        """
        outbox = self._outbox
        if outbox is not None:
            outbox.put(("message", message))

    def _queue(self, item: tuple[Any, ...]) -> None:
        """Hand an item to the writer; the first is a hello. Live messages queued just before
        it are skipped (no cursor yet): the hello's replay reads the log after them."""
        if self._outbox is None:
            self._outbox = Outbox(self.queue_limit, self._handle_item, self._fell_behind)
        self._outbox.put(item)

    def _write(self, frame: dict[str, Any]) -> None:
        """A frame of the session's own: in line with the rest once the writer runs."""
        if self._outbox is None:
            self._send(frame)  # before hello: only this thread writes
        else:
            self._queue(("frame", frame))

    def _handle_item(self, item: tuple[Any, ...]) -> None:
        """In the writer: one queued item."""
        if self.closed:
            return
        kind = item[0]
        if kind == "frame":
            self._send(item[1])
        elif kind == "message":
            self._on_message(item[1])
        elif kind == "hello":
            try:
                self._switch(item[1], item[2])
            except StoreError as error:
                log.warning("store unavailable for a hello: %s", error)
                self._send(_error_frame("unavailable", "Please try again in a moment.", None))
            except Exception:  # a bug must cost this hello, not the socket
                log.exception("hello failed")
                self._send(_error_frame("internal", INTERNAL, None))

    def _fell_behind(self) -> None:
        """In the writer, once the queue overflowed: close so the tab resumes from the log."""
        log.warning("socket fell %d messages behind; closed for it to resume", self.queue_limit)
        self.closed = True
        try:
            self.ws.close(reason=BEHIND, message="fell behind; resume with hello after")
        except Exception:  # the close frame could not go out either: end the socket anyway
            rawsocket.abort(self.ws)

    # -- writing ---------------------------------------------------------------------------

    def _send(self, frame: dict[str, Any]) -> None:
        """Write one frame; a closed or stuck socket just ends the session's writes."""
        if self.closed:
            return
        self._sending = True
        try:
            self.ws.send(json.dumps(frame, separators=(",", ":")))
        except Exception as error:  # the reader loop sees the close and ends the session
            self.closed = True
            if isinstance(error, OSError):  # timed out or broken: make sure the reader ends
                rawsocket.abort(self.ws)
        finally:
            self._sending = False

    def _error(self, code: str, message: str, frame_id: str | None) -> None:
        self._write(_error_frame(code, message, frame_id))

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
        """Everything logged after `after`, then the cursor stands at the end."""
        for seq, event in self.relay.store.read(chat_id, after):
            self._send({"type": "event", "seq": seq, "event": event})
            after = seq
        self._cursor = after

    # -- hello and live delivery, in the writer ------------------------------------------------

    def _switch(self, chat: dict[str, Any] | None, after: int) -> None:
        """Send `state` for `chat` and replay it from `after`."""
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

    def _on_message(self, message: Message) -> None:
        """One message the store published to this visitor."""
        if self._cursor is None:
            return  # the hello failed: the next one replays it
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


def _error_frame(code: str, message: str, frame_id: str | None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if frame_id:
        frame["id"] = frame_id
    return frame
