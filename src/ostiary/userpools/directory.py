"""The user directory: users, their attributes, aliases and groups, as rows in the store.

Service functions (users.py, auth.py, selfservice.py …) call these inside their own transaction.
Username rules follow the Cognito Developer Guide, "User pool attributes": a user is found by
username (case-insensitive unless UsernameConfiguration.CaseSensitive), by email or phone number
when they are username attributes, by a *verified* email/phone or a preferred_username when they
are alias attributes, and by ``sub``.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.store.raw import RawInsert, RawSelect
from ostiary.userpools.claims import GroupInfo

_UUID_LEN = 36


@dataclass(frozen=True)
class PoolView:
    """The parts of a user pool's configuration that users and sign-in depend on."""

    id: str
    account_id: str
    region: str
    name: str
    config: dict[str, Any]

    @property
    def arn(self) -> str:
        return f"arn:aws:cognito-idp:{self.region}:{self.account_id}:userpool/{self.id}"

    @property
    def srp_group(self) -> str:
        """The SRP "pool name": the part of the pool id after the underscore."""
        return self.id.split("_", 1)[1]

    @property
    def case_sensitive(self) -> bool:
        cfg = self.config.get("UsernameConfiguration") or {}
        return bool(cfg.get("CaseSensitive", False)) if cfg else True

    @property
    def username_attributes(self) -> list[str]:
        return list(self.config.get("UsernameAttributes") or [])

    @property
    def alias_attributes(self) -> list[str]:
        return list(self.config.get("AliasAttributes") or [])

    @property
    def auto_verified(self) -> list[str]:
        return list(self.config.get("AutoVerifiedAttributes") or [])

    @property
    def password_policy(self) -> dict[str, Any]:
        return dict((self.config.get("Policies") or {}).get("PasswordPolicy") or {})

    @property
    def schema(self) -> dict[str, dict[str, Any]]:
        return {a["Name"]: a for a in self.config.get("SchemaAttributes") or []}


class UserStatus(enum.StrEnum):
    """The UserStatus values Ostiary sets (botocore's UserStatusType; ARCHIVED, COMPROMISED and UNKNOWN
    are never set). ``User.status`` holds the stored string, which compares equal to these."""

    UNCONFIRMED = "UNCONFIRMED"
    CONFIRMED = "CONFIRMED"
    EXTERNAL_PROVIDER = "EXTERNAL_PROVIDER"
    RESET_REQUIRED = "RESET_REQUIRED"
    FORCE_CHANGE_PASSWORD = "FORCE_CHANGE_PASSWORD"


@dataclass
class User:
    id: str
    user_pool_id: str
    username: str
    status: str
    enabled: bool
    attributes: dict[str, str]
    password_hash: str | None
    srp_salt: str | None
    srp_verifier: str | None
    password_updated_at: dt.datetime | None
    mfa: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime
    groups: list[GroupInfo] = field(default_factory=list)
    pending_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def sub(self) -> str:
        return self.id

    def attribute_list(self, only: set[str] | None = None) -> list[dict[str, str]]:
        """``[{"Name", "Value"}]`` with ``sub`` first, as Cognito returns them."""
        out = [{"Name": "sub", "Value": self.id}] if only is None or "sub" in only else []
        for name, value in self.attributes.items():
            if only is None or name in only:
                out.append({"Name": name, "Value": value})
        return out

    def verified(self, attribute: str) -> bool:
        return self.attributes.get(f"{attribute}_verified", "false").lower() == "true"


def username_key(pool: PoolView, username: str) -> str:
    return username if pool.case_sensitive else username.lower()


_SEARCH_COLUMNS = tuple((name, f"search_{name}") for name in t.SEARCH_ATTRIBUTES)


def alias_keys(attributes: dict[str, str]) -> dict[str, str | None]:
    """The columns derived from a user's attributes, for every write of them: the sign-in alias keys and
    ListUsers' filter keys (search_<attribute>: the value as stored, cut to the index's length)."""
    email = attributes.get("email")
    phone = attributes.get("phone_number")
    preferred = attributes.get("preferred_username")
    keys: dict[str, str | None] = {
        "email_key": email.lower() if email else None,
        "phone_key": phone or None,
        "preferred_username_key": preferred.lower() if preferred else None,
    }
    for name, column in _SEARCH_COLUMNS:
        value = attributes.get(name)
        keys[column] = value[: t.SEARCH_KEY_LEN] if value is not None else None
    return keys


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        user_pool_id=row.user_pool_id,
        username=row.username,
        status=row.status,
        enabled=bool(row.enabled),
        attributes=dict(row.attributes or {}),
        password_hash=row.password_hash,
        srp_salt=row.srp_salt,
        srp_verifier=row.srp_verifier,
        password_updated_at=utc(row.password_updated_at) if row.password_updated_at else None,
        mfa=dict(row.mfa or {}),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        pending_attributes=dict(row.pending_attributes or {}),
    )


from_row = _user  # a User from a row that has the users table's columns (USER_COLUMNS at least)

# The columns a User is made of (_user): not the sign-in and search keys, which only queries use
# (reading 14 columns instead of 27 halves the driver's per-row work on PostgreSQL).
USER_COLUMNS = tuple(
    t.users.c[name]
    for name in (
        "id",
        "user_pool_id",
        "username",
        "status",
        "enabled",
        "attributes",
        "password_hash",
        "srp_salt",
        "srp_verifier",
        "password_updated_at",
        "mfa",
        "created_at",
        "updated_at",
        "pending_attributes",
    )
)

# The columns token paths read (refresh, GetUser): identity, status, attributes and MFA settings. Each
# column read costs per row (PostgreSQL's driver describes every column of every result); a User
# built from them (``token_user``) has no password material and no timestamps.
TOKEN_COLUMNS = (
    t.users.c.id,
    t.users.c.user_pool_id,
    t.users.c.username,
    t.users.c.status,
    t.users.c.enabled,
    t.users.c.attributes,
    t.users.c.mfa,
)
_NO_TIME = dt.datetime.fromtimestamp(0, dt.UTC)


def token_user(row: Any) -> User:
    """A User from a row with TOKEN_COLUMNS: for minting tokens and answering GetUser only (no
    password hash or SRP verifier, epoch timestamps, no pending attributes)."""
    return User(
        id=row.id,
        user_pool_id=row.user_pool_id,
        username=row.username,
        status=row.status,
        enabled=bool(row.enabled),
        attributes=dict(row.attributes or {}),
        password_hash=None,
        srp_salt=None,
        srp_verifier=None,
        password_updated_at=None,
        mfa=dict(row.mfa or {}),
        created_at=_NO_TIME,
        updated_at=_NO_TIME,
    )


_BY_ID = select(*USER_COLUMNS).where(
    t.users.c.user_pool_id == bindparam("pool_id"), t.users.c.id == bindparam("user_id")
)
_RAW_BY_ID = RawSelect(_BY_ID)  # store.raw: the driver's cursor


_BY_ID_LOCKED = _BY_ID.with_for_update()


def get_by_id(conn: Connection, pool: PoolView, user_id: str, *, lock: bool = False) -> User | None:
    """The user ``user_id`` of ``pool``; with ``lock``, its row stays locked until the transaction ends
    (PostgreSQL's ``FOR UPDATE``; SQLite's write transaction already holds the one writer lock), so
    that a check and the write it decides (a TOTP step taken) happen once across processes."""
    if lock:
        row = conn.execute(_BY_ID_LOCKED, {"pool_id": pool.id, "user_id": user_id}).first()
        return None if row is None else _user(row)
    return get_in_pool(conn, pool.id, user_id)


def get_in_pool(conn: Connection, pool_id: str, user_id: str) -> User | None:
    row = _RAW_BY_ID.first(conn, {"pool_id": pool_id, "user_id": user_id})
    return None if row is None else _user(row)


# find()'s statement for each combination of the columns a name can match, built once (building and
# hashing a new statement per sign-in cost more than the indexed read itself), read through store.raw
_FIND: dict[tuple[bool, bool, bool, bool], RawSelect] = {}


def _find_statement(email: bool, phone: bool, preferred: bool, by_id: bool) -> RawSelect:
    shape = (email, phone, preferred, by_id)
    stmt = _FIND.get(shape)
    if stmt is None:
        c = t.users.c
        conditions = [c.username_key == bindparam("key")]
        if email:
            conditions.append(c.email_key == bindparam("lowered"))
        if phone:
            conditions.append(c.phone_key == bindparam("name"))
        if preferred:
            conditions.append(c.preferred_username_key == bindparam("lowered"))
        if by_id:
            conditions.append(c.id == bindparam("name"))
        stmt = _FIND[shape] = RawSelect(
            select(*USER_COLUMNS).where(c.user_pool_id == bindparam("pool_id"), or_(*conditions))
        )
    return stmt


def find(conn: Connection, pool: PoolView, name: str, *, by_alias: bool = True) -> User | None:
    """The user ``name`` designates: username, username attribute, verified alias, or sub."""
    names, aliases = pool.username_attributes, pool.alias_attributes
    stmt = _find_statement(
        by_alias and ("email" in names or "email" in aliases),
        by_alias and ("phone_number" in names or "phone_number" in aliases),
        by_alias and "preferred_username" in aliases,
        len(name) == _UUID_LEN,
    )
    params = {"pool_id": pool.id, "key": username_key(pool, name), "lowered": name.lower(), "name": name}
    rows = stmt.rows(conn, params)
    if not rows:
        return None
    users = [_user(r) for r in rows]
    key = username_key(pool, name)
    for u in users:
        if username_key(pool, u.username) == key:
            return u
    for u in users:
        if u.id == name:
            return u
    for u in users:
        # a federated user's email or phone is never a sign-in alias
        if u.status != UserStatus.EXTERNAL_PROVIDER and _alias_matches(pool, u, name):
            return u
    return None


def _alias_matches(pool: PoolView, user: User, name: str) -> bool:
    attrs = user.attributes
    lowered = name.lower()
    if "email" in pool.username_attributes and (attrs.get("email") or "").lower() == lowered:
        return True
    if "phone_number" in pool.username_attributes and attrs.get("phone_number") == name:
        return True
    if "email" in pool.alias_attributes and (attrs.get("email") or "").lower() == lowered:
        return user.verified("email")
    if "phone_number" in pool.alias_attributes and attrs.get("phone_number") == name:
        return user.verified("phone_number")
    return "preferred_username" in pool.alias_attributes and (attrs.get("preferred_username") or "").lower() == lowered


def alias_owner(conn: Connection, pool: PoolView, attribute: str, value: str, exclude: str | None) -> User | None:
    """Another user who holds ``value`` as an active alias or username attribute."""
    c = t.users.c
    column = {"email": c.email_key, "phone_number": c.phone_key, "preferred_username": c.preferred_username_key}[
        attribute
    ]
    key = value if attribute == "phone_number" else value.lower()
    query = select(t.users).where(c.user_pool_id == pool.id, column == key)
    if exclude:
        query = query.where(c.id != exclude)
    for row in conn.execute(query).all():
        u = _user(row)
        if u.status == UserStatus.EXTERNAL_PROVIDER:
            continue
        if attribute in pool.username_attributes or attribute == "preferred_username":
            return u
        if u.verified(attribute):
            return u
    return None


# the columns of a new user's row, in this order: insert_user's values (and the CSV import's tuples,
# import_batch), the two keys the table's defaults would derive, then the attribute keys (alias_keys)
NEW_USER_COLUMNS = (
    "id",
    "user_pool_id",
    "username",
    "username_key",
    "status",
    "enabled",
    "attributes",
    "mfa",
    "created_at",
    "updated_at",
    "search_username",
    "search_sub",
    *alias_keys({}),
)
_PASSWORD_COLUMNS = ("password_hash", "srp_salt", "srp_verifier", "password_updated_at")
# a new user's row on the driver's cursor (store.raw): Core's INSERT built from keyword values cost
# more than the rest of AdminCreateUser's Python (its 23 values coerced and cache-keyed each call)
_INSERT_USER = RawInsert(insert(t.users), [*NEW_USER_COLUMNS, *_PASSWORD_COLUMNS])


def insert_user(
    conn: Connection,
    pool: PoolView,
    *,
    username: str,
    status: str,
    attributes: dict[str, str],
    now: dt.datetime,
    enabled: bool = True,
    user_id: str | None = None,
    password: Mapping[str, Any] | None = None,
) -> User:
    """Insert a new user, with its password material (``users.password_material``: hash, SRP salt and
    verifier, when set) in the same INSERT; the User is built from the values written (nothing is read
    back: the row holds exactly these, the columns not given being NULL)."""
    # In pools where email or phone is the username, Cognito's internal username *is* the sub.
    uid = user_id or (username if pool.username_attributes else str(uuid.uuid4()))
    material = dict(password or {})
    unknown = set(material) - set(_PASSWORD_COLUMNS)
    if unknown:
        raise ValueError(f"insert_user: not password columns: {sorted(unknown)}")
    _INSERT_USER.execute(
        conn,
        {
            "id": uid,
            "user_pool_id": pool.id,
            "username": username,
            "username_key": username_key(pool, username),
            "status": status,
            "enabled": enabled,
            "attributes": attributes,
            "mfa": {},
            "created_at": now,
            "updated_at": now,
            **{name: material.get(name) for name in _PASSWORD_COLUMNS},
            # what the table's defaults derive for Core's INSERT (store/tables/userpools.py)
            "search_username": t.username_search_key(username),
            "search_sub": uid,
            **alias_keys(attributes),
        },
    )
    return User(
        id=uid,
        user_pool_id=pool.id,
        username=username,
        status=status,
        enabled=enabled,
        attributes=dict(attributes),
        password_hash=material.get("password_hash"),
        srp_salt=material.get("srp_salt"),
        srp_verifier=material.get("srp_verifier"),
        password_updated_at=material.get("password_updated_at"),
        mfa={},
        created_at=now,
        updated_at=now,
    )


def save_attributes(conn: Connection, user: User, attributes: dict[str, str], now: dt.datetime) -> None:
    conn.execute(
        update(t.users)
        .where(t.users.c.id == user.id)
        .values(attributes=attributes, updated_at=now, **alias_keys(attributes))
    )
    user.attributes = dict(attributes)
    user.updated_at = now


def set_fields(conn: Connection, user: User, now: dt.datetime, **values: Any) -> None:
    """Update plain columns (status, enabled, password_hash, srp_salt, srp_verifier, mfa …)."""
    conn.execute(update(t.users).where(t.users.c.id == user.id).values(updated_at=now, **values))
    for k, v in values.items():
        setattr(user, k, v)
    user.updated_at = now


def delete_user(conn: Connection, user: User) -> None:
    conn.execute(delete(t.users).where(t.users.c.id == user.id))


_GROUPS_OF = (
    select(t.groups.c.name, t.groups.c.precedence, t.groups.c.role_arn)
    .select_from(
        t.group_members.join(
            t.groups,
            and_(
                t.groups.c.user_pool_id == t.group_members.c.user_pool_id,
                t.groups.c.name == t.group_members.c.group_name,
            ),
        )
    )
    .where(t.group_members.c.user_pool_id == bindparam("pool_id"), t.group_members.c.user_id == bindparam("user_id"))
)


def groups_of(conn: Connection, pool_id: str, user_id: str) -> list[GroupInfo]:
    rows = conn.execute(_GROUPS_OF, {"pool_id": pool_id, "user_id": user_id}).all()
    return [GroupInfo(r.name, r.precedence, r.role_arn) for r in rows]
