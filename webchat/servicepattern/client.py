"""The ServicePattern Mobile/Web API v1 client: one method per API method.

One `requests.Session` holds the connection pool for the whole process, but its own cookie jar
refuses everything: each call carries the calling visitor's jar explicitly and the cookies that
ServicePattern sets go back into that jar only. Every call has a (connect, read) timeout, and
every failure leaves here as an UpstreamError.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from typing import Any, BinaryIO
from urllib.parse import urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar

from .cookies import RefuseAllPolicy
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


def _poll_pool(size: int, verify: bool | str) -> urllib3.PoolManager:
    """The connection pool for direct polls, verifying TLS exactly as the requests path does."""
    if verify is False:
        return urllib3.PoolManager(num_pools=4, maxsize=size, cert_reqs="CERT_NONE")
    ca = verify if isinstance(verify, str) else requests.certs.where()
    return urllib3.PoolManager(num_pools=4, maxsize=size, cert_reqs="CERT_REQUIRED", ca_certs=ca)


class _CookieResponse:
    """What CookieJar.extract_cookies needs of a response: its headers, via info()."""

    def __init__(self, headers: Any) -> None:
        self._headers = headers

    def info(self) -> _CookieResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> Any:
        return self._headers.getlist(name) or default


def _as_requests_error(error: Exception) -> requests.RequestException:
    """A urllib3 failure as the requests error `_translate` explains."""
    if isinstance(error, urllib3.exceptions.TimeoutError):
        wrapped: requests.RequestException = requests.Timeout(str(error))
    elif isinstance(error, urllib3.exceptions.SSLError) or "SSL" in type(
        getattr(error, "reason", None) or error
    ).__name__:
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
        # Long polls are most of the calls: without a proxy they go through urllib3 directly,
        # skipping requests' per-call preparation (about half a poll's CPU, bench/README.md).
        self._polls = None if self.session.proxies else _poll_pool(pool_size, verify)

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
            if self._polls is None:
                body = self._json("GET", path, who, bust=True, timeout=self.poll_timeout)
            else:
                body = self._direct_get(path, who)
        finally:
            with self._count_lock:
                self._in_flight -= 1
        return parse_events(body, 200)

    def _direct_get(self, path: str, who: Identity) -> dict[str, Any]:
        """A GET through urllib3 with the visitor's jar: same headers, cookies, timeouts and
        errors as the requests path, a fraction of its CPU."""
        query = urlencode({"tenantUrl": self.tenant_url, "timestamp": int(time.time() * 1000)})
        url = f"{self.api_url}{path}?{query}"
        cookie_request = urllib.request.Request(url)
        who.jar.add_cookie_header(cookie_request)
        headers = self._headers(who, None)
        cookie = cookie_request.get_header("Cookie")
        if cookie:
            headers["Cookie"] = cookie
        started = time.monotonic()
        try:
            response = self._polls.request(  # type: ignore[union-attr]
                "GET",
                url,
                headers=headers,
                timeout=urllib3.Timeout(connect=self.poll_timeout[0], read=self.poll_timeout[1]),
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.HTTPError as error:
            self._observe("GET", path, started, None)
            raise self._translate("GET", path, _as_requests_error(error)) from None
        self._observe("GET", path, started, response.status)
        if response.headers.getlist("Set-Cookie"):
            who.jar.extract_cookies(_CookieResponse(response.headers), cookie_request)
            who.cookies_changed = True
        if response.status != 200:
            raise parse_error(response.data, response.status)
        return parse_body(response.data, response.status)

    def upload_file(
        self, who: Identity, data: BinaryIO, size: int, filename: str, content_type: str
    ) -> UploadResult:
        """Stream a file up (never whole in memory); it is shared by a later file event."""
        body = MultipartFile("file", filename, content_type, data, size)
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
            "User-Agent": who.user_agent or self.user_agent,
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
        params: dict[str, str] = {}
        if tenant:
            params["tenantUrl"] = self.tenant_url
        if bust:
            params["timestamp"] = str(int(time.time() * 1000))
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
        response = self._send(method, path, who, **kwargs)
        try:
            return parse_body(response.content, response.status_code)
        except requests.RequestException:
            raise UpstreamError(f"ServicePattern broke off its answer to {method} {path}") from None

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
