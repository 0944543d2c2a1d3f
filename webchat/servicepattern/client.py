"""The ServicePattern Mobile/Web API v1 client: one method per API method.

One `requests.Session` holds the connection pool for the whole process, but its own cookie jar
refuses everything: each call carries the calling visitor's jar explicitly and the cookies that
ServicePattern sets go back into that jar only. Every call has a (connect, read) timeout, and
every failure leaves here as an UpstreamError.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar

from .cookies import RefuseAllPolicy, cookie_header
from .errors import UpstreamError
from .http11 import Answer, HTTP11Client, TransportError, TransportTimeout, TransportTLSError
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

log = logging.getLogger(__name__)

AUTH_SCHEME = "MOBILE-API-140-327-PLAIN"
CLIENT_ID = "WebChat"


@dataclass
class Identity:
    """Who a call is made for: the visitor's cookie jar, and whether a call changed it."""

    jar: CookieJar = field(default_factory=RequestsCookieJar)
    user_agent: str | None = None
    cookies_changed: bool = False


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


class _CookieResponse:
    """What CookieJar.extract_cookies needs of an answer: its headers, via info()."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> Any:
        return self._answer.get_all(name) or default


def _as_requests_error(error: TransportError) -> requests.RequestException:
    """A lean-client failure as the requests error `_translate` explains."""
    if isinstance(error, TransportTimeout):
        wrapped: requests.RequestException = requests.Timeout(str(error))
    elif isinstance(error, TransportTLSError):
        wrapped = requests.exceptions.SSLError(str(error))
    else:
        wrapped = requests.ConnectionError(str(error))
    wrapped.__context__ = error
    return wrapped


def _reason(error: Exception) -> str:
    """The innermost cause of a requests error, in one short line."""
    while error.__context__ is not None and error.__context__ is not error:
        error = error.__context__  # type: ignore[assignment]
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


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
        self._tls_reported = False
        self.observer: Observer | None = None
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self.session = requests.Session()
        self.session.cookies = RequestsCookieJar(policy=RefuseAllPolicy())
        # The proxy variables (HTTPS_PROXY, NO_PROXY) are read once, here, not on every call:
        # with trust_env on, requests re-reads them and looks for ~/.netrc on each request,
        # about a fifth of a long poll's CPU (bench/README.md).
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(self.api_url)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The JSON calls, long polls above all, go through a lean HTTP/1.1 client when no
        # proxy is configured: a fifth of requests' CPU per call (bench/README.md). Proxied
        # calls, uploads and downloads use requests.
        self._lean: HTTP11Client | None = None
        if not self.session.proxies:
            ca = verify if verify is not True else requests.certs.where()
            self._lean = HTTP11Client(self.api_url, verify=ca, max_idle=pool_size)
        parts = urlsplit(self.api_url)
        self._base_path = parts.path
        self._secure = parts.scheme == "https"

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
        if self._lean is not None:
            reply = self._lean_call("POST", "/files", who, stream=body)
        else:
            reply = self._json(
                "POST", "/files", who, data=body, headers={"Content-Type": body.content_type}
            )
        file_id = reply.get("file_id")
        if isinstance(file_id, int) and not isinstance(file_id, bool):
            file_id = str(file_id)
        if not isinstance(file_id, str) or not file_id:
            raise UpstreamError("Upload File answered without a file_id", 200)
        name = reply.get("file_name")
        return UploadResult(file_id, name if isinstance(name, str) and name else filename)

    def get_file(self, who: Identity, chat_id: str, file_id: str) -> requests.Response:
        """An open streamed response with the file's bytes; the caller must close it."""
        return self._stream(f"/chats/{chat_id}/files/{file_id}", who)

    def get_photo(self, who: Identity, chat_id: str, party_id: str) -> requests.Response:
        """An open streamed response with an agent's photo; the caller must close it."""
        return self._stream(f"/chats/{chat_id}/profilephotos/{party_id}", who)

    # -- transport ---------------------------------------------------------------------

    def _headers(self, who: Identity, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {
            "Authorization": self.auth,
            "Accept": "application/json",
            "Cache-Control": "no-cache",
            "User-Agent": _header_value(who.user_agent) or self.user_agent,
        }
        if extra:
            headers.update(extra)
        return headers

    def _send(
        self,
        method: str,
        path: str,
        who: Identity,
        *,
        tenant: bool = True,
        bust: bool = False,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        params = self._params(tenant, bust)
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                self.api_url + path,
                params=params,
                headers=self._headers(who, headers),
                cookies=who.jar,
                timeout=timeout or self.timeout,
                allow_redirects=False,
                stream=stream,
                verify=self.verify,
                **kwargs,
            )
        except requests.RequestException as error:
            self._observe(method, path, started, None)
            raise self._translate(method, path, error) from None
        self._observe(method, path, started, response.status_code)
        return self._check(response, who)

    def _params(self, tenant: bool, bust: bool) -> dict[str, str]:
        """The query every call carries: the tenant, and a cache-buster on GETs that ask."""
        params: dict[str, str] = {}
        if tenant:
            params["tenantUrl"] = self.tenant_url
        if bust:
            params["timestamp"] = str(int(time.time() * 1000))
        return params

    def _check(self, response: requests.Response, who: Identity) -> requests.Response:
        """Keep the cookies it set; turn anything but 200 into an UpstreamError."""
        if response.headers.get("Set-Cookie"):
            extract_cookies_to_jar(who.jar, response.request, response.raw)
            who.cookies_changed = True
        if response.status_code != 200:
            try:
                error = parse_error(response.content, response.status_code)
            finally:
                response.close()
            raise error
        return response

    def _translate(self, method: str, path: str, error: Exception) -> UpstreamError:
        """A transport failure as an UpstreamError (a TLS failure explained once, loudly)."""
        if isinstance(error, requests.Timeout):
            return UpstreamError(f"ServicePattern did not answer {method} {path} in time")
        if isinstance(error, requests.exceptions.SSLError):
            if self._tls_reported:
                return UpstreamError("ServicePattern's TLS certificate did not verify")
            self._tls_reported = True
            message = (
                "ServicePattern's TLS certificate did not verify; if it is signed by a private "
                f"CA, set SP_CA_BUNDLE to that CA's PEM file ({_reason(error)})"
            )
            log.error(message)
            return UpstreamError(message)
        return UpstreamError(f"ServicePattern unreachable: {type(error).__name__}")

    def _json(self, method: str, path: str, who: Identity, **kwargs: Any) -> dict[str, Any]:
        if self._lean is not None and "data" not in kwargs:
            return self._lean_call(method, path, who, **kwargs)
        response = self._send(method, path, who, **kwargs)
        try:
            return parse_body(response.content, response.status_code)
        except requests.RequestException:
            raise UpstreamError(f"ServicePattern broke off its answer to {method} {path}") from None

    def _lean_call(
        self,
        method: str,
        path: str,
        who: Identity,
        *,
        bust: bool = False,
        timeout: tuple[float, float] | None = None,
        json: Any = None,
        stream: MultipartFile | None = None,
    ) -> dict[str, Any]:
        """A call through the lean client: the same headers, cookies, timeouts, errors and
        observations as the requests path; a `stream` body is sent as the file is read."""
        lean = self._lean
        assert lean is not None
        target = f"{self._base_path}{path}?{urlencode(self._params(True, bust))}"
        headers = self._headers(who, None)
        cookie = cookie_header(who.jar, lean.host, self._base_path + path, self._secure)
        if cookie:
            headers["Cookie"] = cookie
        body = None
        if json is not None:
            body = _dumps(json)
            headers["Content-Type"] = "application/json"
        elif method == "POST" and stream is None:
            body = b""
        started = time.monotonic()
        try:
            if stream is not None:
                headers["Content-Type"] = stream.content_type
                answer = lean.send_stream(
                    method, target, headers, stream.chunks(), len(stream), timeout or self.timeout
                )
            else:
                answer = lean.request(method, target, headers, body, timeout or self.timeout)
        except TransportError as error:
            self._observe(method, path, started, None)
            raise self._translate(method, path, _as_requests_error(error)) from None
        self._observe(method, path, started, answer.status)
        if answer.get_all("set-cookie"):
            url = f"{self.api_url}{path}"
            who.jar.extract_cookies(_CookieResponse(answer), urllib.request.Request(url))
            who.cookies_changed = True
        if answer.status != 200:
            raise parse_error(answer.body, answer.status)
        return parse_body(answer.body, answer.status)

    def _stream(self, path: str, who: Identity) -> requests.Response:
        return self._send("GET", path, who, tenant=False, stream=True)

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
        self.session.close()
        if self._lean is not None:
            self._lean.close()


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def _header_value(value: str | None) -> str | None:
    """A browser-given header value (the User-Agent) made safe to forward: control characters,
    CR and LF above all, become spaces, and it is cut at 512 characters."""
    if not value:
        return None
    return _CONTROL.sub(" ", value)[:512].strip() or None


def _dumps(value: Any) -> bytes:
    """JSON as requests sends it (no NaN, ASCII-escaped)."""
    return json.dumps(value, allow_nan=False).encode()
