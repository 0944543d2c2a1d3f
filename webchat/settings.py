"""Settings read once from the environment, validated, and frozen.

A missing or malformed required value stops start-up with one line naming the variable,
so an operator sees the mistake at deploy time, not on the first visitor's chat.
This is the one module that reads the environment: gunicorn.conf.py, wsgi.py and the app
take their values from a Settings (each value parsed by webchat.envparse).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import math
import os
import secrets
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from webchat.envparse import Network, SettingsError
from webchat.envparse import allow_ips as _allow_ips
from webchat.envparse import bind as _bind
from webchat.envparse import choice as _choice
from webchat.envparse import flag as _flag
from webchat.envparse import networks as _networks
from webchat.envparse import number as _number
from webchat.envparse import origin as _origin
from webchat.envparse import theme_dir as _theme_dir

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("json", "text")
WORKER_CLASSES = ("gthread", "gevent")  # never sync: it kills long-lived sockets at its timeout
# A stopping worker waits for its held polls (SP_POLL_TIMEOUT) and then hands the leases back.
SHUTDOWN_MARGIN = 10.0
# Connections (gevent) kept free of sockets, so pages, /healthz and /metrics still answer at the
# socket ceiling.
PAGE_RESERVE = 256
LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128"))


def requests_ca_bundle() -> str:
    """The CA roots requests ships with (certifi)."""
    from requests.certs import where

    return where()


@dataclass(frozen=True)
class Settings:
    """Everything the application reads from its environment."""

    sp_api_url: str | None = None
    sp_tenant_url: str = ""
    sp_app_id: str = ""
    secret_key: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    allowed_origins: tuple[str, ...] = ()
    store_url: str = "memory://"
    max_message_chars: int = 4000
    ws_max_frame_bytes: int = 1024 * 1024
    ws_ping_interval: float = 25.0
    ws_send_queue: int = 256  # messages a tab may fall behind before it is closed (1013)
    ws_send_timeout: float = 60.0  # seconds a socket write may wait for the browser to read
    ws_hello_timeout: float = 10.0  # seconds a new socket has to say hello
    ws_max_per_visitor: int = 8  # open sockets per visitor, per process
    ws_max_per_address: int = 256  # open sockets per client address, per process
    upload_body_timeout: float = 120.0  # seconds an upload body may take to arrive
    upload_idle_timeout: float = 30.0  # seconds an upload body may send nothing
    availability_ttl: float = 5.0
    parameters_ttl: float = 60.0
    poll_timeout: float = 30.0
    call_timeout: float = 10.0
    connect_timeout: float = 5.0
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    post_chat_survey: bool = False
    typing_preview: bool = False  # the visitor's draft goes with chat_session_typing (`msg`)
    lease_ttl: float = 10.0
    frames_per_minute: int = 240
    trusted_proxies: int = 0
    uploads_per_minute: int = 10
    ca_bundle: str | None = None
    tls_verify: bool = True
    chat_starts_per_hour: int = 10  # chats one visitor may start in any hour
    chat_starts_per_address_per_hour: int = 300  # chats one client address may start in any hour
    chat_idle_poll_seconds: float = 120.0  # a chat is polled this long after its last tab closed
    chat_log_max_events: int = 2000  # a chat's log takes no more visitor messages beyond this
    token_max_age: int = 7 * 24 * 3600  # seconds a page's token opens the chat
    file_link_max_age: int = 600  # seconds a minted download or photo link works
    metrics_allow: tuple[Network, ...] = LOOPBACK  # peers that may read /metrics
    theme_dir: Path | None = None  # templates/ and static/ that override ours
    log_format: str = "json"
    log_level: str = "INFO"
    # Serving, for gunicorn.conf.py: where to listen, how many workers, threads and sockets.
    bind: str = "127.0.0.1:8000"
    workers: int = 1
    threads: int = 256
    worker_class: str = "gevent"
    worker_connections: int = 10000 + PAGE_RESERVE
    ws_max_open: int = 10000  # open sockets per process; one more is refused with BUSY (4029)
    gc_freeze: bool = True  # long-lived objects kept out of the collector's walks (gcpolicy)
    gc_full_growth: float = 1.0  # memory growth that brings on a full collection
    forwarded_allow_ips: str = ""  # gunicorn's own X-Forwarded-* trust; ours is TRUSTED_PROXIES

    @property
    def verify(self) -> bool | str:
        """What requests gets as `verify`: always explicit, so REQUESTS_CA_BUNDLE and friends
        cannot silently change whom we trust; our CA file, the bundled roots, or False."""
        if not self.tls_verify:
            return False
        return self.ca_bundle or requests_ca_bundle()

    @property
    def graceful_timeout(self) -> int:
        """Whole seconds gunicorn gives a stopping worker: its held polls end and their leases
        go back, so another instance polls those chats at once."""
        return math.ceil(self.poll_timeout + SHUTDOWN_MARGIN)

    @property
    def demo(self) -> bool:
        """Without an upstream address the built-in simulator stands in for ServicePattern."""
        return self.sp_api_url is None

    def with_upstream(self, api_url: str, tenant_url: str, app_id: str) -> Settings:
        """The same settings pointed at a (simulated) upstream, as demo mode does at start."""
        return replace(self, sp_api_url=api_url, sp_tenant_url=tenant_url, sp_app_id=app_id)


def _proxies(env: Mapping[str, str]) -> int:
    raw = (env.get("TRUSTED_PROXIES") or "0").strip()
    if not raw.isdigit() or int(raw) > 5:
        raise SettingsError(f"TRUSTED_PROXIES: {raw!r} is not a number of proxies from 0 to 5")
    return int(raw)


def _serving(env: Mapping[str, str]) -> dict[str, Any]:
    """gunicorn's values: where to listen, and how many workers, threads and sockets."""
    worker_class = _choice(env, "WORKER_CLASS", WORKER_CLASSES, "gevent")
    if worker_class == "gevent":
        for module in ("gevent", "packaging"):  # both imported by gunicorn's gevent worker
            if importlib.util.find_spec(module) is None:
                raise SettingsError(
                    f"WORKER_CLASS: gevent needs {module} (pip install -r requirements.txt)"
                )
    threads = int(_number(env, "THREADS", 256, int))
    # A socket holds a thread (gthread) or one of the gevent pool's worker_connections while it
    # is open; the ceiling WS_MAX_OPEN keeps some for pages: an eighth of the threads (at most
    # 32), or PAGE_RESERVE connections.
    given = int(_number(env, "WORKER_CONNECTIONS", 0, int))  # 0: not given
    if worker_class == "gthread":
        max_open = int(_number(env, "WS_MAX_OPEN", threads - min(32, threads // 8), int))
        connections = given or threads + 64
        slots, name = threads, "THREADS"
    else:
        default = given - min(PAGE_RESERVE, given // 8) if given else 10000
        max_open = int(_number(env, "WS_MAX_OPEN", default, int))
        connections = given or max_open + PAGE_RESERVE
        slots, name = connections, "WORKER_CONNECTIONS"
    if max_open > slots:
        raise SettingsError(f"WS_MAX_OPEN: {max_open} sockets do not fit in {name} ({slots})")
    return {
        "bind": _bind(env),
        "workers": int(_number(env, "WEB_CONCURRENCY", 1, int)),
        "threads": threads,
        "worker_class": worker_class,
        "worker_connections": connections,
        "ws_max_open": max_open,
        "forwarded_allow_ips": _allow_ips(env),
    }


def gevent_settings(env: MutableMapping[str, str] | None = None) -> None:
    """gevent's own configuration, set before gevent reads it: no record of every greenlet's
    spawning stack (two dozen objects a chat, for debugging aids a chat server never uses),
    unless the operator asks for it with GEVENT_TRACK_GREENLET_TREE."""
    env = os.environ if env is None else env
    env.setdefault("GEVENT_TRACK_GREENLET_TREE", "false")


def load_or_exit(env: Mapping[str, str] | None = None, status: int = 2) -> Settings:
    """Settings for a process about to serve; on a bad value, one line on stderr naming it and
    exit `status`, with no traceback to bury it."""
    try:
        return load_settings(env)
    except SettingsError as error:
        print(f"webchat: configuration error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(status) from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `env` (default: os.environ); raise SettingsError naming the culprit."""
    env = os.environ if env is None else env
    api_url = (env.get("SP_API_URL") or "").strip() or None
    tenant = (env.get("SP_TENANT_URL") or "").strip()
    app_id = (env.get("SP_APP_ID") or "").strip()
    secret = env.get("SECRET_KEY") or ""
    if api_url is not None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"SP_API_URL: {api_url!r} is not an http(s) URL")
        api_url = api_url.rstrip("/")
        if not tenant:
            raise SettingsError("SP_TENANT_URL: required when SP_API_URL is set")
        if not app_id:
            raise SettingsError("SP_APP_ID: required when SP_API_URL is set")
        if '"' in app_id or "," in app_id:
            raise SettingsError("SP_APP_ID: must not contain quotes or commas")
        if not secret:
            raise SettingsError("SECRET_KEY: required when SP_API_URL is set")
    if secret and len(secret) < 16:
        raise SettingsError("SECRET_KEY: must be at least 16 characters")
    origins = tuple(
        _origin(item, "ALLOWED_ORIGINS") for item in (env.get("ALLOWED_ORIGINS") or "").split()
    )
    store_url = (env.get("STORE_URL") or "memory://").strip()
    scheme = urlsplit(store_url).scheme
    if scheme not in ("memory", "redis", "rediss", "redis+sentinel"):
        raise SettingsError(
            f"STORE_URL: {scheme!r} is not memory://, redis:// or redis+sentinel://"
        )
    if scheme == "redis+sentinel":
        from .store.sentinel import parse_sentinel_url

        try:
            parse_sentinel_url(store_url)
        except ValueError as error:
            raise SettingsError(f"STORE_URL: {error}") from None
    values: dict = {
        "sp_api_url": api_url,
        "sp_tenant_url": tenant,
        "sp_app_id": app_id,
        "allowed_origins": origins,
        "store_url": store_url,
        "max_message_chars": int(_number(env, "MAX_MESSAGE_CHARS", 4000, int)),
        "poll_timeout": _number(env, "SP_POLL_TIMEOUT", 30.0),
        "availability_ttl": _number(env, "AVAILABILITY_TTL", 5.0),
        "lease_ttl": _number(env, "LEASE_TTL", 10.0),
        "frames_per_minute": int(_number(env, "FRAMES_PER_MINUTE", 240, int)),
        "trusted_proxies": _proxies(env),
        "uploads_per_minute": int(_number(env, "UPLOADS_PER_MINUTE", 10, int)),
        "call_timeout": _number(env, "SP_CALL_TIMEOUT", 10.0),
        "ws_send_queue": int(_number(env, "WS_SEND_QUEUE", 256, int)),
        "ws_send_timeout": _number(env, "WS_SEND_TIMEOUT", 60.0),
        "ws_hello_timeout": _number(env, "WS_HELLO_TIMEOUT", 10.0),
        "ws_ping_interval": _number(env, "WS_PING_INTERVAL", 25.0),
        "ws_max_per_visitor": int(_number(env, "WS_MAX_PER_VISITOR", 8, int)),
        "ws_max_per_address": int(_number(env, "WS_MAX_PER_ADDRESS", 256, int)),
        "upload_body_timeout": _number(env, "UPLOAD_BODY_TIMEOUT", 120.0),
        "upload_idle_timeout": _number(env, "UPLOAD_IDLE_TIMEOUT", 30.0),
        "chat_starts_per_hour": int(_number(env, "CHAT_STARTS_PER_HOUR", 10, int)),
        "chat_starts_per_address_per_hour": int(
            _number(env, "CHAT_STARTS_PER_ADDRESS_PER_HOUR", 300, int)
        ),
        "chat_idle_poll_seconds": _number(env, "CHAT_IDLE_POLL_SECONDS", 120.0),
        "chat_log_max_events": int(_number(env, "CHAT_LOG_MAX_EVENTS", 2000, int)),
        "token_max_age": int(_number(env, "TOKEN_MAX_AGE", 7 * 24 * 3600, int)),
        "file_link_max_age": int(_number(env, "FILE_LINK_MAX_AGE", 600, int)),
    }
    values["metrics_allow"] = _networks(env, "METRICS_ALLOW", LOOPBACK)
    values["theme_dir"] = _theme_dir(env)
    values["log_format"] = _choice(env, "LOG_FORMAT", LOG_FORMATS, "json")
    values["log_level"] = _choice(env, "LOG_LEVEL", LOG_LEVELS, "INFO")
    values.update(_serving(env))
    values["post_chat_survey"] = _flag(env, "POST_CHAT_SURVEY")
    values["typing_preview"] = _flag(env, "TYPING_PREVIEW")
    values["tls_verify"] = _flag(env, "SP_TLS_VERIFY", default=True)
    values["gc_freeze"] = _flag(env, "GC_FREEZE", default=True)
    values["gc_full_growth"] = _number(env, "GC_FULL_GROWTH", 1.0)
    ca_bundle = (env.get("SP_CA_BUNDLE") or "").strip() or None
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise SettingsError(f"SP_CA_BUNDLE: {ca_bundle!r} is not a readable file")
    values["ca_bundle"] = ca_bundle
    if secret:
        values["secret_key"] = secret
    return Settings(**values)
