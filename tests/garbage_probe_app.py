"""The product's app plus one test-only route, `/__test/garbage`: what the cyclic collector
would find unreachable in this worker now, counted by type (and freed). Served by tests that
check what a closed socket leaves for a full collection; never loaded by the product."""

from __future__ import annotations

import gc
from collections import Counter

from flask import jsonify

from wsgi import app


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
