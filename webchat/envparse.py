"""Reading one environment value each: parsed, validated, and named in the error.

Each function raises SettingsError whose message starts with the variable's name, so start-up
stops with one line an operator can act on.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(ValueError):
    """A configuration value is missing or malformed; the message names the variable."""


def origin(value: str, name: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise SettingsError(f"{name}: {value!r} is not an origin like https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}".lower()


def number(env: Mapping[str, str], name: str, default: float, cast: type = float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise SettingsError(f"{name}: {raw!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise SettingsError(f"{name}: must be a finite number greater than zero, got {raw!r}")
    return value


def networks(
    env: Mapping[str, str], name: str, default: tuple[Network, ...]
) -> tuple[Network, ...]:
    """Space-separated CIDR ranges (a bare address is one host); `none` for no one at all."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() == "none":
        return ()
    try:
        return tuple(ipaddress.ip_network(item) for item in raw.split())
    except ValueError as error:
        raise SettingsError(f"{name}: {error} (want ranges like 10.0.0.0/8, or none)") from None


def flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name}: {raw!r} is not true or false")


def choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    """One of `choices`, whatever its case, spelled as in `choices`."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    for option in choices:
        if raw.lower() == option.lower():
            return option
    raise SettingsError(f"{name}: {raw!r} is not one of {', '.join(choices)}")


def theme_dir(env: Mapping[str, str]) -> Path | None:
    """THEME_DIR: a folder holding templates/, static/ or both."""
    raw = (env.get("THEME_DIR") or "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise SettingsError(f"THEME_DIR: {raw!r} is not a folder")
    if not (path / "templates").is_dir() and not (path / "static").is_dir():
        raise SettingsError(f"THEME_DIR: {raw!r} has neither templates/ nor static/")
    return path


def bind(env: Mapping[str, str]) -> str:
    """BIND as host:port, unix:PATH or fd://N; without it, loopback on PORT."""
    port = int(number(env, "PORT", 8000, int))
    if port > 65535:
        raise SettingsError(f"PORT: {port} is not a port number from 1 to 65535")
    raw = (env.get("BIND") or "").strip()
    if not raw:
        return f"127.0.0.1:{port}"
    if (raw.startswith("unix:") and len(raw) > 5) or (
        raw.startswith("fd://") and raw[5:].isdigit()
    ):
        return raw
    try:
        parts = urlsplit(f"//{raw}")
        valid = parts.netloc == raw and bool(parts.hostname) and parts.port is not None
    except ValueError:  # a port that is not a number, or out of range
        valid = False
    if not valid or "@" in raw or len(raw.split()) != 1:
        raise SettingsError(f"BIND: {raw!r} is not host:port, unix:PATH or fd://N")
    return raw


def allow_ips(env: Mapping[str, str]) -> str:
    """FORWARDED_ALLOW_IPS as gunicorn reads it: comma-separated addresses or ranges, or *."""
    raw = (env.get("FORWARDED_ALLOW_IPS") or "").strip()
    for item in filter(None, (part.strip() for part in raw.split(","))):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item)
        except ValueError as error:
            raise SettingsError(
                f"FORWARDED_ALLOW_IPS: {error} (want addresses or ranges like 10.0.0.0/8, "
                "comma-separated, or *)"
            ) from None
    return raw
