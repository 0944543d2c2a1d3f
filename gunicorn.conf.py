"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gevent by default: an open chat socket holds a greenlet, not a thread, so one process holds
thousands of chats with no tuning (WS_MAX_OPEN, default 10,000, is its ceiling).
WORKER_CLASS=gthread serves one socket per thread (THREADS). One worker by default, since the
memory store lives in one process; with STORE_URL=redis:// run as many as the cores allow.
Never the sync worker: it kills long-lived sockets at --timeout.
"""

from collections.abc import Callable
from types import FrameType
from typing import Any

from webchat import fdlimit
from webchat.settings import gevent_settings, load_or_exit

# Read and checked here, in the master, before any worker starts: a bad value stops gunicorn
# with one line and a non-zero status, instead of each worker failing and being replaced.
settings = load_or_exit()

bind = settings.bind
# gevent by default (README, Benchmarks); WORKER_CLASS=gthread for a thread per socket.
worker_class = settings.worker_class
workers = settings.workers
threads = settings.threads
worker_connections = settings.worker_connections
timeout = 60
# A stopping worker lets its held polls finish (SP_POLL_TIMEOUT) and gives their leases back.
graceful_timeout = settings.graceful_timeout
keepalive = 5
loglevel = settings.log_level.lower()
# X-Forwarded-* are trusted only through TRUSTED_PROXIES (werkzeug's ProxyFix in the app),
# never implicitly because a request came from a local address.
forwarded_allow_ips = settings.forwarded_allow_ips
gevent_settings()
# Each open chat takes two open files: the soft limit goes up to the hard one before workers
# fork (webchat/fdlimit.py); a worker refuses sockets its limit cannot hold with 4029.
open_files = fdlimit.raise_open_files()


def on_starting(server: Any) -> None:
    """Say so, once, when the open-files limit holds fewer chats than WS_MAX_OPEN."""
    room = fdlimit.sockets_within(open_files)
    if room is not None and room < settings.ws_max_open:
        server.log.warning(
            "open files limited to %d: a worker holds about %d chats, fewer than WS_MAX_OPEN="
            "%d; sockets past that are told busy (4029). Raise the limit (systemd "
            "LimitNOFILE=65536, ulimit -n) or lower WS_MAX_OPEN.",
            open_files,
            room,
            settings.ws_max_open,
        )


def post_worker_init(worker: Any) -> None:
    """On SIGTERM, before gunicorn's own graceful exit: hand the chats over and close every
    socket with 1012, so browsers reconnect at once to an instance that stays up."""
    import signal

    gunicorn_handler = signal.getsignal(signal.SIGTERM)
    shutdown = getattr(worker.wsgi, "extensions", {}).get("webchat.shutdown")

    def on_term(signum: int, frame: FrameType | None) -> None:
        if shutdown is not None:
            # Not in the signal handler itself: closing sockets takes locks.
            in_background(shutdown)
        if callable(gunicorn_handler):
            gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
    if settings.gc_freeze:
        from webchat import gcpolicy

        gcpolicy.start(interval=0.1, growth=settings.gc_full_growth)


def in_background(target: Callable[[], object]) -> None:
    """Run `target` on its own without waiting for it to start. Under gevent an idle worker
    runs a signal handler in the event loop, where Thread.start (it waits for the thread to
    start) raises BlockingSwitchOutError and the worker dies instead of leaving politely."""
    import threading

    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        gevent.spawn(target)
    else:
        threading.Thread(target=target, name="shutdown").start()
