"""The API's error body, raised by the model and rendered by the Flask layer."""

from __future__ import annotations


class ApiError(Exception):
    """An error reply: HTTP status plus ``{"error_code": "<code>", "error_message": ...}``.

    ``violation`` is set when the error means the client broke the protocol (the
    simulator records it) rather than e.g. a race with the end of a chat.
    """

    def __init__(self, status: int, code: str, message: str, violation: str | None = None):
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.violation = violation

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "error_message": self.message}


def chat_not_found(chat_id: str) -> ApiError:
    return ApiError(404, "5005", f"Chat session {chat_id} not found or already ended")


def file_not_found(file_id: str) -> ApiError:
    return ApiError(404, "5502", f"File {file_id} not found")
