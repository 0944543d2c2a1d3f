"""Structured JSON logs, each line carrying the visitor and chat it concerns.

Who a line is about comes from context variables that the socket session and the poll loop
set for their thread, so every layer logs plainly and still says which visitor and chat.
Chat text is never logged: lines carry ids, event names and error messages only.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

visitor_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("visitor", default=None)
chat_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("chat", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, visitor, chat, error."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        visitor, chat = visitor_var.get(), chat_var.get()
        if visitor:
            line["visitor"] = visitor[:12]  # enough to follow one visitor; not the cookie value
        if chat:
            line["chat"] = chat
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Root logging to stderr, as JSON lines (default) or plain text for a terminal."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
