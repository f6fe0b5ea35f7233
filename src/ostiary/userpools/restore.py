"""What a point-in-time recovery changes, and the change itself (query-only: the operations are in
recovery.py). The journal (``user_pool_journal``, kept by store/journal.py's triggers) holds, for
every change of a pool's users, groups, memberships and passkeys, the row as it was before. The
state of a row at a past moment T is the image of its first change after T (none: it didn't exist);
a row with no change after T is as it was. So a recovery reads one journal row per changed row.

Not reverted (as AWS documents): a password changed after the recovery point (the user keeps the
current one), and the pool's configuration (clients, schema, domains, settings, replicas).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Connection, Table, and_, delete, exists, func, insert, select, tuple_, update

from ostiary.config import Settings
from ostiary.store import journal
from ostiary.store import tables as t
from ostiary.store.tables.base import UTCDateTime
from ostiary.store.tables.recovery import user_pool_journal as j
from ostiary.store.tables.recovery import user_pool_recoveries

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# the preview's entities (AWS's names); memberships are restored with their users and groups
ENTITIES = ("Users", "Groups", "User MFAs", "Passkeys")
PASSWORD_COLUMNS = ("password_hash", "srp_salt", "srp_verifier", "password_updated_at")
_NOT_COMPARED = frozenset({"updated_at", "mfa", *PASSWORD_COLUMNS})
ORDER = ("users", "groups", "group_members", "webauthn_credentials")  # parents first
CHUNK = 500


def epoch_us(when: dt.datetime) -> int:
    return (when - EPOCH) // dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class Change:
    table: str
    key: tuple[Any, ...]
    then: dict[str, Any] | None  # the row at the recovery point (None: it didn't exist)
    now: dict[str, Any] | None  # the row as it is


def _datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _typed(table: Table, image: dict[str, Any]) -> dict[str, Any]:
    """A journal image (JSON: SQLite's json_object or PostgreSQL's to_jsonb) as the row's values."""
    values: dict[str, Any] = {}
    for col in table.columns:
        value = image.get(col.name)
        if value is not None:
            if isinstance(col.type, UTCDateTime):
                value = _datetime(value)
            elif isinstance(col.type, Boolean):
                value = bool(value)  # SQLite's 0/1
        values[col.name] = value
    return values


def _current(
    conn: Connection, table: str, pool_id: str, keys: list[tuple[Any, ...]]
) -> dict[tuple[Any, ...], dict[str, Any]]:
    tab = journal.TABLES[table]
    cols = [tab.c[name] for name in journal.JOURNALED[table]]
    found: dict[tuple[Any, ...], dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        match = cols[0].in_([k[0] for k in chunk]) if len(cols) == 1 else tuple_(*cols).in_(chunk)
        for row in conn.execute(select(tab).where(tab.c.user_pool_id == pool_id, match)).mappings():
            found[tuple(row[c.name] for c in cols)] = dict(row)
    return found


def plan(conn: Connection, pool_id: str, point: dt.datetime) -> list[Change]:
    """Every row of the pool's user data changed since ``point``: as it was then, and as it is."""
    first = (
        select(func.min(j.c.seq))
        .where(j.c.user_pool_id == pool_id, j.c.at_us > epoch_us(point))
        .group_by(j.c.entity, j.c.row_key)
    )
    journaled = conn.execute(select(j.c.entity, j.c.row_key, j.c.before).where(j.c.seq.in_(first))).all()
    by_table: dict[str, list[tuple[tuple[Any, ...], dict[str, Any] | None]]] = {name: [] for name in ORDER}
    for row in journaled:
        if row.entity in by_table:
            by_table[row.entity].append((tuple(json.loads(row.row_key)), row.before))
    changes: list[Change] = []
    for table, items in by_table.items():
        current = _current(conn, table, pool_id, [key for key, _ in items])
        tab = journal.TABLES[table]
        for key, before in items:
            then = _typed(tab, before) if before is not None else None
            changes.append(Change(table, key, then, current.get(key)))
    return changes


def _differs(then: dict[str, Any], now: dict[str, Any], skip: Iterable[str] = ()) -> bool:
    return any(then.get(k) != v for k, v in now.items() if k not in skip)


def preview(changes: list[Change]) -> list[dict[str, Any]]:
    """RestorePreview: per entity, how many rows the recovery creates, updates and deletes."""
    counts = {name: [0, 0, 0] for name in ENTITIES}
    entity = {"users": "Users", "groups": "Groups", "webauthn_credentials": "Passkeys"}
    for c in changes:
        name = entity.get(c.table)
        if name is None:
            continue
        if c.then is None and c.now is not None:
            counts[name][2] += 1
        elif c.then is not None and c.now is None:
            counts[name][0] += 1
        elif c.then is not None and c.now is not None:
            if _differs(c.then, c.now, _NOT_COMPARED if c.table == "users" else ("updated_at",)):
                counts[name][1] += 1
            if c.table == "users" and c.then.get("mfa") != c.now.get("mfa"):
                counts["User MFAs"][1] += 1
    return [{"Entity": n, "CreateCount": v[0], "UpdateCount": v[1], "DeleteCount": v[2]} for n, v in counts.items()]


def _where(table: str, pool_id: str, key: tuple[Any, ...]) -> Any:
    tab = journal.TABLES[table]
    return and_(
        tab.c.user_pool_id == pool_id, *(tab.c[n] == v for n, v in zip(journal.JOURNALED[table], key, strict=True))
    )


def apply(conn: Connection, pool_id: str, changes: list[Change]) -> None:
    """Make every changed row as it was: rows made since are deleted (children first), rows deleted
    since are made again and changed rows get their old values (parents first); a user keeps the
    password set since. The triggers journal these changes too: a later recovery can undo this one."""
    for table in reversed(ORDER):
        for c in changes:
            if c.table == table and c.then is None and c.now is not None:
                conn.execute(delete(journal.TABLES[table]).where(_where(table, pool_id, c.key)))
    for table in ORDER:
        tab = journal.TABLES[table]
        for c in changes:
            if c.table != table or c.then is None:
                continue
            values = dict(c.then)
            if c.now is None:
                if table in ("group_members", "webauthn_credentials") and not _user_exists(conn, values["user_id"]):
                    continue  # its user is not in the pool any more (and wasn't at the point either)
                conn.execute(insert(tab).values(values))
            elif _differs(c.then, c.now):
                if table == "users":
                    for name in PASSWORD_COLUMNS:
                        values[name] = c.now[name]
                conn.execute(update(tab).where(_where(table, pool_id, c.key)).values(values))


def _user_exists(conn: Connection, user_id: str) -> bool:
    return bool(conn.execute(select(exists().where(t.users.c.id == user_id))).scalar())


def sweep(conn: Connection, settings: Settings, now: dt.datetime, *, orphans: bool = False) -> None:
    """Drop the journal past ``recovery_retention_days`` (a range of the (pool, time) index per
    pool) and expire previews nobody started or cancelled in time; with ``orphans`` (at start), the
    journal of deleted pools too (a scan of that index)."""
    cutoff = epoch_us(now - dt.timedelta(days=max(settings.recovery_retention_days, 1)))
    pools = list(conn.execute(select(t.user_pools.c.id)).scalars())
    for start in range(0, len(pools), CHUNK):
        conn.execute(delete(j).where(j.c.user_pool_id.in_(pools[start : start + CHUNK]), j.c.at_us < cutoff))
    if orphans:
        journaled = set(conn.execute(select(j.c.user_pool_id).distinct()).scalars())
        gone = sorted(journaled - set(pools))
        for start in range(0, len(gone), CHUNK):
            conn.execute(delete(j).where(j.c.user_pool_id.in_(gone[start : start + CHUNK])))
    r = user_pool_recoveries
    conn.execute(
        update(r)
        .where(r.c.status.in_(("PREVIEW_GENERATING", "PREVIEW_GENERATED")), r.c.expires_at <= now)
        .values(status="PREVIEW_EXPIRED")
    )
