"""`ostiary risk events`: a user's sign-in events with what adaptive authentication made of them —
the score, every signal that fired with its weight, the configured action and what was done — as a
table or JSON. AdminListUserAuthEvents shows AWS's shape (EventRisk, EventContextData); this is
Ostiary's documented extension (docs/threat-protection.md, "Adaptive authentication"), read from
the store directly, as `ostiary events` reads the audit events.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from ostiary.app import build_runtime
from ostiary.config import Settings
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory
from ostiary.userpools.lookup import pool_by_id


def events(runtime: Any, pool_id: str, username: str, limit: int) -> list[dict[str, Any]]:
    """The user's newest ``limit`` events, AWS's fields plus ``OstiaryRisk``."""
    with runtime.store.read() as conn:
        pool = pool_by_id(conn, pool_id)
        if pool is None:
            raise click.ClickException(f"User pool {pool_id} does not exist.")
        user = directory.find(conn, pool, username)
        if user is None:
            raise click.ClickException("User does not exist.")
        e = t.user_auth_events.c
        rows = conn.execute(
            select(t.user_auth_events).where(e.user_id == user.id).order_by(e.created_at.desc()).limit(limit)
        ).all()
    out = []
    for r in rows:
        details = dict(r.details)
        record: dict[str, Any] = {
            "EventId": r.event_id,
            "EventType": r.event_type,
            "CreationDate": utc(r.created_at).isoformat(),
            "EventResponse": r.response,
            "EventRisk": details.get("EventRisk") or {},
            "EventContextData": details.get("EventContextData") or {},
            "ChallengeResponses": details.get("ChallengeResponses") or [],
            "OstiaryRisk": details.get("OstiaryRisk"),
        }
        if r.feedback_value:
            record["EventFeedback"] = {"FeedbackValue": r.feedback_value, "Provider": r.feedback_provider}
        out.append(record)
    return out


def _signals(risk: dict[str, Any] | None) -> str:
    if not risk:
        return "(not scored)"
    fired = [f"{s['name']} +{s['weight']}" for s in risk.get("signals") or []]
    return ", ".join(fired) or "none"


def register(main: click.Group, common: Callable[[Any], Any], load: Callable[..., Settings]) -> None:
    @main.group()
    def risk() -> None:
        """Threat protection: what the risk engine decided, and why."""

    @risk.command("events")
    @common
    @click.option("--user-pool-id", "pool_id", required=True, help="The user pool (us-east-1_…).")
    @click.option("--username", required=True, help="A username, alias or sub.")
    @click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
    @click.option("--json", "as_json", is_flag=True, help="JSON records instead of a table.")
    def risk_events(pool_id: str, username: str, limit: int, as_json: bool, **opts: Any) -> None:
        """A user's sign-in events, newest first, with the signals that fired and the action taken."""
        runtime = build_runtime(load(**opts))
        try:
            found = events(runtime, pool_id, username, limit)
        finally:
            runtime.store.dispose()
        if as_json:
            click.echo(json.dumps(found, indent=2))
            return
        table = Table(title=f"Sign-in events of {username} (newest first)")
        for col in ("When (UTC)", "Type", "Response", "Risk", "Score", "Signals (weight)", "Action", "From"):
            table.add_column(col)
        for ev in found:
            extra = ev["OstiaryRisk"] or {}
            level = ev["EventRisk"].get("RiskLevel") or ev["EventRisk"].get("RiskDecision", "")
            action = f"{extra.get('action') or '-'} → {extra.get('done', '-')}" if extra else "-"
            if extra.get("notified"):
                action += f" (mail: {extra['notified']})"
            where = ev["EventContextData"]
            table.add_row(
                ev["CreationDate"][:19].replace("T", " "),
                ev["EventType"],
                ev["EventResponse"] + (f" [{ev['EventFeedback']['FeedbackValue']}]" if "EventFeedback" in ev else ""),
                str(level),
                str(extra.get("score", "")),
                _signals(extra or None),
                action,
                " ".join(
                    v
                    for v in (
                        where.get("IpAddress"),
                        where.get("DeviceName"),
                        ", ".join(p for p in (where.get("City"), where.get("Country")) if p),
                    )
                    if v
                ),
            )
        Console().print(table)
