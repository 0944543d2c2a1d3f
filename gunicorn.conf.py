"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

gthread, because every open chat socket holds a worker thread: the thread count is the number
of sockets (plus page loads) one process serves at once. One worker by default, since the
memory store lives in one process; with STORE_URL=redis:// run as many as the cores allow.
Never the sync worker: it kills long-lived sockets at --timeout.
"""

import os

bind = os.environ.get("BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("THREADS", "256"))
timeout = 60
graceful_timeout = 10
keepalive = 5
