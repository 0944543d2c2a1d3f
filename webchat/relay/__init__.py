"""The chat domain: poll loops, event logs, exactly-once sends, files; no HTTP, no sockets."""

from .errors import ChatEnded, ChatError, NoChat, SendPending, Unconfirmed
from .relay import Relay

__all__ = ["ChatEnded", "ChatError", "NoChat", "Relay", "SendPending", "Unconfirmed"]
