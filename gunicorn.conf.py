"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gthread, because every open chat socket holds a worker thread: the thread count is the number
of sockets (plus page loads) one process serves at once. One worker by default, since the
memory store lives in one process; with STORE_URL=redis:// run as many as the cores allow.
Never the sync worker: it kills long-lived sockets at --timeout.
"""

from types import FrameType
from typing import Any

from webchat.settings import load_or_exit

# Read and checked here, in the master, before any worker starts: a bad value stops gunicorn
# with one line and a non-zero status, instead of each worker failing and being replaced.
settings = load_or_exit()

bind = settings.bind
# gthread by default; WORKER_CLASS=gevent (pip install 'webchat-bff[gevent]') holds more chats
# in less memory per chat (README, Benchmarks).
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


def post_worker_init(worker: Any) -> None:
    """On SIGTERM, before gunicorn's own graceful exit: hand the chats over and close every
    socket with 1012, so browsers reconnect at once to an instance that stays up."""
    import signal
    import threading

    gunicorn_handler = signal.getsignal(signal.SIGTERM)
    shutdown = getattr(worker.wsgi, "extensions", {}).get("webchat.shutdown")

    def on_term(signum: int, frame: FrameType | None) -> None:
        if shutdown is not None:
            # Not in the signal handler itself: closing sockets takes locks.
            threading.Thread(target=shutdown, name="shutdown").start()
        if callable(gunicorn_handler):
            gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
