"""Log delivery of user pools: SetLogDeliveryConfiguration, GetLogDeliveryConfiguration, and the
delivery of the records (docs/threat-protection.md, "Log delivery").

AWS exports two kinds of user pool logs; Ostiary produces both, in AWS's record shapes:

- ``userNotification`` (LogLevel ERROR, to a CloudWatch Logs group only): a message (email, SMS)
  that could not be delivered — one record per failed delivery;
- ``userAuthEvents`` (LogLevel INFO, to a CloudWatch Logs group, an S3 bucket or a Firehose stream;
  the PLUS feature plan only): every user-activity event threat protection records (sign-in,
  sign-up, password change, forgot password) with its risk assessment (risk decision and level,
  compromised credentials detected), challenges and address. Nothing when threat protection is OFF.

Ostiary reaches no AWS service: the operator maps each destination ARN it accepts to a target it
can reach (setting ``log_delivery_destinations``: ``ARN=TARGET`` with TARGET ``file:/path`` — one
JSON record per line appended —, ``stdout``, or an ``http(s)://`` URL, to which batches of records
are POSTed as a JSON array, through the egress policy as an operator-configured destination,
``trusted=True``). An ARN the operator did not map is refused at SetLogDeliveryConfiguration with
InvalidParameterException, as AWS refuses a destination it cannot deliver to.

Records leave after the event's transaction commits (``after_commit``), from a bounded in-process
queue (``log_delivery_queue_size``) drained by one background thread: sign-in never waits for a
destination; a full queue drops the record (counted, logged once a minute). AWS calls its delivery
"best effort"; so is this one, and records still queued when the process stops are lost.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import queue
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ostiary import egress
from ostiary.config import Settings
from ostiary.notify.delivery import DeliveryError, Message, Sender
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import after_commit
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import FeatureUnavailableInTierException, InvalidParameterException
from ostiary.userpools.lookup import pool_for_caller

log = logging.getLogger("ostiary.log_delivery")

USER_NOTIFICATION = "userNotification"
USER_AUTH_EVENTS = "userAuthEvents"
_SOURCE = {USER_NOTIFICATION: "USER_NOTIFICATION", USER_AUTH_EVENTS: "USER_AUTH_EVENTS"}
# destination member → (its ARN member, the ARN's service)
_KINDS = {
    "CloudWatchLogsConfiguration": ("LogGroupArn", "logs"),
    "S3Configuration": ("BucketArn", "s3"),
    "FirehoseConfiguration": ("StreamArn", "firehose"),
}
BATCH = 100  # records a worker hands a destination at once
_TARGET = re.compile(r"^(arn:\S+?)=(file:\S.*|stdout|https?://\S+)$")


# --------------------------------------------------------------------------------------------
# the operator's destinations


@functools.lru_cache(maxsize=8)
def destinations(value: str) -> dict[str, str]:
    """``log_delivery_destinations`` parsed: ARN → target. Entries are separated by ``;`` or new
    lines (a TOML list arrives joined by commas: a comma before ``arn:`` separates too)."""
    out: dict[str, str] = {}
    for entry in re.split(r"[;\n]|,(?=\s*arn:)", value):
        entry = entry.strip()
        if not entry:
            continue
        match = _TARGET.match(entry)
        if match is None:
            raise ValueError(
                f"log_delivery_destinations: {entry!r} is not ARN=TARGET (file:/path, stdout, http(s)://…)"
            )
        out[match.group(1)] = match.group(2)
    return out


def _target(settings: Settings, arn: str) -> str | None:
    try:
        return destinations(settings.log_delivery_destinations).get(arn)
    except ValueError as e:
        log.error("%s", e)
        return None


# --------------------------------------------------------------------------------------------
# the operations


def _arn_of(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(destination member, ARN member, ARN) of one LogConfiguration: exactly one destination."""
    given = [(kind, member) for kind, (member, _) in _KINDS.items() if entry.get(kind) is not None]
    if len(given) != 1:
        raise InvalidParameterException(
            "Each log configuration must have exactly one of CloudWatchLogsConfiguration, S3Configuration "
            "and FirehoseConfiguration."
        )
    kind, member = given[0]
    arn = (entry.get(kind) or {}).get(member)
    if not arn:
        raise InvalidParameterException(f"{kind}.{member} is required.")
    return kind, member, str(arn)


def _check_arn(settings: Settings, pool: PoolView, kind: str, arn: str) -> None:
    service = _KINDS[kind][1]
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != service:
        raise InvalidParameterException(f"{arn} is not the ARN of a {service} destination.")
    if service != "s3" and (parts[3] != pool.region or parts[4] != pool.account_id):
        raise InvalidParameterException(
            f"{arn} must be in the user pool's account ({pool.account_id}) and region ({pool.region})."
        )
    if _target(settings, arn) is None:
        raise InvalidParameterException(
            f"Unable to deliver logs to {arn}: this Ostiary server has no destination for it "
            "(the operator maps destination ARNs with the setting log_delivery_destinations)."
        )


def _checked(settings: Settings, pool: PoolView, configurations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for entry in configurations:
        source, level = entry["EventSource"], entry["LogLevel"]
        if source in seen:
            raise InvalidParameterException(f"Only one log configuration per EventSource: {source} is repeated.")
        seen.add(source)
        kind, member, arn = _arn_of(entry)
        if source == USER_NOTIFICATION and (level != "ERROR" or kind != "CloudWatchLogsConfiguration"):
            raise InvalidParameterException(
                "userNotification logs are delivered at LogLevel ERROR to a CloudWatchLogsConfiguration only."
            )
        if source == USER_AUTH_EVENTS:
            if level != "INFO":
                raise InvalidParameterException("userAuthEvents logs are delivered at LogLevel INFO.")
            if pool.config.get("UserPoolTier") != "PLUS":
                raise FeatureUnavailableInTierException(
                    "User activity logs (userAuthEvents) need threat protection, of the PLUS feature plan."
                )
        _check_arn(settings, pool, kind, arn)
        out.append({"EventSource": source, "LogLevel": level, kind: {member: arn}})
    return out


def _shape(pool_id: str, configurations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"LogDeliveryConfiguration": {"UserPoolId": pool_id, "LogConfigurations": configurations}}


@operation("cognito-idp", "SetLogDeliveryConfiguration")
def set_log_delivery_configuration(ctx: RequestContext, params: Params) -> Result:
    c = t.user_pool_log_delivery.c
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        configurations = _checked(ctx.settings, pool, list(params["LogConfigurations"]))
        conn.execute(delete(t.user_pool_log_delivery).where(c.user_pool_id == pool.id))
        if configurations:
            conn.execute(
                insert(t.user_pool_log_delivery).values(user_pool_id=pool.id, config=configurations, updated_at=ctx.now)
            )
    return _shape(pool.id, configurations)


@operation("cognito-idp", "GetLogDeliveryConfiguration")
def get_log_delivery_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return _shape(pool.id, _configurations(conn, pool.id))


def _configurations(conn: Connection, pool_id: str) -> list[dict[str, Any]]:
    c = t.user_pool_log_delivery.c
    value = conn.execute(select(c.config).where(c.user_pool_id == pool_id)).scalar()
    return list(value) if isinstance(value, list) else []


def _arns(conn: Connection, pool_id: str, source: str) -> list[str]:
    out = []
    for entry in _configurations(conn, pool_id):
        if entry.get("EventSource") == source:
            for kind, (member, _) in _KINDS.items():
                if isinstance(entry.get(kind), dict) and entry[kind].get(member):
                    out.append(str(entry[kind][member]))
    return out


# --------------------------------------------------------------------------------------------
# the records


def _millis(at: dt.datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp() * 1000)


def _envelope(pool_id: str, source: str, level: str, at: dt.datetime, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventTimestamp": str(_millis(at)),
        "eventSource": _SOURCE[source],
        "logSourceId": {"userPoolId": pool_id},
        "logLevel": level,
        "message": message,
    }


def auth_event_record(
    pool_id: str,
    *,
    event_id: str,
    event_type: str,
    response: str,
    details: dict[str, Any],
    at: dt.datetime,
    user_sub: str,
    username: str,
    client_id: str | None,
) -> dict[str, Any]:
    """A user-activity log record (userAuthEvents) of one auth event, as AWS exports them."""
    risk = details.get("EventRisk") or {}
    context = details.get("EventContextData") or {}
    message: dict[str, Any] = {
        "version": "1",
        "eventId": event_id,
        "eventType": event_type,
        "eventTimestamp": str(_millis(at)),
        "userPoolId": pool_id,
        "userSub": user_sub,
        "username": username,
        "eventResponse": response,
        "riskDecision": risk.get("RiskDecision") or "NoRisk",
        "riskLevel": risk.get("RiskLevel") or "",
        "compromisedCredentialDetected": bool(risk.get("CompromisedCredentialsDetected")),
        "challenges": [
            {"challengeName": c.get("ChallengeName"), "challengeResponse": c.get("ChallengeResponse")}
            for c in details.get("ChallengeResponses") or []
        ],
        "ipAddress": context.get("IpAddress") or "",
        "hasContextData": bool(context),
    }
    if client_id:
        message["clientId"] = client_id
    for field, name in (
        ("City", "city"),
        ("Country", "country"),
        ("DeviceName", "deviceName"),
        ("Timezone", "timezone"),
    ):
        if context.get(field):
            message[name] = context[field]
    if details.get("OstiaryRisk"):  # Ostiary's extension: why the risk engine decided what it did
        message["ostiaryRisk"] = details["OstiaryRisk"]
    return _envelope(pool_id, USER_AUTH_EVENTS, "INFO", at, message)


def auth_event(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    *,
    event_id: str,
    event_type: str,
    response: str,
    details: dict[str, Any],
    at: dt.datetime,
    user_sub: str,
    username: str,
) -> None:
    """Export an auth event just written in ``conn``'s transaction, once it commits, to the pool's
    userAuthEvents destinations (one read by primary key when the pool exports nothing)."""
    arns = _arns(conn, pool.id, USER_AUTH_EVENTS)
    if not arns:
        return
    record = auth_event_record(
        pool.id,
        event_id=event_id,
        event_type=event_type,
        response=response,
        details=details,
        at=at,
        user_sub=user_sub,
        username=username,
        client_id=ctx.app_client_id,
    )
    settings = ctx.settings
    after_commit(conn, lambda: _emit(settings, arns, record))


class _LoggingSender:
    """A message sender whose delivery failures become userNotification log records."""

    def __init__(self, inner: Sender, settings: Settings, pool_id: str, arns: list[str]) -> None:
        self.inner, self.settings, self.pool_id, self.arns = inner, settings, pool_id, arns

    def send(self, message: Message) -> None:
        try:
            self.inner.send(message)
        except DeliveryError as exc:
            medium = "email" if message.medium == "EMAIL" else "SMS"
            record = _envelope(
                self.pool_id,
                USER_NOTIFICATION,
                "ERROR",
                dt.datetime.now(dt.UTC),
                {
                    "details": f"Unable to deliver the {medium} message: {exc}.",
                    "medium": message.medium,
                    "purpose": message.purpose,
                    "username": message.username,
                },
            )
            _emit(self.settings, self.arns, record)
            raise


def notification_errors(conn: Connection, settings: Settings, pool: PoolView, sender: Sender) -> Sender:
    """``sender``, wrapped so that its failures are exported when the pool exports userNotification."""
    arns = _arns(conn, pool.id, USER_NOTIFICATION)
    return _LoggingSender(sender, settings, pool.id, arns) if arns else sender


# --------------------------------------------------------------------------------------------
# delivery: a bounded queue, one background thread


@dataclass
class _State:
    queue: queue.Queue[tuple[Settings, str, dict[str, Any]]] | None = None
    thread: threading.Thread | None = None
    dropped: int = 0
    last_warning: float = 0.0


_state = _State()
_state_lock = threading.Lock()
_file_locks: dict[str, threading.Lock] = {}


def dropped() -> int:
    """Records this process dropped because its queue was full."""
    return _state.dropped


def _emit(settings: Settings, arns: list[str], record: dict[str, Any]) -> None:
    """Queue ``record`` for each destination; never blocks (a full queue drops it)."""
    q = _queue(settings)
    for arn in arns:
        target = _target(settings, arn)
        if target is None:
            continue  # the operator removed the destination since: nothing to deliver to
        try:
            q.put_nowait((settings, target, record))
        except queue.Full:
            _state.dropped += 1
            now = time.monotonic()
            if now - _state.last_warning > 60:
                _state.last_warning = now
                log.warning("log delivery queue full: records dropped", extra={"dropped": _state.dropped})


def _queue(settings: Settings) -> queue.Queue[tuple[Settings, str, dict[str, Any]]]:
    if _state.queue is None or _state.thread is None:
        with _state_lock:
            if _state.queue is None:
                _state.queue = queue.Queue(maxsize=max(1, settings.log_delivery_queue_size))
            if _state.thread is None:
                _state.thread = threading.Thread(target=_worker, name="ostiary-log-delivery", daemon=True)
                _state.thread.start()
    return _state.queue


def _worker() -> None:
    q = _state.queue
    assert q is not None
    while True:
        batch = [q.get()]
        while len(batch) < BATCH:
            try:
                batch.append(q.get_nowait())
            except queue.Empty:
                break
        by_target: dict[str, list[dict[str, Any]]] = {}
        settings = batch[0][0]
        for _, target, record in batch:
            by_target.setdefault(target, []).append(record)
        for target, records in by_target.items():
            try:
                _deliver(settings, target, records)
            except Exception as exc:  # a destination's failure never stops the others
                log.warning("log delivery failed", extra={"target": _redact(target), "error": type(exc).__name__})
        for _ in batch:
            q.task_done()


def _redact(target: str) -> str:
    return target.split("?", 1)[0] if target.startswith("http") else target


def _deliver(settings: Settings, target: str, records: list[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(r, separators=(",", ":"), sort_keys=True) + "\n" for r in records)
    if target == "stdout":
        sys.stdout.write(lines)
        sys.stdout.flush()
    elif target.startswith("file:"):
        path = target[len("file:") :]
        lock = _file_locks.setdefault(path, threading.Lock())
        with lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(lines)
    else:
        # the operator's endpoint (log_delivery_destinations): trusted by the egress policy, whose
        # caps (size, time, no redirect) apply
        answer = egress.policy(settings).fetch("POST", target, trusted=True, json_body=records)
        if answer.status >= 300:
            raise egress.EgressFailed(f"HTTP {answer.status}")


def wait_idle(timeout: float, clock: Callable[[], float] = time.monotonic) -> bool:
    """Whether the queue emptied within ``timeout`` seconds (shutdown, benchmarks)."""
    deadline = clock() + timeout
    while _state.queue is not None and _state.queue.unfinished_tasks and clock() < deadline:
        time.sleep(0.01)
    return _state.queue is None or not _state.queue.unfinished_tasks
