"""`ostiary events`: the audit events (ostiary.audit), newest first, as a table or JSON records in
CloudTrail's format; every account's (the operator reads the store directly)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from ostiary.audit.lookup import Query, cloudtrail_event, rows
from ostiary.store.db import Store, utc

_SPAN = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def since(value: str | None, now: dt.datetime) -> dt.datetime | None:
    """``--since``: a span back from now (``30m``, ``2h``, ``7d``) or an ISO 8601 time (UTC if naive)."""
    if not value:
        return None
    span = _SPAN.match(value.strip())
    if span is not None:
        return now - dt.timedelta(**{_UNITS[span.group(2)]: int(span.group(1))})
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use a span (30m, 2h, 7d) or an ISO 8601 time", param_hint="--since"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def show_events(
    store: Store,
    *,
    pool: str | None,
    user: str | None,
    event: str | None,
    since_value: str | None,
    limit: int,
    as_json: bool,
) -> None:
    query = Query(pool_id=pool, username=user, event_name=event, start=since(since_value, dt.datetime.now(dt.UTC)))
    with store.read() as conn:
        found = rows(conn, query, max(limit, 1))
    if as_json:
        click.echo(json.dumps([cloudtrail_event(r) for r in found], indent=2))
        return
    table = Table(title="Audit events (newest first)")
    for col in ("When (UTC)", "Event", "Outcome", "Who", "Resource", "From"):
        table.add_column(col)
    for r in found:
        table.add_row(
            utc(r.event_time).strftime("%Y-%m-%d %H:%M:%S"),
            r.event_name,
            r.outcome if not r.error_code else f"{r.outcome}: {r.error_code}",
            _who(r),
            r.resource_name or "",
            r.source_ip or "",
        )
    Console().print(table)


def _who(r: Any) -> str:
    if r.user_pool_id and r.username:
        user = f"{r.user_pool_id}/{r.username}"
        return f"{user} (by {r.principal_arn})" if r.principal_arn else user
    return str(r.principal_arn or r.username or "")
