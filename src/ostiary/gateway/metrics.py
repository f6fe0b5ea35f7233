"""The gateway's Prometheus metrics, in Ostiary's registry (``observability.REGISTRY``): served on the
gateway's admin listener (``admin_listen``: ``/metrics``) and, when the gateway runs inside
``ostiary serve``, on the server's ``/metrics`` too."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from ostiary.observability import REGISTRY

REQUESTS = Counter(
    "ostiary_gateway_requests_total",
    "Gateway requests answered, by route key and HTTP status.",
    ["route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "ostiary_gateway_request_duration_seconds",
    "Gateway request latency until the response head was sent, by route key.",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
DECISIONS = Counter(
    "ostiary_gateway_authorizer_decisions_total",
    "Authorizer decisions, by authorizer and outcome (allow, unauthorized, forbidden, error).",
    ["authorizer", "outcome"],
    registry=REGISTRY,
)
UPSTREAM_ERRORS = Counter(
    "ostiary_gateway_upstream_errors_total",
    "Upstream failures, by route key and kind (timeout, connect, protocol, aborted).",
    ["route", "kind"],
    registry=REGISTRY,
)


def request(route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, str(status)).inc()
    LATENCY.labels(route).observe(seconds)
