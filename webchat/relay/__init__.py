"""The chat domain: poll loops, event logs, exactly-once sends, files; no HTTP, no sockets."""

from .errors import ChatEnded, ChatError, ChatTooLong, NoChat, SendPending, Unconfirmed
from .relay import Relay

__all__ = [
    "ChatEnded",
    "ChatError",
    "ChatTooLong",
    "NoChat",
    "Relay",
    "SendPending",
    "Unconfirmed",
]
