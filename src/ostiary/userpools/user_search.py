"""ListUsers: every filter is an index range read in keyset order (issue 13).

A listing reads one index of the users table in order and stops after ``Limit`` users:

- no filter: ``(user_pool_id, created_at, id)``, oldest first;
- ``username``, ``email``, ``phone_number``, ``name``, ``given_name``, ``family_name``,
  ``preferred_username``, ``sub``: ``(user_pool_id, search_<name>, id)``, where the key column holds the
  value as the filter compares it (the username lower-cased: that filter ignores case), cut to
  ``tables.SEARCH_KEY_LEN`` characters, in code-point order on both dialects. ``=`` is an equality,
  ``^=`` the range ``[prefix, successor(prefix))``;
- ``cognito:user_status`` and ``status``: the values of the (closed) set that the filter matches, read
  one after the other on ``(user_pool_id, status, id)`` or ``(user_pool_id, enabled, id)``.

Each user read is checked by the filter in Python as well (filters.UserFilter.matches: the source of
truth, and the only check of the characters beyond a cut key). The pagination token is the sort key of
the last user returned, so a page always starts right after it: users created or deleted between two
pages never make a listing return a user twice or skip one that existed throughout.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, and_, false, select, true, tuple_
from sqlalchemy.sql.elements import ColumnElement

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, filters, paging
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import InvalidParameterException
from ostiary.userpools.lookup import pool_for_caller
from ostiary.userpools.users import user_type

_LIST_MAX = 60

# Every status a user can have (Cognito's UserStatusType), in the order the status index reads them.
STATUSES = (
    "ARCHIVED",
    "COMPROMISED",
    "CONFIRMED",
    "EXTERNAL_PROVIDER",
    "FORCE_CHANGE_PASSWORD",
    "RESET_REQUIRED",
    "UNCONFIRMED",
    "UNKNOWN",
)

_c = t.users.c
# what a listed user is built from (not the search keys, which only the index reads)
_COLUMNS = tuple(col for col in t.users.c if not col.name.startswith("search_"))
_KEY_COLUMNS = {name: _c[f"search_{name}"] for name in ("username", "sub", *t.SEARCH_ATTRIBUTES)}


@dataclass(frozen=True)
class Run:
    """One stretch of an index a listing reads: an equality on the key (``value``, read in ``id`` order)
    or a range of it (``value`` None, read in ``(key, id)`` order) from ``lower`` (None: the start) up
    to what ``upper`` allows."""

    cond: ColumnElement[bool]
    value: Any = None
    lower: str | None = None
    upper: ColumnElement[bool] = field(default_factory=true)


@dataclass(frozen=True)
class Scan:
    """How one listing reads the users table: the key column (then ``id``) it reads in order, and the
    runs of that index it reads one after the other (in key order)."""

    key: Any
    runs: tuple[Run, ...]

    @property
    def index(self) -> str:
        """The index that serves this listing (named on SQLite, whose planner may otherwise prefer the
        pool's creation-order index and check every user: statistics only hint at the rows)."""
        name = self.key.name
        return f"ix_users_{name}" if name.startswith("search_") else f"ix_users_pool_{name.removesuffix('_at')}"

    @property
    def present(self) -> tuple[ColumnElement[bool], ...]:
        """``key IS NOT NULL`` for an attribute's key: its index is partial (migration 0026), and this
        term (true of every match anyway) lets the planners see that it serves the query."""
        return (self.key.is_not(None),) if self.key.nullable else ()

    def rank(self, value: Any) -> Any:
        """Where a key value sorts among the runs (statuses sort in STATUSES' order, not by collation)."""
        return STATUSES.index(value) if self.key is _c.status else value


def _successor(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix`` (code-point order);
    None when there is none (every character is U+10FFFF)."""
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            nxt = 0xE000 if 0xD800 <= last + 1 <= 0xDFFF else last + 1  # no surrogates: UTF-8 cannot hold them
            return "".join(chars) + chr(nxt)
    return None


def _equal(key: Any, value: Any) -> ColumnElement[bool]:
    """``key = value`` written as the range ``value <= key <= value``: the same rows, but PostgreSQL cannot
    then reduce ``ORDER BY key, id`` to ``ORDER BY id`` and read the whole primary key in id order
    instead of the key's index."""
    return and_(key.op(">=")(value), key.op("<=")(value))  # op(): SQLAlchemy refuses >= on a bool


def scan_for(flt: filters.UserFilter | None) -> Scan:
    if flt is None:
        return Scan(_c.created_at, (Run(true()),))
    if flt.attribute == "cognito:user_status":
        return Scan(_c.status, tuple(Run(_equal(_c.status, s), s) for s in STATUSES if flt.matches(s)))
    if flt.attribute == "status":
        runs = [Run(_equal(_c.enabled, e), e) for e in (False, True) if flt.matches("Enabled" if e else "Disabled")]
        return Scan(_c.enabled, tuple(runs))
    key = _KEY_COLUMNS[flt.attribute]
    value = flt.value.lower() if flt.attribute == "username" else flt.value
    if "\x00" in value:  # no stored value holds NUL (PostgreSQL's text cannot)
        return Scan(key, ())
    cut = t.SEARCH_KEY_LEN if flt.attribute != "sub" else 36
    if not flt.prefix or len(value) >= cut:
        # a cut key equals the cut value for every match; the Python check sees the rest
        return Scan(key, (Run(_equal(key, value[:cut]), value[:cut]),))
    successor = _successor(value)
    upper = true() if successor is None else key < successor
    return Scan(key, (Run(and_(key >= value, upper), lower=value, upper=upper),))


def _matches(f: filters.UserFilter, user: User) -> bool:
    if f.attribute == "username":
        return f.matches(user.username)
    if f.attribute == "cognito:user_status":
        return f.matches(user.status)
    if f.attribute == "status":
        return f.matches("Enabled" if user.enabled else "Disabled")
    if f.attribute == "sub":
        return f.matches(user.id)
    return f.matches(user.attributes.get(f.attribute))


def _token_key(scan: Scan, row: Any) -> Any:
    value = row._mapping[scan.key]
    if scan.key is _c.created_at:
        return utc(value).isoformat()
    return bool(value) if scan.key is _c.enabled else value


def _cursor(scan: Scan, token: list[Any] | None) -> tuple[Any, str] | None:
    """The sort key a token carries, checked against the listing's key (a token of another filter, or
    one not made here, is refused as AWS refuses a foreign token)."""
    if token is None:
        return None
    invalid = InvalidParameterException("Invalid PaginationToken.")
    if len(token) != 2 or not isinstance(token[1], str):
        raise invalid
    key = token[0]
    if scan.key is _c.created_at:
        if not isinstance(key, str):
            raise invalid
        try:
            return dt.datetime.fromisoformat(key), token[1]
        except ValueError:
            raise invalid from None
    if not isinstance(key, bool if scan.key is _c.enabled else str) or (
        scan.key is not _c.enabled and isinstance(key, bool)
    ):
        raise invalid
    if scan.key is _c.status and key not in STATUSES:
        raise invalid
    return key, token[1]


_BEFORE = false()  # a run that lies wholly before the cursor


def _after(scan: Scan, run: Run, cursor: tuple[Any, str] | None) -> ColumnElement[bool]:
    """A run's condition from the cursor on (_BEFORE when the whole run lies before the cursor). In a
    range, the keyset bound ``(key, id) > cursor`` replaces the lower one, so that the index is sought
    straight to the cursor however many users share its key."""
    if cursor is None:
        return run.cond
    if run.value is None:
        if run.lower is not None and cursor[0] < run.lower:
            return run.cond
        return and_(tuple_(scan.key, _c.id) > tuple_(*cursor), run.upper)
    here, there = scan.rank(run.value), scan.rank(cursor[0])
    if here > there:
        return run.cond
    return and_(run.cond, _c.id > cursor[1]) if here == there else _BEFORE


def list_page(
    conn: Connection, pool: PoolView, flt: filters.UserFilter | None, limit: int, token: list[Any] | None
) -> tuple[list[User], list[Any] | None]:
    """Up to ``limit`` users after the token's position, and the next token (None on the last page)."""
    scan = scan_for(flt)
    cursor = _cursor(scan, token)
    found: list[User] = []
    last_key: list[Any] | None = None
    batch = limit + 1
    for run in scan.runs:
        while True:
            after = _after(scan, run, cursor)
            if after is _BEFORE:
                break
            order = (scan.key, _c.id)  # also for an equality: only the key's index reads in this order
            query = (
                select(*_COLUMNS, scan.key)
                .where(_c.user_pool_id == pool.id, after, *scan.present)
                .order_by(*order)
                .limit(batch)
                .with_hint(t.users, f"INDEXED BY {scan.index}", "sqlite")
            )
            rows = conn.execute(query).all()
            for row in rows:
                cursor = (row._mapping[scan.key], row.id)
                user = directory.from_row(cast(Any, row))
                if flt is not None and not _matches(flt, user):
                    continue
                if len(found) == limit:
                    return found, last_key
                found.append(user)
                last_key = [_token_key(scan, row), row.id]
            if len(rows) < batch:
                break
    return found, None


# Off the event loop: a listing reads up to a few hundred index entries and rows; a worker's other
# requests (GetUser, sign-in) never wait for it.
@operation("cognito-idp", "ListUsers", offload=True)
def list_users(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("Limit") or _LIST_MAX)
    if limit > _LIST_MAX:
        raise InvalidParameterException(f"Limit must be less than or equal to {_LIST_MAX}.")
    try:
        flt = filters.parse(params.get("Filter") or "")
    except filters.FilterError as err:
        raise InvalidParameterException(str(err)) from None
    only = set(params["AttributesToGet"]) if params.get("AttributesToGet") is not None else None
    after = paging.decode(params.get("PaginationToken"), "PaginationToken")
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if only is not None:
            unknown = [n for n in only if n not in pool.schema and n not in ("email_verified", "phone_number_verified")]
            if unknown:
                raise InvalidParameterException(
                    f"One or more requested attributes do not exist: [{', '.join(unknown)}]"
                )
        found, next_key = list_page(conn, pool, flt, limit, after)
    out: dict[str, Any] = {"Users": [user_type(u, only) for u in found]}
    if next_key is not None:
        out["PaginationToken"] = paging.encode(next_key)
    return out
