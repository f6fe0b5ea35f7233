"""Identities and their logins (Amazon Cognito Federated Identities API Reference): GetId,
DescribeIdentity, ListIdentities, DeleteIdentities, UnlinkIdentity, and the developer-authenticated
identity operations LookupDeveloperIdentity, MergeDeveloperIdentities, UnlinkDeveloperIdentity.

Linking rules: a login (provider, subject) belongs to at most one identity of a pool, so the same
login always yields the same identity id. Presenting logins that belong to different identities
merges them into one (the identity named by the request, else the first login's). An identity
holds at most one login per public provider or user pool (``ResourceConflictException``); a
developer provider may link many user identifiers. An authenticated identity whose last login is
unlinked becomes disabled ("inaccessible").
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, tuple_, update

from ostiary.identitypools import logins as lg
from ostiary.identitypools import pools
from ostiary.identitypools.errors import (
    LOGINS_MISMATCH,
    DeveloperUserAlreadyRegisteredException,
    InvalidParameterException,
    NotAuthorizedException,
    ResourceConflictException,
    ResourceNotFoundException,
)
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.store.raw import RawSelect
from ostiary.userpools import paging

UNAUTHENTICATED_OFF = "Unauthenticated access is not supported for this identity pool."
_I = t.identities
_L = t.identity_logins

# called as hook(conn, merged identity id, surviving identity id, now) inside the merge's transaction,
# before the merged identity is deleted: what other services keep per identity follows it (Cognito
# Sync's datasets: cognitosync/merge.py registers itself here; this package imports nothing of it)
MergeHook = Callable[[Connection, str, str, dt.datetime], None]
MERGE_HOOKS: list[MergeHook] = []


def identity_not_found(identity_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Identity '{identity_id}' not found.")


@dataclass(frozen=True)
class Identity:
    id: str
    pool_id: str
    disabled: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    logins: list[tuple[str, str]]  # (provider, subject)

    @property
    def authenticated(self) -> bool:
        return bool(self.logins)


_GET = select(_I).where(_I.c.id == bindparam("id"))
_POOL_OF = RawSelect(select(_I.c.identity_pool_id).where(_I.c.id == bindparam("id")))  # store.raw
_LOGINS = select(_L.c.provider, _L.c.subject).where(_L.c.identity_id == bindparam("id")).order_by(_L.c.created_at)
_OWNER = RawSelect(  # store.raw: the driver's cursor
    select(_L.c.identity_id).where(
        _L.c.identity_pool_id == bindparam("pool_id"),
        _L.c.provider == bindparam("provider"),
        _L.c.subject == bindparam("subject"),
    )
)


def get(conn: Connection, identity_id: str) -> Identity | None:
    row = conn.execute(_GET, {"id": identity_id}).first()
    if row is None:
        return None
    linked = [(r.provider, r.subject) for r in conn.execute(_LOGINS, {"id": identity_id}).all()]
    return Identity(row.id, row.identity_pool_id, bool(row.disabled), utc(row.created_at), utc(row.updated_at), linked)


def pool_of(conn: Connection, identity_id: str) -> str | None:
    """The identity pool of an identity, or None when there is no such identity (one indexed read)."""
    found = _POOL_OF.first(conn, {"id": identity_id})
    return None if found is None else str(found.identity_pool_id)


def owner(conn: Connection, pool_id: str, provider: str, subject: str) -> str | None:
    row = _OWNER.first(conn, {"pool_id": pool_id, "provider": provider, "subject": subject})
    return None if row is None else str(row.identity_id)


# GetId's read of an existing identity: the owner of a login and that identity's pool in one statement
_OWNER_AND_POOL = RawSelect(  # store.raw
    select(_L.c.identity_id, _I.c.identity_pool_id)
    .select_from(_L.outerjoin(_I, _I.c.id == _L.c.identity_id))
    .where(
        _L.c.identity_pool_id == bindparam("pool_id"),
        _L.c.provider == bindparam("provider"),
        _L.c.subject == bindparam("subject"),
    )
)


def _existing(conn: Connection, pool_id: str, logins: list[lg.Login]) -> str | None:
    """The one identity of ``pool_id`` every login already names (read only), else None."""
    found: set[str] = set()
    pools_of: dict[str, str | None] = {}
    for x in logins:
        if not x.linkable:
            if x.identity_id is None:
                return None
            found.add(x.identity_id)
            continue
        row = _OWNER_AND_POOL.first(conn, {"pool_id": pool_id, "provider": x.provider, "subject": x.subject})
        if row is None:
            return None
        found.add(str(row.identity_id))
        pools_of[str(row.identity_id)] = row.identity_pool_id
    if len(found) != 1:
        return None
    (identity_id,) = found
    in_pool = pools_of[identity_id] if identity_id in pools_of else pool_of(conn, identity_id)
    return identity_id if in_pool == pool_id else None


def create(conn: Connection, pool: pools.IdentityPool, now: dt.datetime) -> str:
    identity_id = f"{pool.region}:{uuid.uuid4()}"
    conn.execute(
        insert(_I).values(id=identity_id, identity_pool_id=pool.id, disabled=False, created_at=now, updated_at=now)
    )
    return identity_id


def _touch(conn: Connection, identity_id: str, now: dt.datetime, **values: Any) -> None:
    conn.execute(update(_I).where(_I.c.id == identity_id).values(updated_at=now, **values))


def _conflicts(held: list[tuple[str, str]], provider: str, subject: str, developer: str | None) -> bool:
    """An identity may hold one login per provider, except the developer provider."""
    return provider != developer and any(p == provider and s != subject for p, s in held)


def _merge(conn: Connection, pool: pools.IdentityPool, source: str, target: str, now: dt.datetime) -> None:
    """Move every login of ``source`` to ``target`` and delete ``source``."""
    held = [(r.provider, r.subject) for r in conn.execute(_LOGINS, {"id": target}).all()]
    for provider, subject in [(r.provider, r.subject) for r in conn.execute(_LOGINS, {"id": source}).all()]:
        if _conflicts(held, provider, subject, pool.developer_provider):
            raise ResourceConflictException(f"Identities cannot be merged: both are linked to a login from {provider}.")
        held.append((provider, subject))
    conn.execute(update(_L).where(_L.c.identity_id == source).values(identity_id=target))
    for hook in MERGE_HOOKS:
        hook(conn, source, target, now)
    conn.execute(delete(_I).where(_I.c.id == source))
    _touch(conn, target, now, disabled=False)


def link(conn: Connection, pool: pools.IdentityPool, target: str, logins: list[lg.Login], now: dt.datetime) -> str:
    """Link ``logins`` to ``target``, merging identities they already belong to; the surviving id.

    A guest identity (no logins) presenting a login that belongs to another identity is merged into
    that identity, as Cognito does when an unauthenticated user signs in.
    """
    current = get(conn, target)
    assert current is not None
    for login in logins:
        if not login.linkable:
            continue
        found = owner(conn, pool.id, login.provider, login.subject)
        if found == target:
            continue
        if found is not None:
            if not current.logins:  # a guest signs in: the guest identity joins the login's identity
                _merge(conn, pool, target, found, now)
                target = found
            else:
                _merge(conn, pool, found, target, now)
        else:
            if _conflicts(current.logins, login.provider, login.subject, pool.developer_provider):
                raise ResourceConflictException(f"This identity is already linked to another {login.provider} login.")
            conn.execute(
                insert(_L).values(
                    identity_pool_id=pool.id,
                    provider=login.provider,
                    subject=login.subject,
                    identity_id=target,
                    created_at=now,
                )
            )
            _touch(conn, target, now, disabled=False)
        refreshed = get(conn, target)
        assert refreshed is not None
        current = refreshed
    return target


def resolve(ctx: RequestContext, pool: pools.IdentityPool, logins: list[lg.Login], identity: Identity | None) -> str:
    """The identity for ``logins`` (GetId: ``identity`` None) or the given identity after the
    ownership check and linking (GetCredentialsForIdentity, GetOpenIdToken…); writes only when a
    login is new or identities merge."""
    if identity is not None:
        usable(identity)
        if _proves(identity, logins) and all(
            (not x.linkable) or (x.provider, x.subject) in identity.logins for x in logins
        ):
            return identity.id
    else:
        with ctx.store.read() as conn:
            existing = _existing(conn, pool.id, logins)
            if existing is not None:
                return existing
    with ctx.store.tx() as conn:
        if identity is None:
            identity_id: str | None = None
            for x in logins:
                found_id = x.identity_id if not x.linkable else owner(conn, pool.id, x.provider, x.subject)
                if found_id is not None and get(conn, found_id) is not None:
                    identity_id = found_id
                    break
            if identity_id is None:
                identity_id = create(conn, pool, ctx.now)
        else:
            identity_id = identity.id
            current = checked_identity(conn, pool, identity_id)
            if not _proves(current, logins):
                raise NotAuthorizedException(LOGINS_MISMATCH)
        return link(conn, pool, identity_id, logins, ctx.now)


def _proves(identity: Identity, logins: list[lg.Login]) -> bool:
    """A request acting on an authenticated identity must present one of its logins (or its
    OpenID token); a guest identity may be signed in with any valid login."""
    for x in logins:
        if not x.linkable and x.identity_id != identity.id:
            return False
    if not identity.logins:
        return True
    return any((not x.linkable) or (x.provider, x.subject) in identity.logins for x in logins)


def checked_identity(conn: Connection, pool: pools.IdentityPool, identity_id: str) -> Identity:
    identity = get(conn, identity_id)
    if identity is None or identity.pool_id != pool.id:
        raise identity_not_found(identity_id)
    return usable(identity)


# an identity, its pool and its logins in one statement (a row per login, or one with no login),
# on the driver's cursor (store.raw): GetCredentialsForIdentity's first read
_IDENTITY_AND_POOL = RawSelect(
    select(
        _I.c.id.label("identity_id"),
        _I.c.disabled,
        _I.c.created_at.label("identity_created_at"),
        _I.c.updated_at.label("identity_updated_at"),
        *t.identity_pools.c,
        _L.c.provider.label("login_provider"),
        _L.c.subject.label("login_subject"),
    )
    .select_from(
        _I.join(t.identity_pools, _I.c.identity_pool_id == t.identity_pools.c.id).outerjoin(
            _L, _L.c.identity_id == _I.c.id
        )
    )
    .where(_I.c.id == bindparam("id"))
    .order_by(_L.c.created_at)
)


def identity_and_pool(conn: Connection, identity_id: str) -> tuple[Identity, pools.IdentityPool]:
    """An identity (with its logins) and its pool, in one query; ResourceNotFoundException if unknown."""
    rows = _IDENTITY_AND_POOL.rows(conn, {"id": identity_id})
    if not rows:
        raise identity_not_found(identity_id)
    row = rows[0]
    linked = [(r.login_provider, r.login_subject) for r in rows if r.login_provider is not None]
    identity = Identity(
        row.identity_id,
        row.id,
        bool(row.disabled),
        utc(row.identity_created_at),
        utc(row.identity_updated_at),
        linked,
    )
    return identity, pools.from_row(row)


def pool_of_identity(conn: Connection, identity_id: str) -> pools.IdentityPool:
    return identity_and_pool(conn, identity_id)[1]


def usable(identity: Identity) -> Identity:
    """The identity, unless it is disabled (NotAuthorizedException)."""
    if identity.disabled:
        raise NotAuthorizedException(f"Identity '{identity.id}' is disabled.")
    return identity


def describe(identity: Identity) -> dict[str, Any]:
    """The IdentityDescription shape."""
    providers: list[str] = []
    for provider, _ in identity.logins:
        if provider not in providers:
            providers.append(provider)
    out: dict[str, Any] = {
        "IdentityId": identity.id,
        "CreationDate": identity.created_at,
        "LastModifiedDate": identity.updated_at,
    }
    if providers:
        out["Logins"] = providers
    return out


# -- operations ---------------------------------------------------------------------------------------


@operation("cognito-identity", "GetId", offload=lg.needs_offload)
def get_id(ctx: RequestContext, params: Params) -> Result:
    """GetId (unsigned): the identity of the given logins (created on first sight), or, without
    logins, a new unauthenticated identity when the pool allows guests."""
    pool_id = params["IdentityPoolId"]
    given = params.get("Logins") or {}
    with ctx.store.read() as conn:
        pool = pools.load_cached(conn, pool_id)
        if pool is None or (params.get("AccountId") and params["AccountId"] != pool.account_id):
            raise pools.not_found(pool_id)
        verified = lg.verify(conn, ctx, pool, given) if given else []
    if not verified:
        if not pool.allow_unauthenticated:
            raise NotAuthorizedException(UNAUTHENTICATED_OFF)
        with ctx.store.tx() as conn:
            return {"IdentityId": create(conn, pool, ctx.now)}
    return {"IdentityId": resolve(ctx, pool, verified, None)}


@operation("cognito-identity", "DescribeIdentity")
def describe_identity(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        identity = get(conn, params["IdentityId"])
        pool = pools.load(conn, identity.pool_id) if identity is not None else None
    if identity is None or pool is None or pool.account_id != ctx.account_id:
        raise identity_not_found(params["IdentityId"])
    return describe(identity)


@operation("cognito-identity", "ListIdentities", offload=True)
def list_identities(ctx: RequestContext, params: Params) -> Result:
    limit = int(params["MaxResults"])
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        pool = pools.for_caller(conn, ctx, params["IdentityPoolId"])
        query = select(_I).where(_I.c.identity_pool_id == pool.id).order_by(_I.c.created_at, _I.c.id).limit(limit + 1)
        if params.get("HideDisabled"):
            query = query.where(_I.c.disabled.is_(False))
        if after is not None:
            try:
                mark = dt.datetime.fromisoformat(str(after[0]))
            except (ValueError, IndexError):
                raise InvalidParameterException("Invalid NextToken.") from None
            query = query.where(tuple_(_I.c.created_at, _I.c.id) > tuple_(bindparam("m", mark), str(after[1])))
        rows = conn.execute(query).all()
        ids = [r.id for r in rows[:limit]]
        linked: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        if ids:
            for r in conn.execute(
                select(_L.c.identity_id, _L.c.provider, _L.c.subject)
                .where(_L.c.identity_id.in_(ids))
                .order_by(_L.c.created_at)
            ).all():
                linked[r.identity_id].append((r.provider, r.subject))
    out: dict[str, Any] = {
        "IdentityPoolId": pool.id,
        "Identities": [
            describe(Identity(r.id, pool.id, bool(r.disabled), utc(r.created_at), utc(r.updated_at), linked[r.id]))
            for r in rows[:limit]
        ],
    }
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([utc(last.created_at).isoformat(), last.id])
    return out


@operation("cognito-identity", "DeleteIdentities")
def delete_identities(ctx: RequestContext, params: Params) -> Result:
    """DeleteIdentities: unknown ids are ignored; identities of another account come back as
    UnprocessedIdentityIds with ErrorCode AccessDenied."""
    unprocessed: list[dict[str, str]] = []
    with ctx.store.tx() as conn:
        for identity_id in params["IdentityIdsToDelete"]:
            row = conn.execute(select(_I.c.identity_pool_id).where(_I.c.id == identity_id)).first()
            if row is None:
                continue
            pool = pools.load(conn, row.identity_pool_id)
            if pool is None or pool.account_id != ctx.account_id:
                unprocessed.append({"IdentityId": identity_id, "ErrorCode": "AccessDenied"})
                continue
            conn.execute(delete(_L).where(_L.c.identity_id == identity_id))
            conn.execute(delete(_I).where(_I.c.id == identity_id))
    return {"UnprocessedIdentityIds": unprocessed}


@operation("cognito-identity", "UnlinkIdentity", offload=lg.needs_offload)
def unlink_identity(ctx: RequestContext, params: Params) -> Result:
    """UnlinkIdentity (unsigned): the caller proves the identity with one of its logins, then
    unlinks the providers of LoginsToRemove (developer logins: UnlinkDeveloperIdentity)."""
    identity_id = params["IdentityId"]
    with ctx.store.read() as conn:
        identity, pool = identity_and_pool(conn, identity_id)
        verified = lg.verify(conn, ctx, pool, params["Logins"])
    usable(identity)
    if not identity.logins or not _proves(identity, verified):
        raise NotAuthorizedException(LOGINS_MISMATCH)
    # a user pool login is linked under its canonical name, whichever name the caller gives
    remove = {pools.canonical_provider(ctx.settings, name) for name in params["LoginsToRemove"]}
    if pool.developer_provider in remove:
        raise InvalidParameterException("Use UnlinkDeveloperIdentity to unlink developer user identifiers.")
    with ctx.store.tx() as conn:
        conn.execute(delete(_L).where(_L.c.identity_id == identity_id, _L.c.provider.in_(list(remove))))
        _disable_if_orphaned(conn, identity_id, ctx.now)
    return None


def _disable_if_orphaned(conn: Connection, identity_id: str, now: dt.datetime) -> None:
    left = conn.execute(select(_L.c.provider).where(_L.c.identity_id == identity_id).limit(1)).first()
    _touch(conn, identity_id, now, **({} if left is not None else {"disabled": True}))


# -- developer-authenticated identities ------------------------------------------------------------


def _developer_pool(conn: Connection, ctx: RequestContext, pool_id: str, name: str | None = None) -> pools.IdentityPool:
    pool = pools.for_caller(conn, ctx, pool_id)
    if not pool.developer_provider:
        raise InvalidParameterException("This identity pool has no DeveloperProviderName.")
    if name is not None and name != pool.developer_provider:
        raise ResourceNotFoundException(f"Developer provider {name} is not configured for this identity pool.")
    return pool


@operation("cognito-identity", "LookupDeveloperIdentity")
def lookup_developer_identity(ctx: RequestContext, params: Params) -> Result:
    identity_id = params.get("IdentityId")
    user = params.get("DeveloperUserIdentifier")
    if not identity_id and not user:
        raise InvalidParameterException("IdentityId or DeveloperUserIdentifier must be specified.")
    limit = int(params.get("MaxResults") or 60)
    with ctx.store.read() as conn:
        pool = _developer_pool(conn, ctx, params["IdentityPoolId"])
        if user:
            found = owner(conn, pool.id, pool.developer_provider or "", user)
            if found is None or (identity_id and identity_id != found):
                raise ResourceNotFoundException(f"Developer user identifier {user} not found.")
            identity_id = found
        identity = get(conn, str(identity_id))
    if identity is None or identity.pool_id != pool.id:
        raise identity_not_found(str(identity_id))
    users = sorted(s for p, s in identity.logins if p == pool.developer_provider)
    start = 0
    after = paging.decode(params.get("NextToken"))
    if after:
        start = sum(1 for u in users if u <= str(after[0]))
    chunk = users[start : start + limit]
    out: dict[str, Any] = {"IdentityId": identity.id, "DeveloperUserIdentifierList": chunk}
    if start + limit < len(users):
        out["NextToken"] = paging.encode([chunk[-1]])
    return out


@operation("cognito-identity", "MergeDeveloperIdentities")
def merge_developer_identities(ctx: RequestContext, params: Params) -> Result:
    """MergeDeveloperIdentities: the source user's identity (all its logins) joins the destination's."""
    with ctx.store.tx() as conn:
        pool = _developer_pool(conn, ctx, params["IdentityPoolId"], params["DeveloperProviderName"])
        provider = pool.developer_provider or ""
        source = owner(conn, pool.id, provider, params["SourceUserIdentifier"])
        target = owner(conn, pool.id, provider, params["DestinationUserIdentifier"])
        if source is None:
            raise ResourceNotFoundException(f"Developer user identifier {params['SourceUserIdentifier']} not found.")
        if target is None:
            raise ResourceNotFoundException(
                f"Developer user identifier {params['DestinationUserIdentifier']} not found."
            )
        if source != target:
            _merge(conn, pool, source, target, ctx.now)
    return {"IdentityId": target}


@operation("cognito-identity", "UnlinkDeveloperIdentity")
def unlink_developer_identity(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = _developer_pool(conn, ctx, params["IdentityPoolId"], params["DeveloperProviderName"])
        found = owner(conn, pool.id, pool.developer_provider or "", params["DeveloperUserIdentifier"])
        if found is None or found != params["IdentityId"]:
            raise ResourceNotFoundException(
                f"Developer user identifier {params['DeveloperUserIdentifier']} is not linked to this identity."
            )
        conn.execute(
            delete(_L).where(
                _L.c.identity_pool_id == pool.id,
                _L.c.provider == pool.developer_provider,
                _L.c.subject == params["DeveloperUserIdentifier"],
            )
        )
        _disable_if_orphaned(conn, found, ctx.now)
    return None


def link_developer(
    ctx: RequestContext, pool: pools.IdentityPool, verified: list[lg.Login], identity_id: str | None
) -> str:
    """GetOpenIdTokenForDeveloperIdentity's linking: a developer user already registered under a
    different identity than the one named is DeveloperUserAlreadyRegisteredException."""
    with ctx.store.tx() as conn:
        if identity_id is not None:
            identity = get(conn, identity_id)
            if identity is None or identity.pool_id != pool.id:
                raise identity_not_found(identity_id)
            for x in verified:
                if x.developer:
                    found = owner(conn, pool.id, x.provider, x.subject)
                    if found is not None and found != identity_id:
                        raise DeveloperUserAlreadyRegisteredException(
                            "The provided developer user identifier is already registered with Cognito under a "
                            "different identity ID."
                        )
        else:
            for x in verified:
                found = x.identity_id if not x.linkable else owner(conn, pool.id, x.provider, x.subject)
                if found is not None:
                    identity_id = found
                    break
            if identity_id is None:
                identity_id = create(conn, pool, ctx.now)
        return link(conn, pool, identity_id, verified, ctx.now)
