"""Prometheus metrics of one engine.

Each :class:`ServiceMetrics` owns its own ``CollectorRegistry`` (not the process-global one), so
several engines in one process, as in tests, never clash. ``GET /metrics`` renders it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from schemas.errors import ErrorKind, GroundedError

__all__ = [
    "CONTENT_TYPE",
    "OUTCOME_CANCELLED",
    "OUTCOME_CLIENT_CLOSED",
    "OUTCOME_OK",
    "ServiceMetrics",
    "outcome_of",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
OUTCOME_OK = "ok"
OUTCOME_CANCELLED = "cancelled"
OUTCOME_CLIENT_CLOSED = "client_closed"
"""The client disconnected before its request was read whole: not a fault of ours."""

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def outcome_of(exc: BaseException | None) -> str:
    """The ``outcome`` label of a request: ``ok`` or the error kind (``internal`` for faults)."""
    if exc is None:
        return OUTCOME_OK
    if isinstance(exc, GroundedError):
        return exc.kind.value
    return ErrorKind.INTERNAL.value


class ServiceMetrics:
    """Requests and latency by route and outcome, batch sizes and durations, queue depth.

    Implements :class:`vectorizer_service.batching.BatchObserver`.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "grounded_requests_total",
            "Requests by transport route and outcome",
            ["route", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "grounded_request_seconds",
            "Request latency by transport route and outcome",
            ["route", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "grounded_batch_size",
            "Items per model batch",
            ["batcher"],
            buckets=_BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_seconds = Histogram(
            "grounded_batch_seconds",
            "Model time per batch",
            ["batcher"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.queue = Gauge(
            "grounded_queue_depth", "Items waiting per batcher", ["batcher"], registry=self.registry
        )

    def request_done(self, route: str, outcome: str, seconds: float) -> None:
        """Record one finished request."""
        self.requests.labels(route, outcome).inc()
        self.latency.labels(route, outcome).observe(seconds)

    def batch_done(self, batcher: str, size: int, seconds: float) -> None:
        self.batch_size.labels(batcher).observe(size)
        self.batch_seconds.labels(batcher).observe(seconds)

    def queue_depth(self, batcher: str, depth: int) -> None:
        self.queue.labels(batcher).set(depth)

    def render(self) -> bytes:
        """The registry in Prometheus' text format (:data:`CONTENT_TYPE`)."""
        return generate_latest(self.registry)
