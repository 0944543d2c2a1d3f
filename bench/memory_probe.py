"""The app as the server runs it, plus a probe the memory bench asks for figures through files.

Loaded by bench/chat_memory.py as the worker's app (`memory_probe:app`, bench/ on PYTHONPATH);
never by the product. A greenlet (or thread) watches MEMORY_PROBE_DIR; for each `<tag>.req` it
writes `<tag>.json`: objects the collector tracks, by type; saved greenlet stacks, by what the
greenlet waits in; and, when tracemalloc runs (PYTHONTRACEMALLOC=1), traced bytes by file.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from wsgi import app  # noqa: F401 - what gunicorn serves

PROBE_DIR = Path(os.environ["MEMORY_PROBE_DIR"])


def _waits_in(glet: object) -> str:
    """The innermost project or library function a suspended greenlet waits in."""
    frame = getattr(glet, "gr_frame", None)
    names = []
    while frame is not None and len(names) < 60:
        names.append(f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}")
        frame = frame.f_back
    names.reverse()
    for name in names:  # the first frame of ours says what the greenlet is for
        if name.startswith(("session.", "poller.", "ws.", "rawsocket.", "outbox.", "listeners.")):
            return name
    return names[-1] if names else "?"


def figures() -> dict:
    import tracemalloc

    import greenlet

    gc.collect()
    traced: Counter[str] = Counter()
    if tracemalloc.is_tracing():  # first, before this probe's own lists exist
        for stat in tracemalloc.take_snapshot().statistics("filename"):
            traced[stat.traceback[0].filename.split("site-packages/")[-1]] += stat.size
    objects = gc.get_objects()
    types = Counter(type(o).__qualname__ for o in objects)
    stacks: Counter[str] = Counter()
    glets: Counter[str] = Counter()
    for o in objects:
        if isinstance(o, greenlet.greenlet) and not o.dead:
            key = _waits_in(o)
            stacks[key] += o._stack_saved
            glets[key] += 1
    out: dict = {
        "tracked": len(objects),
        "types": dict(types),
        "stacks": stacks,
        "greenlets": glets,
    }
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot()
        by_file: Counter[str] = Counter()
        for stat in snap.statistics("filename"):
            name = stat.traceback[0].filename
            by_file[name.split("site-packages/")[-1]] += stat.size
        out["traced"] = by_file
    return out


def garbage() -> dict:
    """What the cyclic collector finds unreachable now, by type: what closed chats left for a
    full collection (reference counting frees the rest). Collected and freed as it is counted."""
    gc.unfreeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    types = Counter(type(o).__qualname__ for o in found)
    modules = Counter(
        getattr(type(o), "__module__", "?") or "?" for o in found
    )
    size = sum(sys.getsizeof(o) for o in found)
    ids = {id(o) for o in found}
    edges: Counter[str] = Counter()
    if os.environ.get("MEMORY_PROBE_EDGES"):
        for o in found:
            for r in gc.get_referents(o):
                if id(r) in ids:
                    edges[f"{_name(o)} -> {_name(r)}"] += 1
    del found
    gc.collect()
    return {"objects": sum(types.values()), "bytes": size, "types": dict(types),
            "modules": dict(modules), "edges": dict(edges)}


def _name(o: object) -> str:
    if type(o).__name__ == "method":
        return f"method {o.__func__.__qualname__}"  # type: ignore[attr-defined]
    if type(o).__name__ in ("function", "cell", "generator"):
        return f"{type(o).__name__} {getattr(o, '__qualname__', '')}"
    return type(o).__qualname__


def trim() -> dict:
    """glibc's malloc_trim(0): give the free pages inside the heap back to the system; how long
    it took (it holds the process while it walks the heap)."""
    import ctypes

    started = time.perf_counter()
    released = ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {"released": released, "seconds": time.perf_counter() - started}


PROBES = {".req": figures, ".garbage": garbage, ".trim": trim}


def _watch() -> None:
    while True:
        for request in [p for p in PROBE_DIR.iterdir() if p.suffix in PROBES]:
            request.unlink()
            result = PROBE_DIR / f"{request.stem}.json"
            found = PROBES[request.suffix]()
            result.with_suffix(".tmp").write_text(json.dumps(found))
            result.with_suffix(".tmp").rename(result)
        time.sleep(0.2)


threading.Thread(target=_watch, name="memory-probe", daemon=True).start()
