"""The application factory: settings, store, ServicePattern client, relay, routes.

Without SP_API_URL the built-in ServicePattern simulator is started in-process (demo mode),
so anyone can see and theme the widget with no contact center.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

import requests
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webchat import __version__, routes
from webchat.metrics import Metrics
from webchat.nosession import NoSessions
from webchat.relay import Relay
from webchat.servicepattern import ServicePatternClient
from webchat.settings import Settings, load_settings
from webchat.sockets import SocketRegistry
from webchat.store import open_store

log = logging.getLogger("webchat")


def _start_simulator(settings: Settings) -> Settings:
    """Demo mode: a simulated contact center with a scripted agent, on a loopback port."""
    from webchat.simulator import SimConfig, Simulator, SimulatorServer

    config = SimConfig()
    server = SimulatorServer(Simulator(config)).start()
    atexit.register(server.stop)
    log.warning("demo mode: no SP_API_URL, chatting with the built-in simulator")
    agent_page = f"http://{server.host}:{server.port}/agent/"
    log.warning("demo mode: the agent's side of calls: %s", agent_page)
    return settings.with_upstream(server.base_url, config.tenant_url, config.app_id)


def shutdown(app: Flask) -> None:
    """Leave politely: close every socket with 1012 so browsers reconnect at once to an
    instance that stays, then let each poll loop finish the poll it has under way, log what
    it brings, and give the chat's lease back, so another instance polls it straight away
    (never while ours is still held upstream)."""
    app.extensions["webchat.sockets"].close_all()
    settings: Settings = app.config["WEBCHAT_SETTINGS"]
    app.extensions["webchat.relay"].close(wait=settings.poll_timeout + 5)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; `test_config` may carry SETTINGS (a Settings) and Flask config keys."""
    test_config = dict(test_config or {})
    settings: Settings = test_config.pop("SETTINGS", None) or load_settings()
    if settings.demo:
        settings = _start_simulator(settings)
    assert settings.sp_api_url is not None
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_upload_bytes + 256 * 1024,
        WEBCHAT_SETTINGS=settings,
        WEBCHAT_MAX_UPLOAD=settings.max_upload_bytes,
    )
    app.config.update(test_config)
    app.session_interface = NoSessions()
    if not settings.tls_verify:
        log.warning(
            "SP_TLS_VERIFY is off: ServicePattern's certificate is NOT checked; anyone on the "
            "network path can read and change your visitors' chats"
        )
    client = ServicePatternClient(
        settings.sp_api_url,
        settings.sp_tenant_url,
        settings.sp_app_id,
        connect_timeout=settings.connect_timeout,
        call_timeout=settings.call_timeout,
        poll_timeout=settings.poll_timeout,
        user_agent=f"webchat-bff/{__version__} python-requests/{requests.__version__}",
        verify=settings.verify,
    )
    store = open_store(settings.store_url)
    relay = Relay(
        store,
        client,
        availability_ttl=settings.availability_ttl,
        parameters_ttl=settings.parameters_ttl,
        lease_ttl=settings.lease_ttl,
        idle_poll=settings.chat_idle_poll_seconds,
        log_max_events=settings.chat_log_max_events,
    )
    app.extensions["webchat.store"] = store
    app.extensions["webchat.relay"] = relay
    sockets = SocketRegistry()
    app.extensions["webchat.sockets"] = sockets
    metrics = Metrics(open_sockets=lambda: len(sockets), active_chats=lambda: len(relay.polling()))
    metrics.polls_in_flight.set_function(lambda: client.polls_in_flight)
    client.observer = metrics.observe_call
    relay.on_logged = metrics.events_relayed.inc
    app.extensions["webchat.metrics"] = metrics
    app.extensions["webchat.shutdown"] = lambda: shutdown(app)
    if settings.trusted_proxies:
        # Behind a TLS-terminating load balancer: believe its X-Forwarded-* headers, so the
        # Origin check, Secure cookies and URLs see the address the browser used.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]
    routes.init_app(app)
    return app
