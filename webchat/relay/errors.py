"""Why the chat domain refuses an action: errors of the visitor's chat, not of any transport.

The socket layer answers them with an `error` frame, the HTTP API with 409; both use `code`,
which the widget knows.
"""

from __future__ import annotations


class ChatError(Exception):
    """The visitor's chat cannot take this action now."""

    code = "chat"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NoChat(ChatError):
    """The visitor has no chat: one must be started first."""

    code = "no_chat"

    def __init__(self, message: str = "there is no chat to send to; start one first") -> None:
        super().__init__(message)


class ChatEnded(ChatError):
    """The visitor's chat has ended: nothing more can be sent to it."""

    code = "chat_ended"

    def __init__(self, message: str = "this chat has ended") -> None:
        super().__init__(message)
