"""The product's app plus two test-only routes, for tests that check what a closed socket
leaves for a full collection; never loaded by the product.

- `/__test/garbage`: what the cyclic collector would find unreachable in this worker now,
  counted by type (and freed).
- `/__test/emptied?at_least=N`: waits until N sockets have been emptied as they ended (their
  handler and reader both done: webchat/sockets/rawsocket.py), the event after which what a
  socket leaves can be counted.
"""

from __future__ import annotations

import gc
import threading
from collections import Counter
from typing import Any

from flask import jsonify, request

from webchat.sockets import rawsocket
from wsgi import app

_emptied = 0
_changed = threading.Condition()
_done_with = rawsocket._done_with


def _counting_done_with(ws: Any) -> None:
    """rawsocket's own, then a count of the sockets it emptied, for the route to wait on."""
    global _emptied
    _done_with(ws)
    if rawsocket._ENDS not in getattr(ws, "__dict__", {}):
        with _changed:
            _emptied += 1
            _changed.notify_all()


rawsocket._done_with = _counting_done_with


@app.get("/__test/emptied")
def emptied():  # noqa: ANN201 - a Flask view
    wanted = int(request.args.get("at_least", "1"))
    with _changed:
        reached = _changed.wait_for(lambda: _emptied >= wanted, timeout=30)
        return jsonify({"emptied": _emptied, "reached": reached})


@app.get("/__test/garbage")
def garbage():  # noqa: ANN201 - a Flask view
    frozen = gc.get_freeze_count() > 0
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        types = Counter(type(o).__qualname__ for o in gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.collect()
        if frozen:
            gc.freeze()
    return jsonify(types)
