"""The one exception type that crosses the upstream boundary.

Everything the transport or ServicePattern can do wrong (refused connection, timeout, TLS failure,
an HTTP error with an `error_code`, a body that is not the JSON we expect) becomes an
UpstreamError, so the layers above handle one type and never show a stack trace to a browser.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """A failed ServicePattern call: HTTP status (None when no answer came), error code, message.

    `sent` is False only when the request certainly did not reach ServicePattern (no connection,
    or the TLS handshake or a proxy's tunnel failed before a byte of it was written): then it
    may be sent again without risk of doing it twice. True otherwise, and where unknown.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        error_code: str | None = None,
        *,
        sent: bool = True,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code
        self.sent = sent

    @property
    def transient(self) -> bool:
        """True when trying again may succeed: no answer, 5xx, 429, garbage in a 200, busy poll."""
        if self.status is None or self.status >= 500 or self.status in (200, 408, 429):
            return True
        return self.error_code in ("5000", "5001", "5004", "5509", "5500", "5955")

    @property
    def gone(self) -> bool:
        """True when the chat (or file, or party) no longer exists upstream."""
        return self.status == 404 or self.error_code == "5005"

    def __repr__(self) -> str:
        return (
            f"UpstreamError({self.message!r}, status={self.status}, "
            f"error_code={self.error_code}, sent={self.sent})"
        )
