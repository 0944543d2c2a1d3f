"""Running a function on its own: a greenlet under the gevent worker, a thread otherwise.

Every open chat runs a poll loop and each browser socket a reader, for minutes each. Under
gevent a patched `threading.Thread` is a greenlet plus a Thread object with its own events, lock
and excepthook closure, about 2 KiB more for every one of them; a bare greenlet does the same
work. Both answer `start()`, `join(timeout)`, `is_alive()` and have a `name`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

try:
    from gevent import Greenlet, monkey
except ImportError:  # gevent is optional for the gthread worker
    Greenlet = None
    monkey = None


class Runner(Protocol):
    name: str

    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> Any: ...

    def is_alive(self) -> bool: ...


if Greenlet is not None:

    class _GreenRunner(Greenlet):
        """A greenlet that answers `is_alive()` as a thread does."""

        def is_alive(self) -> bool:
            return bool(self.started) and not self.dead


def background(run: Callable[[], None], name: str | None = None) -> Runner:
    """Not started yet: the caller starts it."""
    if monkey is not None and monkey.is_module_patched("threading"):
        runner: Runner = _GreenRunner(run)
    else:
        runner = threading.Thread(target=run, daemon=True)
    if name:
        runner.name = name
    return runner
