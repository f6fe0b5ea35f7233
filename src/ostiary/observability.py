"""Structured logs (plain or JSON, never a secret) and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "ostiary_requests_total",
    "API requests answered, by service, operation and HTTP status.",
    ["service", "operation", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "ostiary_request_duration_seconds",
    "API request latency in seconds, by service and operation.",
    ["service", "operation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)

PASSWORD_WORK = Counter(
    "ostiary_password_work_total",
    "Password work done, by kind: argon2_verify, argon2_hash, srp_session_key. Unknown users of clients"
    " that prevent user existence errors cost the same work as real ones (no timing oracle).",
    ["kind"],
    registry=REGISTRY,
)


def password_work(kind: str) -> None:
    PASSWORD_WORK.labels(kind).inc()


# each labelled child once (``labels`` costs a lock, a tuple of str() and a dict lookup per call); the
# keys are bounded: operations of the models Ostiary serves, and the HTTP statuses it answers
_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def record(service: str, operation: str, status: int, seconds: float) -> None:
    key = (service, operation, status)
    child = _children.get(key)
    if child is None:
        child = _children[key] = (REQUESTS.labels(service, operation, str(status)), LATENCY.labels(service, operation))
    child[0].inc()
    child[1].observe(seconds)


def metrics_payload() -> tuple[bytes, str]:
    """Metrics of this process, or of every worker when PROMETHEUS_MULTIPROC_DIR is set (``--workers N``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "color_message"}
_REDACT = ("secret", "password", "token", "authorization", "signature", "kek")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in vars(record).items():
        if k in _STANDARD:
            continue
        out[k] = "***" if any(word in k.lower() for word in _REDACT) else v
    return out


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        base = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f" {record.levelname:<7} {record.name}: {record.getMessage()}"
        )
        extras = _extras(record)
        if extras:
            base += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if record.exc_info:
            base += "\n" + self.formatException(record.exc_info)
        return base


def setup_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    logging.getLogger("alembic").setLevel(logging.WARNING)
