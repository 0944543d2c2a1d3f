"""The `/ws` chat channel, and the Origin check that must run before its handshake.

flask-sock completes the WebSocket handshake before the view runs, so a foreign Origin is
refused in `before_request`, while a 403 is still an ordinary HTTP answer. So is a socket
over the caps per visitor or per address (429 `too_many_sockets`): its slot is counted there
and given back when the request ends, however it ends. A socket past the process's ceiling
(WS_MAX_OPEN) is accepted and closed at once with 4029, which the widget shows as "busy".
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_sock import Sock

from ..fdlimit import socket_ceiling
from ..limits import FrameLimiter, StartLimiter
from ..sockets import SocketCaps, SocketSession, rawsocket
from ..sockets.registry import BUSY
from ..visitor import bound_visitor
from .errors import api_error

sock = Sock()


def allowed_origins(app: Flask) -> set[str]:
    """Our own origin (the chat page in the iframe is ours) and the configured ones."""
    configured = app.config["WEBCHAT_SETTINGS"].allowed_origins
    return {request.host_url.rstrip("/").lower(), *configured}


def check_socket() -> Response | None:
    """before_request, before the handshake: only our chat page, from an allowed origin and
    holding the visitor's token, may open the chat socket."""
    if request.path != "/ws":
        return None
    origin = (request.headers.get("Origin") or "").rstrip("/").lower()
    if origin not in allowed_origins(current_app):
        return api_error(403, "forbidden_origin", "This site may not open the chat.")
    visitor_id = bound_visitor(request, current_app, query=True)
    if visitor_id is None:
        return api_error(403, "forbidden_token", "Reload the chat page to continue.")
    slot = current_app.extensions["webchat.socket_caps"].acquire(visitor_id, request.remote_addr)
    if slot is None:
        return api_error(429, "too_many_sockets", "Too many chat windows are open. Close some.")
    g.socket_visitor = visitor_id
    g.socket_slot = slot
    return None


def release_socket(error: BaseException | None = None) -> None:
    """teardown_request: the socket's slot goes back when its request ends, however it ends."""
    slot = g.pop("socket_slot", None)
    if slot is not None:
        slot.release()


@sock.route("/ws", endpoint="chat_socket")
def chat_socket(ws: Any) -> None:
    """One tab's socket; its visitor comes from the cookie (unknown cookie: a new visitor)."""
    settings = current_app.config["WEBCHAT_SETTINGS"]
    visitor_id = g.socket_visitor
    registry = current_app.extensions["webchat.sockets"]
    if not registry.admit(ws):
        # At the ceiling: a close code, not a refused handshake, so the widget can say "busy".
        ws.close(reason=BUSY, message="busy; retry later")
        rawsocket.release(ws)
        return
    try:
        session = SocketSession(
            ws,
            current_app.extensions["webchat.relay"],
            visitor_id,
            settings.max_message_chars,
            request.headers.get("User-Agent"),
            current_app.extensions["webchat.frame_limiter"],
            queue_limit=settings.ws_send_queue,
            send_timeout=settings.ws_send_timeout,
            hello_timeout=settings.ws_hello_timeout,
            starts=current_app.extensions["webchat.start_limiter"],
            address=request.remote_addr,
            typing_preview=settings.typing_preview,
        )
        forget_parsed(request)
        session.serve()
    finally:
        registry.discard(ws)
        rawsocket.release(ws)


def forget_parsed(req: Any) -> None:
    """The socket's query (its token) and cookies were read before the chat began; Werkzeug
    keeps both parsed (a dict of lists apiece, its cached properties) for as long as the
    request lives, which for a socket is the whole chat. Dropped, they would be parsed again
    if read."""
    for name in ("args", "cookies"):
        req.__dict__.pop(name, None)


def init_app(app: Flask) -> None:
    """Bind the socket route and its Origin check to the app."""
    settings = app.config["WEBCHAT_SETTINGS"]
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {
            "ping_interval": settings.ws_ping_interval,
            "max_message_size": settings.ws_max_frame_bytes,
            "thread_class": rawsocket.reader_threads(settings.ws_send_timeout),
            "selector_class": rawsocket.OneSocketSelector,
        },
    )
    # The ceiling of open sockets: the registry (app.py) counts them, this route admits them.
    # Fewer where the open-files limit cannot hold WS_MAX_OPEN sockets (webchat/fdlimit.py).
    app.extensions["webchat.sockets"].max_open = socket_ceiling(settings.ws_max_open)
    app.before_request(check_socket)
    app.teardown_request(release_socket)
    app.extensions["webchat.socket_caps"] = SocketCaps(
        settings.ws_max_per_visitor, settings.ws_max_per_address
    )
    app.extensions["webchat.frame_limiter"] = FrameLimiter(
        settings.store_url, settings.frames_per_minute
    )
    app.extensions["webchat.start_limiter"] = StartLimiter(
        settings.store_url, settings.chat_starts_per_hour, settings.chat_starts_per_address_per_hour
    )
    sock.init_app(app)
