"""The ServicePattern Mobile/Web API v1 client: one method per API method.

Every call goes through the one Transport (transport.py), whose pool serves the whole process;
it keeps no cookies: each call carries the calling visitor's jar's cookies and the cookies that
ServicePattern sets go back into that jar only. Every call has a (connect, read) timeout, and
every failure leaves here as an UpstreamError.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

import requests

from .cookies import Identity, keep_cookies
from .errors import UpstreamError
from .multipart import MultipartFile
from .parse import (
    ChatInfo,
    parse_availability,
    parse_body,
    parse_chat_info,
    parse_error,
    parse_events,
    parse_parameters,
)
from .transport import Streamed, Transport

log = logging.getLogger(__name__)

AUTH_SCHEME = "MOBILE-API-140-327-PLAIN"
CLIENT_ID = "WebChat"


@dataclass(frozen=True)
class UploadResult:
    """What Upload File answers."""

    file_id: str
    file_name: str


Observer = Callable[[str, float, "int | None", bool], None]


def operation(method: str, path: str) -> str:
    """A short, bounded name for a call, for metrics (never the ids in the path)."""
    if path.endswith("/events"):
        return "poll" if method == "GET" else "send_events"
    for suffix, name in (
        ("/availability", "availability"),
        ("/parameters", "parameters"),
        ("/chats/active", "active_chat"),
        ("/history", "history"),
    ):
        if path.endswith(suffix):
            return name
    if "/profilephotos/" in path:
        return "photo"
    if "/files/" in path:
        return "file"
    return {"/chats": "request_chat", "/files": "upload"}.get(path, "other")


class ServicePatternClient:
    """Calls the ten API methods for a tenant and scenario entry (appId)."""

    def __init__(
        self,
        api_url: str,
        tenant_url: str,
        app_id: str,
        *,
        connect_timeout: float = 5.0,
        call_timeout: float = 10.0,
        poll_timeout: float = 30.0,
        pool_size: int = 1000,
        user_agent: str = "webchat-bff",
        verify: bool | str = True,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.tenant_url = tenant_url
        self.auth = f'{AUTH_SCHEME} appId="{app_id}", clientId="{CLIENT_ID}"'
        self.timeout = (connect_timeout, call_timeout)
        self.poll_timeout = (connect_timeout, poll_timeout)
        self.user_agent = user_agent
        self.verify = verify
        self.observer: Observer | None = None
        self._in_flight = 0
        self._count_lock = threading.Lock()
        # The proxy variables (HTTPS_PROXY, NO_PROXY) are read once, here, not on every call.
        self.transport = Transport(
            self.api_url,
            verify=verify if verify is not True else requests.certs.where(),
            proxies=requests.utils.get_environ_proxies(self.api_url),
            pool_size=pool_size,
        )
        self._base_path = urlsplit(self.api_url).path
        self._tenant_query = urlencode({"tenantUrl": tenant_url})

    # -- the ten API methods -------------------------------------------------------------

    def check_availability(self) -> str:
        """'available' or 'notAvailable' for the chat service (made for no visitor)."""
        return parse_availability(self._json("GET", "/availability", Identity(), bust=True))

    def expected_parameters(self) -> list[dict[str, str]]:
        """The scenario entry's pre-chat fields as `[{"name", "type"}]`."""
        return parse_parameters(self._json("GET", "/parameters", Identity(), bust=True))

    def request_chat(
        self,
        who: Identity,
        parameters: dict[str, str] | None = None,
        phone_number: str | None = None,
        from_: str | None = None,
    ) -> ChatInfo:
        """Start a chat, or get the visitor's live one back with is_new_chat False."""
        body: dict[str, Any] = {"parameters": parameters or {}}
        if phone_number:
            body["phone_number"] = phone_number
        if from_:
            body["from"] = from_
        return parse_chat_info(self._json("POST", "/chats", who, json=body), 200)

    def get_active_chat(self, who: Identity) -> ChatInfo | None:
        """The visitor's live chat, or None (a 404 means none, as the reference client reads it)."""
        try:
            return parse_chat_info(self._json("GET", "/chats/active", who, bust=True), 200)
        except UpstreamError as error:
            if error.gone:
                return None
            raise

    def send_events(self, who: Identity, chat_id: str, events: list[dict[str, Any]]) -> list[dict]:
        """Post client events; returns server events piggy-backed on the reply (often none)."""
        body = self._json("POST", f"/chats/{chat_id}/events", who, json={"events": events})
        return parse_events(body, 200)

    def get_chat_history(self, who: Identity, chat_id: str) -> list[dict[str, Any]]:
        """Every event of the chat so far, the visitor's own included."""
        return parse_events(self._json("GET", f"/chats/{chat_id}/history", who, bust=True), 200)

    def get_new_events(self, who: Identity, chat_id: str) -> list[dict[str, Any]]:
        """The long poll: held upstream for up to ~15 s, then new events or none."""
        path = f"/chats/{chat_id}/events"
        with self._count_lock:
            self._in_flight += 1
        try:
            body = self._json("GET", path, who, bust=True, timeout=self.poll_timeout)
        finally:
            with self._count_lock:
                self._in_flight -= 1
        return parse_events(body, 200)

    def upload_file(
        self, who: Identity, data: BinaryIO, size: int, filename: str, content_type: str
    ) -> UploadResult:
        """Stream a file up (never whole in memory); it is shared by a later file event."""
        body = MultipartFile("file", filename, content_type, data, size)
        reply = self._json("POST", "/files", who, upload=body)
        file_id = reply.get("file_id")
        if isinstance(file_id, int) and not isinstance(file_id, bool):
            file_id = str(file_id)
        if not isinstance(file_id, str) or not file_id:
            raise UpstreamError("Upload File answered without a file_id", 200)
        name = reply.get("file_name")
        return UploadResult(file_id, name if isinstance(name, str) and name else filename)

    def get_file(self, who: Identity, chat_id: str, file_id: str) -> Streamed:
        """An open streamed answer with the file's bytes; the caller must close it."""
        return self._stream(f"/chats/{chat_id}/files/{file_id}", who)

    def get_photo(self, who: Identity, chat_id: str, party_id: str) -> Streamed:
        """An open streamed answer with an agent's photo; the caller must close it."""
        return self._stream(f"/chats/{chat_id}/profilephotos/{party_id}", who)

    # -- transport ---------------------------------------------------------------------

    def _headers(self, who: Identity, url: str) -> dict[str, str]:
        headers = {
            "Authorization": self.auth,
            "Accept": "application/json",
            "Cache-Control": "no-cache",
            "User-Agent": _header_value(who.user_agent) or self.user_agent,
        }
        cookie = who.cookie_header(url)
        if cookie:
            headers["Cookie"] = cookie
        return headers

    def _params(self, tenant: bool, bust: bool) -> dict[str, str]:
        """The query every call carries: the tenant, and a cache-buster on GETs that ask."""
        params: dict[str, str] = {}
        if tenant:
            params["tenantUrl"] = self.tenant_url
        if bust:
            params["timestamp"] = str(int(time.time() * 1000))
        return params

    def _query(self, tenant: bool, bust: bool) -> str:
        """`_params` as a query string; the tenant's part is encoded once, the timestamp's
        digits need no encoding."""
        query = self._tenant_query if tenant else ""
        if bust:
            stamp = f"timestamp={int(time.time() * 1000)}"
            query = f"{query}&{stamp}" if query else stamp
        return query

    def _send(
        self,
        method: str,
        path: str,
        who: Identity,
        *,
        tenant: bool = True,
        bust: bool = False,
        timeout: tuple[float, float] | None = None,
        json: Any = None,
        upload: MultipartFile | None = None,
    ) -> Streamed:
        """One call with the visitor's headers and cookies, observed; the cookies it sets are
        kept in the visitor's jar; anything but a 200 is an UpstreamError."""
        url = self.api_url + path
        query = self._query(tenant, bust)
        target = f"{self._base_path}{path}?{query}" if query else self._base_path + path
        headers = self._headers(who, url)
        body = None
        if json is not None:
            body = _dumps(json)
            headers["Content-Type"] = "application/json"
        elif method == "POST" and upload is None:
            body = b""
        timeout = timeout or self.timeout
        transport = self.transport
        started = time.monotonic()
        try:
            if upload is not None:
                headers["Content-Type"] = upload.content_type
                answer = transport.upload(
                    method, target, headers, upload.chunks(), len(upload), timeout
                )
            else:
                answer = transport.open(method, target, headers, body, timeout)
        except UpstreamError:
            self._observe(method, path, started, None)
            raise
        self._observe(method, path, started, answer.status)
        if "set-cookie" in answer.headers and keep_cookies(who.jar, url, answer.headers):
            who.cookies_changed = True
        if answer.status != 200:
            try:
                text = answer.read_all(64 * 1024)
            finally:
                answer.close()
            raise parse_error(text, answer.status)
        return answer

    def _json(self, method: str, path: str, who: Identity, **kwargs: Any) -> dict[str, Any]:
        answer = self._send(method, path, who, **kwargs)
        try:
            body = answer.read_all()
        finally:
            answer.close()
        return parse_body(body, answer.status)

    def _stream(self, path: str, who: Identity) -> Streamed:
        return self._send("GET", path, who, tenant=False)

    @property
    def polls_in_flight(self) -> int:
        """Long polls waiting on ServicePattern right now."""
        return self._in_flight

    def _observe(self, method: str, path: str, started: float, status: int | None) -> None:
        if self.observer is not None:
            self.observer(
                operation(method, path), time.monotonic() - started, status, status == 200
            )

    def close(self) -> None:
        """Release pooled connections."""
        self.transport.close()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _header_value(value: str | None) -> str | None:
    """A browser-given header value (the User-Agent) made safe to forward: control characters,
    CR and LF above all, become spaces, and it is cut at 512 characters."""
    if not value:
        return None
    return _CONTROL.sub(" ", value)[:512].strip() or None


def _dumps(value: Any) -> bytes:
    """JSON with no NaN, ASCII-escaped."""
    return json.dumps(value, allow_nan=False).encode()
