"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gthread, because every open chat socket holds a worker thread: the thread count is the number
of sockets (plus page loads) one process serves at once. One worker by default, since the
memory store lives in one process; with STORE_URL=redis:// run as many as the cores allow.
Never the sync worker: it kills long-lived sockets at --timeout.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
# gthread by default; WORKER_CLASS=gevent (pip install gevent packaging) holds more chats in
# less memory per chat (README, Benchmarks).
worker_class = os.environ.get("WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("THREADS", "256"))
# gthread serves at most worker_connections sockets (default 1000) whatever `threads` says;
# under gevent it is the only bound.
default_connections = threads + 64 if worker_class == "gthread" else 10000
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", default_connections))
timeout = 60
graceful_timeout = 40  # > SP_POLL_TIMEOUT: the last poll finishes and its lease goes back
keepalive = 5
# X-Forwarded-* are trusted only through TRUSTED_PROXIES (werkzeug's ProxyFix in the app),
# never implicitly because a request came from a local address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "")


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """On SIGTERM, before gunicorn's own graceful exit: hand the chats over and close every
    socket with 1012, so browsers reconnect at once to an instance that stays up."""
    import signal
    import threading

    gunicorn_handler = signal.getsignal(signal.SIGTERM)
    shutdown = getattr(worker.wsgi, "extensions", {}).get("webchat.shutdown")

    def on_term(signum, frame):  # type: ignore[no-untyped-def]
        if shutdown is not None:
            # Not in the signal handler itself: closing sockets takes locks.
            threading.Thread(target=shutdown, name="shutdown").start()
        if callable(gunicorn_handler):
            gunicorn_handler(signum, frame)

    signal.signal(signal.SIGTERM, on_term)
