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


class ChatTooLong(ChatError):
    """The chat's log is full: it takes no more of the visitor's messages or files (ending the
    chat, typing and the agent's events still go through)."""

    code = "chat_too_long"

    def __init__(
        self, message: str = "This chat is too long to continue. Please start a new one."
    ) -> None:
        super().__init__(message)


class SendPending(ChatError):
    """Another attempt at this send is still under way: resend the same id a little later.

    Its code is `upstream`: for the widget, as for a failed post, the send was not confirmed
    and may be resent with the same id."""

    code = "upstream"

    def __init__(self, message: str = "This message is still being sent; try again.") -> None:
        super().__init__(message)


class Unconfirmed(ChatError):
    """A send that cannot be looked up may or may not have reached ServicePattern; it is never
    posted again (at most once)."""

    code = "unconfirmed"

    def __init__(
        self, message: str = "This may or may not have reached the contact center."
    ) -> None:
        super().__init__(message)
