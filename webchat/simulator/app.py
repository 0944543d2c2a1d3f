"""Flask routes for the ten v1 methods; all state and rules live in the Simulator."""

from __future__ import annotations

import contextlib
import html
import json
import socket
import time
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from .agent_page import PAGE as AGENT_PAGE
from .clients import CLIENT_COOKIE
from .errors import ApiError, file_not_found
from .faults import Fault
from .images import AGENT_PHOTO
from .protocol import parse_auth
from .simulator import Simulator
from .uploads import read_first_file

PREFIX = "/clientweb/api/v1"
AGENT = "/agent/"
AGENT_SIGNALS = (
    "OFFER_CALL",
    "ANSWER_CALL",
    "ICE_CANDIDATE",
    "END_CALL",
    "CALL_REJECTED",
    "CALL_STATE",
)
# Endpoints whose documented URL carries ?tenantUrl= (file and photo downloads do not).
NEEDS_TENANT = {
    "availability",
    "parameters",
    "request_chat",
    "active_chat",
    "send_events",
    "poll_events",
    "history",
    "upload",
}
# Downloads a WebChat client may make by its cookies alone: Bright Pattern's browser client
# puts their URLs straight into <img src> and links, which send no Authorization header.
COOKIE_ONLY = {"get_file", "profile_photo"}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


def _error(exc: ApiError) -> Response:
    return _json(exc.body(), exc.status)


def _fault_response(fault: Fault) -> Response:
    body = fault.body
    if body is None:
        if fault.status < 400:
            return Response(b"", fault.status)
        body = json.dumps({"error_code": "5955", "error_message": "Injected failure"})
    data = body.encode() if isinstance(body, str) else body
    ctype = "text/html" if data.lstrip().startswith(b"<") else "application/json"
    return Response(data, fault.status, content_type=ctype)


def _drop_connection() -> None:
    """Cut the request's connection now: the caller gets no byte of an answer."""
    conn = request.environ.get("werkzeug.socket")
    if conn is not None:
        with contextlib.suppress(OSError):  # already gone
            conn.shutdown(socket.SHUT_RDWR)


def create_app(sim: Simulator) -> Flask:
    """Build the Flask app bound to one Simulator."""
    app = Flask("webchat.simulator")
    cfg = sim.config

    @app.before_request
    def gatekeeper() -> Response | None:
        g.set_cookies = {}
        if request.path.startswith(AGENT):  # the agent's side: no API rules, not logged
            return None
        g.drop = sim.faults.take_drop(request.path, request.method)
        if g.drop == "unread":
            sim.count_drop()
            _drop_connection()
            return Response(b"", 503)
        seconds, fault = sim.faults.take(request.path, request.method)
        if seconds:
            sim.sleep(seconds)
        if fault is not None:
            return _fault_response(fault)
        header = request.headers.get("Authorization")
        if header is None and request.endpoint in COOKIE_ONLY:
            client = sim.cookie_client(request.cookies.to_dict())
            if client is None:
                raise ApiError(
                    401,
                    "2000",
                    "Authorization header missing",
                    f"{request.path}: no Authorization header and no known client cookie",
                )
            g.client = client
            return None
        client_id = parse_auth(header, cfg.app_id)
        if request.endpoint in NEEDS_TENANT:
            tenant = request.args.get("tenantUrl")
            if tenant != cfg.tenant_url:
                what = "missing" if tenant is None else f"wrong ({tenant!r})"
                raise ApiError(
                    400,
                    "1000",
                    "tenantUrl missing or invalid",
                    f"{request.method} {request.path}: tenantUrl {what}",
                )
        g.client, g.set_cookies = sim.identify(client_id, request.cookies.to_dict())
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        if request.path.startswith(AGENT):
            return response
        if getattr(g, "drop", None) == "handled":
            sim.count_drop()
            _drop_connection()
        for name, value in getattr(g, "set_cookies", {}).items():
            response.set_cookie(name, value, path="/", httponly=name == CLIENT_COOKIE)
        sim.log_request(
            {
                "time": time.time(),
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(),
                "headers": dict(request.headers),
                "status": response.status_code,
            }
        )
        return response

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        if exc.violation:
            sim.violation(exc.violation)
        return _error(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        sim.violation(f"{request.method} {request.path}: {exc.code} {exc.name}")
        code = exc.code or 500
        return _json({"error_code": "5955", "error_message": exc.name}, code)

    def json_body(required: bool) -> dict[str, Any]:
        ctype = request.mimetype
        raw = request.get_data(cache=False)
        if not raw.strip() and not required:
            return {}
        if ctype != "application/json":
            sim.violation(f"{request.method} {request.path}: Content-Type {ctype!r}")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ApiError(
                400, "5003", "Request body is not valid JSON", f"{request.path}: body not JSON"
            ) from exc
        if not isinstance(body, dict):
            raise ApiError(400, "5003", "Expected a JSON object", f"{request.path}: not an object")
        return body

    @app.get(f"{PREFIX}/availability", endpoint="availability")
    def availability() -> Response:
        return _json({"chat": cfg.availability})

    @app.get(f"{PREFIX}/parameters", endpoint="parameters")
    def parameters() -> Response:
        if cfg.parameter_shape == "single_key":
            items = [{name: kind} for name, kind in cfg.parameters]
        else:
            items = [{"name": name, "type": kind} for name, kind in cfg.parameters]
        return _json({"parameters": items})

    @app.post(f"{PREFIX}/chats", endpoint="request_chat")
    def request_chat() -> Response:
        body = json_body(required=False)
        chat, is_new, cookies = sim.request_chat(g.client, body)
        g.set_cookies.update(cookies)
        phone = body.get("phone_number")
        return _json(
            {
                "chat_id": chat.chat_id,
                "state": chat.state,
                "ewt": cfg.ewt,
                "is_new_chat": is_new,
                "phone_number": phone if isinstance(phone, str) else "",
            }
        )

    @app.get(f"{PREFIX}/chats/active", endpoint="active_chat")
    def active_chat() -> Response:
        chat = sim.active_chat(g.client)
        if chat is None:
            return _json({"error_code": "5005", "error_message": "No active chat"}, 404)
        phone = chat.request_body.get("phone_number")
        return _json(
            {
                "chat_id": chat.chat_id,
                "state": chat.state,
                "ewt": cfg.ewt,
                "phone_number": phone if isinstance(phone, str) else "",
            }
        )

    @app.post(f"{PREFIX}/chats/<chat_id>/events", endpoint="send_events")
    def send_events(chat_id: str) -> Response:
        events = json_body(required=True).get("events")
        if not isinstance(events, list):
            raise ApiError(400, "5003", "Missing events array", f"{request.path}: no events list")
        drained = sim.post_events(g.client, chat_id, events)
        return Response(b"", 200) if drained is None else _json({"events": drained})

    @app.get(f"{PREFIX}/chats/<chat_id>/events", endpoint="poll_events")
    def poll_events(chat_id: str) -> Response:
        events = sim.poll(g.client, chat_id)
        if events is None:
            return Response(b"", 200, content_type="application/json")
        return _json({"events": events})

    @app.get(f"{PREFIX}/chats/<chat_id>/history", endpoint="history")
    def history(chat_id: str) -> Response:
        return _json({"events": sim.history(g.client, chat_id)})

    @app.post(f"{PREFIX}/files", endpoint="upload")
    def upload() -> Response:
        got = read_first_file(request.stream, request.content_type, cfg.max_upload)
        record = sim.store_file(got.file_name, got.data, got.content_type, uploader=g.client.key)
        return _json({"file_id": record.file_id, "file_name": record.file_name})

    @app.get(f"{PREFIX}/chats/<chat_id>/files/<file_id>", endpoint="get_file")
    def get_file(chat_id: str, file_id: str) -> Response:
        record = sim.get_file(g.client, chat_id, file_id)
        if record is None:
            raise file_not_found(file_id)
        return Response(record.data, 200, content_type=record.content_type)

    @app.get(f"{PREFIX}/chats/<chat_id>/profilephotos/<party_id>", endpoint="profile_photo")
    def profile_photo(chat_id: str, party_id: str) -> Response:
        if not sim.has_photo(g.client, chat_id, party_id):
            return _json({"error_code": "5005", "error_message": "Party not found"}, 404)
        return Response(AGENT_PHOTO, 200, content_type="image/png")

    # -- the agent's side of calls (agent_page.py): not part of the API --------------------

    def agent_chat(chat_id: str) -> Any:
        try:
            return sim.chat(chat_id)
        except KeyError:
            raise ApiError(404, "5005", "No such chat") from None

    @app.get(AGENT)
    def agent_chats() -> Response:
        """The live chats, each a link to its agent page (demo mode logs this address)."""
        items = "".join(
            f'<li><a href="{AGENT}{html.escape(c.chat_id)}">'
            f"{html.escape(c.customer_first_name() or c.chat_id)}</a></li>"
            for c in sim.chats()
            if c.live
        )
        page = f"<!doctype html><title>Agent: chats</title><h1>Live chats</h1><ul>{items}</ul>"
        return Response(page, 200, content_type="text/html; charset=utf-8")

    @app.get(f"{AGENT}<chat_id>")
    def agent_page(chat_id: str) -> Response:
        agent_chat(chat_id)
        return Response(AGENT_PAGE, 200, content_type="text/html; charset=utf-8")

    @app.get(f"{AGENT}<chat_id>/signals")
    def agent_signals(chat_id: str) -> Response:
        chat = agent_chat(chat_id)
        after = request.args.get("after", "0")
        wait = request.args.get("wait", "8")
        if not after.isdigit() or not wait.isdigit():
            raise ApiError(400, "5003", "after and wait are whole numbers")
        signals, next_after = sim.visitor_signals(chat_id, int(after), min(int(wait), 20))
        return _json({"signals": signals, "next": next_after, "ended": chat.ended})

    @app.post(f"{AGENT}<chat_id>/signal")
    def agent_signal(chat_id: str) -> Response:
        agent_chat(chat_id)
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or data.get("type") not in AGENT_SIGNALS:
            raise ApiError(400, "5003", "data.type must be one of " + ", ".join(AGENT_SIGNALS))
        try:
            sim.agent_signal(chat_id, data)
        except ValueError:
            raise ApiError(404, "5005", "The chat has ended") from None
        return Response(b"", 204)

    return app
