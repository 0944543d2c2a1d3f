"""The simulated tenant: chats, files, long polls, plus the hooks tests drive it with.

One re-entrant lock (wrapped in a Condition) guards everything; long polls wait on the
condition, and every state change notifies it, which also powers ``wait_for``.
"""

from __future__ import annotations

import mimetypes
import threading
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable
from typing import Any

from . import model
from .agent import Agent
from .clients import CLIENT_COOKIE, ClientRegistry
from .config import SimConfig
from .errors import ApiError, chat_not_found
from .faults import DropWhen, Faults
from .model import Chat, Client, Event, FileRecord
from .protocol import check_client_event
from .scheduler import Scheduler

MAX_LOG = 10_000
MAX_CHATS = 10_000


class Simulator:
    """In-memory ServicePattern model with a scripted agent and test hooks."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.lock = threading.Condition(threading.RLock())
        self.violations: list[str] = []
        self.max_concurrent_polls = 0
        self.requests_log: list[dict[str, Any]] = []
        self.clients = ClientRegistry(self.config.cookie_grace)
        self._chats: dict[str, Chat] = {}
        self._files: OrderedDict[str, FileRecord] = OrderedDict()
        self.faults = Faults()
        self._empty_body_next = False
        self.drops = 0  # connections cut by drop_next rules
        self._stopped = threading.Event()
        self.scheduler = Scheduler()
        self.agent = Agent(self)

    # -- bookkeeping ----------------------------------------------------------------------

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)
            self.lock.notify_all()

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests_log.append(entry)
            if len(self.requests_log) > MAX_LOG:
                del self.requests_log[: len(self.requests_log) - MAX_LOG]
            self.lock.notify_all()

    def emit(self, chat: Chat, event: Event) -> None:
        """Queue a server event for the client's next poll and record it."""
        with self.lock:
            chat.events.append(event)
            chat.pending.append(event)
            chat.history.append(event)
            self.lock.notify_all()

    def end_chat(self, chat: Chat) -> None:
        with self.lock:
            chat.ended = True
            chat.state = "completed"
            client = self.clients.get(chat.owner)
            if client is not None and client.active_chat == chat.chat_id:
                client.active_chat = None
            self.scheduler.cancel(chat.chat_id)
            self.lock.notify_all()

    def store_file(
        self,
        name: str,
        data: bytes,
        content_type: str | None = None,
        uploader: str | None = None,
        chat_id: str | None = None,
    ) -> FileRecord:
        if not content_type or content_type == "application/octet-stream":
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        record = FileRecord(uuid.uuid4().hex, name, content_type, data, uploader, chat_id)
        with self.lock:
            self._files[record.file_id] = record
            while len(self._files) > self.config.max_files:
                self._files.popitem(last=False)
        return record

    def close(self) -> None:
        """Stop the agent timers and release held polls (called by SimulatorServer.stop)."""
        self._stopped.set()
        self.scheduler.stop()
        with self.lock:
            self.lock.notify_all()

    # -- protocol operations (called by the Flask layer with an identified client) --------

    def identify(self, client_id: str, cookies: dict[str, str]) -> tuple[Client, dict[str, str]]:
        with self.lock:
            client, set_cookies, violation = self.clients.resolve(client_id, cookies)
        if violation:
            self.violation(violation)
        return client, set_cookies

    def cookie_client(self, cookies: dict[str, str]) -> Client | None:
        """The WebChat client these cookies name, if one was issued them; None otherwise."""
        value = cookies.get(CLIENT_COOKIE)
        with self.lock:
            return self.clients.get(f"cookie:{value}") if value else None

    def file_name(self, file_id: Any) -> str:
        """The name a file was stored under ("" if unknown)."""
        with self.lock:
            record = self._files.get(str(file_id))
            return record.file_name if record is not None else ""

    def request_chat(self, client: Client, body: dict[str, Any]) -> tuple[Chat, bool, dict]:
        with self.lock:
            cookies = self.clients.issue_node(client)
            current = self._chats.get(client.active_chat or "")
            if current is not None and current.live:
                return current, False, cookies
            chat = Chat(chat_id=str(uuid.uuid4()), owner=client.key, request_body=body)
            self._chats[chat.chat_id] = chat
            client.active_chat = chat.chat_id
            self._trim_chats()
            self.agent.on_chat_created(chat)
            return chat, True, cookies

    def active_chat(self, client: Client) -> Chat | None:
        with self.lock:
            chat = self._chats.get(client.active_chat or "")
            return chat if chat is not None and chat.live else None

    def poll(self, client: Client, chat_id: str) -> list[Event] | None:
        """Pending events, waiting up to poll_hold; None means "answer with an empty body"."""
        with self.lock:
            chat = self._owned(client, chat_id)
            if chat.gone:
                raise chat_not_found(chat_id)
            self.max_concurrent_polls = max(self.max_concurrent_polls, chat.polls_in_flight + 1)
            if chat.polls_in_flight:
                raise ApiError(
                    400,
                    "5509",
                    "Too many concurrent poll requests",
                    f"concurrent poll for chat {chat_id} while another is held",
                )
            if not chat.pending:
                chat.polls_in_flight += 1
                self.lock.notify_all()
                try:
                    self.lock.wait_for(
                        lambda: chat.pending or chat.ended or self._stopped.is_set(),
                        timeout=self.config.poll_hold,
                    )
                finally:
                    chat.polls_in_flight -= 1
                    self.lock.notify_all()
            if chat.pending:
                return self._drain(chat)
            self._empty_body_next = not self._empty_body_next
            return [] if self._empty_body_next else None

    def post_events(self, client: Client, chat_id: str, events: list[Any]) -> list[Event] | None:
        with self.lock:
            chat = self._owned(client, chat_id)
            if chat.ended:
                raise chat_not_found(chat_id)
            for event in events:
                for problem in check_client_event(event):
                    self.violation(f"chat {chat_id}: {problem}")
                if not isinstance(event, dict):
                    continue
                chat.client_events.append(dict(event))
                self._check_file_ref(client, chat, event)
                self._echo(chat, event)
                if not chat.ended:
                    self.agent.on_client_event(chat, event)
            self.lock.notify_all()
            return self._drain(chat) if self.config.piggyback else None

    def history(self, client: Client, chat_id: str) -> list[Event]:
        with self.lock:
            chat = self._owned(client, chat_id)
            if chat.gone:
                raise chat_not_found(chat_id)
            return list(chat.history)

    def get_file(self, client: Client, chat_id: str, file_id: str) -> FileRecord | None:
        with self.lock:
            chat = self._chats.get(chat_id)
            record = self._files.get(file_id)
            if chat is None or chat.owner != client.key or record is None:
                return None
            if record.uploader == client.key or record.chat_id == chat_id:
                return record
            return None

    def has_photo(self, client: Client, chat_id: str, party_id: str) -> bool:
        with self.lock:
            chat = self._chats.get(chat_id)
            return (
                chat is not None
                and chat.owner == client.key
                and chat.parties.get(party_id) == "internal"
            )

    # -- helpers ---------------------------------------------------------------------------

    def _owned(self, client: Client, chat_id: str) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat.owner != client.key:
            raise chat_not_found(chat_id)
        return chat

    def _drain(self, chat: Chat) -> list[Event]:
        events, chat.pending = chat.pending, []
        self.lock.notify_all()
        return events

    def _echo(self, chat: Chat, event: Event) -> None:
        """History shows the customer's messages and files with party_id == chat_id.

        The customer's own signalling (call set-up) is left out: Bright Pattern's clients skip
        signalling in history, and a relay must not depend on finding its own there.
        """
        if event.get("event") not in ("chat_session_message", "chat_session_file"):
            return
        echoed = {k: v for k, v in event.items() if k != "destination_party_id"}
        echoed.update(party_id=chat.chat_id, timestamp=model.now_ts())
        chat.history.append(echoed)

    def _check_file_ref(self, client: Client, chat: Chat, event: Event) -> None:
        if event.get("event") != "chat_session_file":
            return
        record = self._files.get(str(event.get("file_id")))
        if record is None or record.uploader != client.key:
            self.violation(f"chat {chat.chat_id}: chat_session_file names unknown file")
        else:
            record.chat_id = chat.chat_id

    def _trim_chats(self) -> None:
        excess = len(self._chats) - MAX_CHATS
        if excess > 0:
            for chat_id in [c.chat_id for c in self._chats.values() if c.ended][:excess]:
                del self._chats[chat_id]

    # -- test hooks --------------------------------------------------------------------------

    def fail_next(
        self, n: int, status: int = 503, body: bytes | str | None = None, paths: str | None = None
    ) -> None:
        """The next n requests (whose path contains ``paths``) get this reply, untouched."""
        self.faults.fail_next(n, status, body, paths)

    def hang_next(
        self, n: int, seconds: float, paths: str | None = None, method: str | None = None
    ) -> None:
        """The next n matching requests sleep ``seconds`` before being handled normally."""
        self.faults.hang_next(n, seconds, paths, method)

    def drop_next(
        self, n: int, when: DropWhen, paths: str | None = None, method: str | None = None
    ) -> None:
        """Cut the connection of the next n matching requests, with no answer: "unread" before
        the request is handled (it never arrives), "handled" after (it arrived)."""
        self.faults.drop_next(n, when, paths, method)

    def count_drop(self) -> None:
        with self.lock:
            self.drops += 1
            self.lock.notify_all()

    def posts(self, chat_id: str) -> Counter[str]:
        """How many times each msg_id was posted to a chat (Send Events), for exactly-once
        checks; events without a msg_id count under their event name."""
        with self.lock:
            chat = self._chats[chat_id]
            return Counter(str(e.get("msg_id") or e.get("event")) for e in chat.client_events)

    def clear_faults(self) -> None:
        """Drop every pending fail_next/hang_next rule (end an injected outage early)."""
        self.faults.clear()

    def sleep(self, seconds: float) -> None:
        """Sleep that ends early when the server stops."""
        self._stopped.wait(seconds)

    def chat(self, chat_id: str) -> Chat:
        with self.lock:
            return self._chats[chat_id]

    def chats(self) -> list[Chat]:
        with self.lock:
            return list(self._chats.values())

    def polls_in_flight(self, chat_id: str) -> int:
        with self.lock:
            chat = self._chats.get(chat_id)
            return chat.polls_in_flight if chat else 0

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> bool:
        """Block until predicate() is truthy (re-checked on every state change)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(min(left, 0.05))
            return True

    def _live(self, chat_id: str) -> Chat:
        chat = self.chat(chat_id)
        if chat.ended:
            raise ValueError(f"chat {chat_id} has ended")
        return chat

    def agent_say(self, chat_id: str, text: str) -> None:
        with self.lock:
            self.agent.say(self._live(chat_id), text)

    def agent_end(self, chat_id: str) -> None:
        with self.lock:
            self.agent.end(self._live(chat_id))

    def agent_signal(self, chat_id: str, data: dict[str, Any]) -> None:
        """The agent's side of a call (the agent page, or a test): one signal to the visitor."""
        with self.lock:
            self.agent.signal(self._live(chat_id), data)

    def visitor_signals(self, chat_id: str, after: int, wait: float = 0.0) -> tuple[list, int]:
        """The visitor's signals sent after the first `after` client events of the chat
        (waiting up to `wait` seconds for one), and the count to ask after next time. Asking
        marks an agent page as present: the scripted agent leaves call requests to it."""
        with self.lock:
            chat = self.chat(chat_id)
            chat.agent_page_seen = time.monotonic()

            def fresh() -> list:
                return [
                    e["data"]
                    for e in chat.client_events[after:]
                    if e.get("event") == "chat_session_signaling"
                    and isinstance(e.get("data"), dict)
                ]

            self.wait_for(lambda: fresh() or chat.ended, timeout=wait)
            return fresh(), len(chat.client_events)

    def agent_send_file(
        self, chat_id: str, name: str, data: bytes, file_type: str = "attachment"
    ) -> str:
        """Returns the new file_id."""
        with self.lock:
            chat = self._live(chat_id)
            self.agent.send_file(chat, name, data, file_type)
            return chat.events[-1]["file_id"]
