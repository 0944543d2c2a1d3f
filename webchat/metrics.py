"""Prometheus metrics for operators: sockets, chats, polls, upstream latency and errors.

One registry per app (not the global one), so tests and several apps in one process never
mix figures. The figures are this process's: with several workers or instances, scrape each.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from webchat import gcpolicy


class Metrics:
    """The metric families, and the text exposition."""

    def __init__(self, open_sockets: Callable[[], int], active_chats: Callable[[], int]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        sockets = Gauge("webchat_open_sockets", "Open chat WebSockets", registry=self.registry)
        sockets.set_function(open_sockets)
        chats = Gauge(
            "webchat_active_chats", "Chats polled by this process", registry=self.registry
        )
        chats.set_function(active_chats)
        self.polls_in_flight = Gauge(
            "webchat_polls_in_flight",
            "Long polls held by ServicePattern now",
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "webchat_upstream_seconds",
            "ServicePattern call duration",
            ["method"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30),
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "webchat_upstream_errors",
            "Failed ServicePattern calls",
            ["method", "status"],
            registry=self.registry,
        )
        self.events_relayed = Counter(
            "webchat_events_relayed", "Events numbered into chat logs", registry=self.registry
        )

        full = Gauge(
            "webchat_gc_full_collections",
            "Full garbage collections run by this worker's steward (webchat.gcpolicy)",
            registry=self.registry,
        )
        full.set_function(lambda: gcpolicy.steward.full_collections if gcpolicy.steward else 0)
        pause = Gauge(
            "webchat_gc_last_full_seconds",
            "How long the last full garbage collection held the worker",
            registry=self.registry,
        )
        pause.set_function(lambda: gcpolicy.steward.last_full_seconds if gcpolicy.steward else 0)

    def observe_call(self, method: str, seconds: float, status: int | None, ok: bool) -> None:
        """Called by the ServicePattern client after every call."""
        self.upstream_seconds.labels(method).observe(seconds)
        if not ok:
            self.upstream_errors.labels(method, str(status or "none")).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
