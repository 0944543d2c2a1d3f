"""The scripted agent: what a human agent would do, on timers, for each chat.

Every step runs with the simulator lock held (via ``_later``) and re-checks that the chat
is still live, so a step that fires just after the chat ended does nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from . import model
from .images import AGENT_IMAGE
from .model import Chat, Event

if TYPE_CHECKING:
    from .simulator import Simulator

FRIENDLY = [
    "Let me check that for you.",
    "Anything else I can help with?",
    "Thanks, that helps.",
    "Good question!",
]
NOTES = b"Demo notes from your agent.\nThis file was sent by the ServicePattern simulator.\n"
WARNING_TEXT = "Are you still there? This chat will close soon due to inactivity."
TIMEOUT_TEXT = "This chat was closed due to inactivity."
# A message with markup, as scenarios and agents may write them ("rich").
RICH_TEXT = (
    "<p>Here is what you can do <b>today</b>:</p>"
    "<ul><li>Track your order</li><li>Change the <i>delivery</i> address</li></ul>"
    '<p>Details: <a href="https://www.example.com/help">our help page</a></p>'
)
# An agent page that asked for signals this recently takes the visitor's calls.
AGENT_PAGE_FRESH = 20.0
NO_CALLS_TEXT = "I can't take a call right now, sorry. Let's keep chatting here."


class Agent:
    """Reacts to chat creation and client events by scheduling server events."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.cfg = sim.config
        self._forms = itertools.count(1)
        self._phrases = itertools.count()

    # -- plumbing -------------------------------------------------------------------------

    def _later(self, chat: Chat, delay: float, fn: Callable[[], None], kind: str = "script"):
        def run() -> None:
            with self.sim.lock:
                if not chat.ended:
                    fn()

        self.sim.scheduler.call_later(delay, (chat.chat_id, kind), run)

    def _emit(self, chat: Chat, event: Event) -> None:
        self.sim.emit(chat, event)

    def _typing(self, chat: Chat, on: bool) -> None:
        self._emit(chat, model.typing(chat.agent_party_id, on))

    def _ready_in(self, chat: Chat) -> float:
        """Seconds until the agent has joined and greeted; messages wait for that."""
        ready_at = chat.created + self.cfg.join_delay + self.cfg.typing_delay
        return max(0.0, ready_at - time.monotonic())

    # -- lifecycle ------------------------------------------------------------------------

    def on_chat_created(self, chat: Chat) -> None:
        self._emit(chat, model.status_event("queued", self.cfg.ewt))
        self._later(chat, self.cfg.join_delay, lambda: self._join(chat))
        self.touch(chat)

    def _join(self, chat: Chat) -> None:
        first, last = self.cfg.agent_first_name, self.cfg.agent_last_name
        chat.agent_joined = True
        chat.state = "connected"
        chat.parties[chat.agent_party_id] = "internal"
        self._emit(chat, model.party_joined(chat.agent_party_id, first, last))
        self._emit(chat, model.status_event("connected", self.cfg.ewt))
        self._typing(chat, True)
        self._later(chat, self.cfg.typing_delay, lambda: self._greet(chat))

    def _greet(self, chat: Chat) -> None:
        name = chat.customer_first_name()
        hello = f"Hi {name}," if name else "Hi,"
        self.say(chat, f"{hello} I'm {self.cfg.agent_first_name}. How can I help?")
        self._typing(chat, False)

    def touch(self, chat: Chat) -> None:
        """(Re)arm the inactivity timers after client activity."""
        warn, out = self.cfg.warning_after, self.cfg.timeout_after
        if warn is None and out is None:
            return
        self.sim.scheduler.cancel(chat.chat_id, "idle")
        if warn is not None and (out is None or warn < out):
            text = WARNING_TEXT
            self._later(chat, warn, lambda: self._emit(chat, model.timeout_warning(text)), "idle")
        if out is not None:
            self._later(chat, out, lambda: self._inactive(chat), "idle")

    def _inactive(self, chat: Chat) -> None:
        self._emit(chat, model.inactivity_timeout(TIMEOUT_TEXT))
        self.sim.end_chat(chat)

    # -- client events --------------------------------------------------------------------

    def on_client_event(self, chat: Chat, event: Event) -> None:
        self.touch(chat)
        name = event.get("event")
        if name == "chat_session_message":
            self._respond(chat, lambda: self._reply(chat, str(event.get("msg", ""))))
        elif name == "chat_session_file":
            name = str(event.get("file_name") or self.sim.file_name(event.get("file_id")))
            self._respond(chat, lambda: self._ack_file(chat, name))
        elif name == "chat_session_end":
            self.end(chat)
        elif name == "chat_session_disconnect":
            self._leave(chat)
            chat.disconnected = True
            self._emit(chat, model.form_show(str(next(self._forms)), "survey"))
        elif name == "chat_session_signaling":
            self._on_signal(chat, event.get("data"))
        elif name == "chat_session_form_data":
            if chat.disconnected:
                self._emit(chat, model.ended())
                self.sim.end_chat(chat)
            else:
                self._respond(chat, lambda: self.say(chat, "Thanks for your feedback!"))

    def _on_signal(self, chat: Chat, data: object) -> None:
        """Callbacks and texts are promised in words; a call request goes to the agent page
        (webchat/simulator/agent_page.py) when one is open, else it is declined."""
        if not isinstance(data, dict):
            return
        kind, number = data.get("type"), str(data.get("number", ""))
        if kind == "REQUEST_PHONE_CALL":
            self._respond(chat, lambda: self.say(chat, f"Sure, I will call you back at {number}."))
        elif kind == "REQUEST_SMS":
            self._respond(chat, lambda: self.say(chat, f"Done: I sent a text message to {number}."))
        elif kind == "REQUEST_CALL" and not self.has_agent_page(chat):
            self.signal(chat, {"type": "CALL_REJECTED"})
            self._respond(chat, lambda: self.say(chat, NO_CALLS_TEXT))

    def has_agent_page(self, chat: Chat) -> bool:
        return time.monotonic() - chat.agent_page_seen < AGENT_PAGE_FRESH

    def signal(self, chat: Chat, data: dict) -> None:
        self._emit(chat, model.signaling(chat.next_msg_id(), chat.agent_party_id, data))

    def _respond(self, chat: Chat, reply: Callable[[], None]) -> None:
        """Typing now (or once joined), then the reply after reply_delay, then not typing."""
        if chat.agent_left or chat.disconnected:
            return

        def start() -> None:
            self._typing(chat, True)
            self._later(chat, self.cfg.reply_delay, finish)

        def finish() -> None:
            reply()
            if not chat.ended:
                self._typing(chat, False)

        wait = self._ready_in(chat)
        if wait > 0:
            self._later(chat, wait, start)
        else:
            start()

    def _reply(self, chat: Chat, text: str) -> None:
        word = text.strip().lower()
        if word == "file":
            self.say(chat, "Here is the file you asked for.")
            self.send_file(chat, "notes.txt", NOTES, "attachment")
        elif word == "photo":
            self.say(chat, "Here is a photo for you.")
            self.send_file(chat, "photo.png", AGENT_IMAGE, "image")
        elif word == "bye":
            self.say(chat, "Goodbye, and thanks for chatting with us!")
            self._typing(chat, False)
            self.end(chat)
        elif word == "rich":
            self.say(chat, RICH_TEXT)
        elif word == "survey":
            self.say(chat, "Could you fill in this short survey?")
            self._emit(chat, model.form_show(str(next(self._forms)), "survey"))
        elif word == "signal":
            data = {"type": "CALL_STATE", "audioEnabled": False, "videoEnabled": False}
            self._emit(chat, model.signaling(chat.next_msg_id(), chat.agent_party_id, data))
        else:
            phrase = FRIENDLY[next(self._phrases) % len(FRIENDLY)]
            self.say(chat, f'You said: "{text}". {phrase}')

    def _ack_file(self, chat: Chat, file_name: str) -> None:
        self.say(chat, f'Thanks, I received "{file_name}". Here is your receipt.')
        receipt = f"Receipt for {file_name}\n".encode()
        self.send_file(chat, "receipt.txt", receipt, "attachment")

    # -- actions (also used by the test hooks) --------------------------------------------

    def say(self, chat: Chat, text: str) -> None:
        self._emit(chat, model.message(chat.next_msg_id(), chat.agent_party_id, text))

    def send_file(self, chat: Chat, name: str, data: bytes, file_type: str) -> None:
        record = self.sim.store_file(name, data, chat_id=chat.chat_id)
        event = model.file_event(
            chat.next_msg_id(), chat.agent_party_id, record.file_id, file_type, name
        )
        self._emit(chat, event)

    def _leave(self, chat: Chat) -> None:
        if chat.agent_joined and not chat.agent_left:
            chat.agent_left = True
            self._emit(chat, model.party_left(chat.agent_party_id))

    def end(self, chat: Chat) -> None:
        """The agent closes the chat: party_left (if joined) then chat_session_ended."""
        if chat.ended:
            return
        self._leave(chat)
        self._emit(chat, model.ended())
        self.sim.end_chat(chat)
