"""`redis+sentinel://` store URLs: which sentinels to ask, for which primary, in which database.

    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?sentinel_password=…]

The password (and user) authenticate to the Redis primary and replicas; sentinels are asked
without one unless `sentinel_password` is given (redis-py's own default). A sentinel port
defaults to 26379. Parsed without redis-py, so settings can refuse a bad URL with one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

SCHEME = "redis+sentinel"
DEFAULT_PORT = 26379


@dataclass(frozen=True)
class SentinelURL:
    """A parsed `redis+sentinel://` URL."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)

    def auth(self) -> dict[str, Any]:
        """Credentials for the Redis primary and replicas (none when the URL has none)."""
        found = {"username": self.username, "password": self.password}
        return {k: v for k, v in found.items() if v}

    def sentinel_auth(self) -> dict[str, Any]:
        """Credentials for the sentinels themselves."""
        return {"password": self.sentinel_password} if self.sentinel_password else {}


def _host_port(item: str) -> tuple[str, int]:
    parts = urlsplit(f"//{item.strip()}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ValueError(f"{item.strip()!r} has no valid port") from None
    if not parts.hostname:
        raise ValueError(f"{item.strip()!r} is not host:port")
    return parts.hostname, port


def parse_sentinel_url(url: str) -> SentinelURL:
    """Parse a sentinel URL; ValueError with a short reason when it is malformed."""
    parts = urlsplit(url)
    if parts.scheme != SCHEME:
        raise ValueError(f"scheme must be {SCHEME}://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    if not hosts:
        raise ValueError("no sentinel host:port given")
    sentinels = tuple(_host_port(item) for item in hosts.split(","))
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise ValueError("the path must be /service_name or /service_name/db")
    db = 0
    if len(path) == 2:
        if not path[1].isdigit():
            raise ValueError(f"database {path[1]!r} is not a number")
        db = int(path[1])
    username, password = None, None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"sentinel_password"})
    if unknown:
        raise ValueError(f"unknown option {unknown[0]!r} (only sentinel_password)")
    sentinel_password = (query.get("sentinel_password") or [""])[-1] or None
    return SentinelURL(sentinels, path[0], db, username, password, sentinel_password)


def sentinel_client(url: str, options: dict[str, Any]) -> Any:
    """A redis-py client that always talks to the current primary of the URL's service: on a
    failover its connections ask the sentinels again for the new one."""
    from redis.sentinel import Sentinel

    parsed = parse_sentinel_url(url)
    socket_options = {k: v for k, v in options.items() if k.startswith("socket_")}
    sentinel = Sentinel(
        list(parsed.sentinels),
        sentinel_kwargs={**socket_options, **parsed.sentinel_auth()},
        **options,
        **parsed.auth(),
        db=parsed.db,
    )
    return sentinel.master_for(parsed.service)
