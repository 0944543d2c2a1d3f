"""The app with fixes proposed by the benchmarks applied in memory, to measure them before the
product adopts them (bench only; `Server(..., app="bench.patched_wsgi:app")`).

1. ServicePatternClient's Session with `trust_env = False` and the proxies resolved once from
   the environment: requests otherwise re-reads every proxy variable and looks for ~/.netrc
   (two stat calls) on every call, a fifth of the CPU of each long poll.
"""

from __future__ import annotations

from requests.utils import get_environ_proxies

from wsgi import app

client = app.extensions["webchat.relay"].client
client.session.proxies = get_environ_proxies(client.api_url)  # HTTPS_PROXY / NO_PROXY, once
client.session.trust_env = False
