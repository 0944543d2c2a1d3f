"""For the bench's own asyncio processes (the stand-in, the tab generator): what has lived a
second leaves the garbage collector's walks, as in the server's workers (webchat/gcpolicy.py),
so their own full collections (a second and more with 10,000 sockets) stay out of the latencies
they time. Cyclic garbage among those objects is kept for the process's short life."""

from __future__ import annotations

import asyncio
import gc


async def freeze_survivors() -> None:
    while True:
        await asyncio.sleep(1.0)
        gc.freeze()
