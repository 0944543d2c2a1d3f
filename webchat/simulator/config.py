"""Simulator configuration: one dataclass so demo mode and tests can tune timings."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_PARAMETERS: list[tuple[str, str]] = [
    ("first_name", "FIRST_NAME"),
    ("last_name", "LAST_NAME"),
    ("email", "EMAIL"),
    ("phone", "PHONE"),
]


@dataclass
class SimConfig:
    """Knobs of the simulated ServicePattern tenant and its scripted agent.

    Delays are in seconds. Tests use small values, e.g.
    ``SimConfig(poll_hold=1.0, join_delay=0.05, typing_delay=0.02, reply_delay=0.05)``.
    """

    app_id: str = "demo"
    tenant_url: str = "demo.local"
    poll_hold: float = 10.0
    join_delay: float = 1.5
    typing_delay: float = 0.6
    reply_delay: float = 1.2
    agent_first_name: str = "Alice"
    agent_last_name: str = "Martin"
    ewt: str = "20"
    # "available", "notAvailable" (v1) or "unavailable" (v2 spelling).
    availability: str = "available"
    # "name_type" -> {"name": ..., "type": ...}; "single_key" -> {"first_name": "FIRST_NAME"}.
    parameter_shape: str = "name_type"
    parameters: list[tuple[str, str]] = field(default_factory=lambda: list(DEFAULT_PARAMETERS))
    # When True, Send Events replies carry the chat's pending server events.
    piggyback: bool = False
    # Inactivity (seconds since the last client event); None disables.
    warning_after: float | None = None
    timeout_after: float | None = None
    max_upload: int = 25 * 1024 * 1024
    max_files: int = 1000
    # A request racing the Request Chat reply may lack the just-issued SPNODE cookie;
    # within this many seconds of issuing it that is tolerated, not a violation.
    cookie_grace: float = 0.25
