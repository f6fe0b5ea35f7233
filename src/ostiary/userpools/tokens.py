"""Token issuance, refresh-token lineages, revocation and access-token checks.

A sign-in creates one lineage (a ``refresh_tokens`` row whose id is the ``origin_jti`` of every
token minted from it). The refresh token itself is 64 random bytes, opaque to clients, stored as a
SHA-256 hash. RevokeToken revokes one lineage; GlobalSignOut, AdminUserGlobalSignOut, disabling
or deleting a user revoke all of the user's lineages, and every access token of a revoked lineage
is refused ("Access Token has been revoked").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ostiary import jsonlimits
from ostiary.caching import TtlCache
from ostiary.config import Settings
from ostiary.crypto import jwt
from ostiary.crypto.keys import KeyRing
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.store.raw import RawSelect
from ostiary.userpools import claims as c
from ostiary.userpools import directory, session_tracking, triggers
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import InvalidLambdaResponseException, NotAuthorizedException, UserNotFoundException
from ostiary.userpools.lookup import pool_by_id

POOL_ID_SHAPE = "_"


def issuer(settings: Settings, pool_id: str) -> str:
    return settings.pool_issuer(pool_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(96)


@dataclass(frozen=True)
class Lineage:
    id: str
    user_id: str
    client_id: str
    auth_time: dt.datetime
    expires_at: dt.datetime
    revoked: bool
    device_key: str | None
    current: bool  # False when found through the previous (rotated) token
    scopes: list[str] | None = None  # OAuth scopes of a hosted-UI sign-in (None: the API's default)


_NEW_LINEAGE = insert(t.refresh_tokens)  # built once; the values come with each execution


def start_lineage(
    conn: Connection,
    pool: PoolView,
    user: User,
    client: dict[str, Any],
    now: dt.datetime,
    device_key: str | None = None,
    scopes: list[str] | None = None,
    ip: str | None = None,
    origin_sso: str | None = None,
    lineage_id: str | None = None,
    auth_time: dt.datetime | None = None,
) -> tuple[c.SignInEvent, str]:
    """A new sign-in: (event, refresh token); ``ip`` and ``origin_sso`` (the SSO session of a hosted
    sign-in) count only where the pool tracks sessions (session_tracking.on_new_lineage); ``lineage_id``:
    the lineage's id when the caller must find it again (an authorization code's), else random;
    ``auth_time``: when the user signed in, if not ``now`` (a code exchanged later, a reused SSO
    session): every token of the lineage, refreshed ones included, carries it (OIDC Core §12.2)."""
    lineage_id = lineage_id or str(uuid.uuid4())
    auth_time = auth_time or now
    token = new_refresh_token()
    if secrets.randbelow(256) == 0:  # now and then, sweep lineages that expired more than a day ago
        conn.execute(t.refresh_tokens.delete().where(t.refresh_tokens.c.expires_at < now - dt.timedelta(days=1)))
    tracked = session_tracking.on_new_lineage(conn, pool.id, user.id, now, ip, origin_sso)
    conn.execute(
        _NEW_LINEAGE,
        {
            "id": lineage_id,
            "user_pool_id": pool.id,
            "user_id": user.id,
            "client_id": client["ClientId"],
            "token_hash": hash_token(token),
            "previous_hash": None,
            "auth_time": auth_time,
            "created_at": now,
            "expires_at": now + dt.timedelta(seconds=c.validity_seconds(client, "RefreshToken")),
            "revoked_at": None,
            "device_key": device_key,
            "scopes": " ".join(scopes) if scopes else None,
            **tracked,
        },
    )
    event = c.SignInEvent(origin_jti=lineage_id, auth_time=int(auth_time.timestamp()), event_id=str(uuid.uuid4()))
    return event, token


_BY_HASH = select(t.refresh_tokens).where(
    t.refresh_tokens.c.user_pool_id == bindparam("pool_id"), t.refresh_tokens.c.token_hash == bindparam("h")
)
_BY_PREVIOUS = select(t.refresh_tokens).where(
    t.refresh_tokens.c.user_pool_id == bindparam("pool_id"), t.refresh_tokens.c.previous_hash == bindparam("h")
)


def find_lineage(conn: Connection, pool_id: str, token: str) -> Lineage | None:
    """The lineage of a refresh token: its current token, or (rotation grace) the one before."""
    h = hash_token(token)
    row = conn.execute(_BY_HASH, {"pool_id": pool_id, "h": h}).first()
    if row is None:
        row = conn.execute(_BY_PREVIOUS, {"pool_id": pool_id, "h": h}).first()
    if row is None:
        return None
    return Lineage(
        id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        auth_time=utc(row.auth_time),
        expires_at=utc(row.expires_at),
        revoked=row.revoked_at is not None,
        device_key=row.device_key,
        current=row.token_hash == h,
        scopes=row.scopes.split() if row.scopes else None,
    )


_RT = t.refresh_tokens.c
_LINEAGE_COLUMNS = (
    _RT.id.label("rt_id"),
    _RT.client_id.label("rt_client_id"),
    _RT.token_hash.label("rt_token_hash"),
    _RT.auth_time.label("rt_auth_time"),
    _RT.expires_at.label("rt_expires_at"),
    _RT.revoked_at.label("rt_revoked_at"),
    _RT.device_key.label("rt_device_key"),
    _RT.scopes.label("rt_scopes"),
)
_GM, _G = t.group_members.c, t.groups.c
# lineage, user and the user's groups in one read: one row per group (one row with NULL group
# columns for a user in none)
_JOINED = (
    t.refresh_tokens.join(t.users, (t.users.c.id == _RT.user_id) & (t.users.c.user_pool_id == _RT.user_pool_id))
    .outerjoin(t.group_members, (_GM.user_pool_id == t.users.c.user_pool_id) & (_GM.user_id == t.users.c.id))
    .outerjoin(t.groups, (_G.user_pool_id == _GM.user_pool_id) & (_G.name == _GM.group_name))
)
_GROUP_COLUMNS = (_G.name.label("g_name"), _G.precedence.label("g_precedence"), _G.role_arn.label("g_role_arn"))
_USER_BY_HASH = (
    select(*directory.TOKEN_COLUMNS, *_LINEAGE_COLUMNS, *_GROUP_COLUMNS)
    .select_from(_JOINED)
    .where(_RT.user_pool_id == bindparam("pool_id"), _RT.token_hash == bindparam("h"))
)
_USER_BY_PREVIOUS = (
    select(*directory.TOKEN_COLUMNS, *_LINEAGE_COLUMNS, *_GROUP_COLUMNS)
    .select_from(_JOINED)
    .where(_RT.user_pool_id == bindparam("pool_id"), _RT.previous_hash == bindparam("h"))
)
# the refresh's one read, on the driver's cursor (store.raw: a third of SQLAlchemy's cost per statement)
_RAW_USER_BY_HASH = RawSelect(_USER_BY_HASH)
_RAW_USER_BY_PREVIOUS = RawSelect(_USER_BY_PREVIOUS)


def find_lineage_and_user(conn: Connection, pool: PoolView, token: str) -> tuple[Lineage, User] | None:
    """As find_lineage, with the lineage's user (directory.token_user: what tokens need) and its
    groups (``user.groups``) read in the same query (None: no such token, or its user is gone)."""
    h = hash_token(token)
    params = {"pool_id": pool.id, "h": h}
    rows = _RAW_USER_BY_HASH.rows(conn, params)
    if not rows:
        rows = _RAW_USER_BY_PREVIOUS.rows(conn, params)
    if not rows:
        return None
    row = rows[0]
    lineage = Lineage(
        id=row.rt_id,
        user_id=row.id,
        client_id=row.rt_client_id,
        auth_time=utc(row.rt_auth_time),
        expires_at=utc(row.rt_expires_at),
        revoked=row.rt_revoked_at is not None,
        device_key=row.rt_device_key,
        current=row.rt_token_hash == h,
        scopes=row.rt_scopes.split() if row.rt_scopes else None,
    )
    user = directory.token_user(row)
    user.groups = [c.GroupInfo(r.g_name, r.g_precedence, r.g_role_arn) for r in rows if r.g_name is not None]
    return lineage, user


def rotate_refresh_token(
    conn: Connection, lineage: Lineage, presented: str, client: dict[str, Any], now: dt.datetime
) -> str | None:
    """Refresh-token rotation: a new token; the previous one stays valid for the grace period only
    through ``previous_hash`` (one step back), as Cognito's RetryGracePeriodSeconds allows.

    The token ``presented`` is spent once: the update applies only while the lineage still holds it
    where it was found (current, or previous), so of two refreshes with one token at once, on one
    process or two, the second waits for the first's row lock and then matches nothing: None."""
    token = new_refresh_token()
    h = hash_token(presented)
    rt = t.refresh_tokens.c
    held = rt.token_hash == h if lineage.current else rt.previous_hash == h
    rotated = conn.execute(
        update(t.refresh_tokens)
        .where(rt.id == lineage.id, held)
        # SET reads the row as it was: the token being replaced becomes the previous one
        .values(
            token_hash=hash_token(token),
            previous_hash=rt.token_hash,
            expires_at=now + dt.timedelta(seconds=c.validity_seconds(client, "RefreshToken")),
        )
    ).rowcount
    return token if rotated == 1 else None


def revoke_lineage(conn: Connection, lineage_id: str, now: dt.datetime) -> None:
    conn.execute(
        update(t.refresh_tokens)
        .where(t.refresh_tokens.c.id == lineage_id, t.refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user(conn: Connection, user_id: str, now: dt.datetime) -> None:
    """Sign the user out everywhere: every lineage, and so every access token, is revoked."""
    conn.execute(
        update(t.refresh_tokens)
        .where(t.refresh_tokens.c.user_id == user_id, t.refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


_REVOKED = RawSelect(  # store.raw: identity pools' ServerSideTokenCheck reads it on every login
    select(t.refresh_tokens.c.revoked_at.is_not(None).label("revoked")).where(
        t.refresh_tokens.c.id == bindparam("lineage_id")
    )
)


def lineage_revoked(conn: Connection, lineage_id: str) -> bool:
    row = _REVOKED.first(conn, {"lineage_id": lineage_id})
    return row is None or bool(row.revoked)


def mint(
    keys: KeyRing,
    settings: Settings,
    pool: PoolView,
    client: dict[str, Any],
    user: User,
    event: c.SignInEvent,
    now: dt.datetime,
    *,
    scopes: list[str] | None = None,
    device_key: str | None = None,
    nonce: str | None = None,
    with_id_token: bool = True,
    source: str = "TokenGeneration_Authentication",
    client_metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Signed ID and access tokens for ``user`` (AuthenticationResult fields, without RefreshToken);
    ``source`` is the pre token generation trigger's triggerSource, ``client_metadata`` its
    clientMetadata (the request's: RequestContext.client_metadata)."""
    iss = issuer(settings, pool.id)
    iat = int(now.timestamp())
    access_validity = c.validity_seconds(client, "AccessToken")
    readable = set(client["ReadAttributes"]) if client.get("ReadAttributes") else None
    access_claims = c.access_token_claims(
        issuer=iss,
        sub=user.id,
        username=user.username,
        client_id=client["ClientId"],
        groups=user.groups,
        scopes=scopes or [c.USER_ADMIN_SCOPE],
        event=event,
        issued_at=iat,
        validity_seconds=access_validity,
        device_key=device_key,
    )
    id_claims: dict[str, Any] | None = None
    if with_id_token:
        id_claims = c.id_token_claims(
            issuer=iss,
            sub=user.id,
            username=user.username,
            client_id=client["ClientId"],
            attributes=user.attributes,
            readable=readable,
            groups=user.groups,
            event=event,
            issued_at=iat,
            validity_seconds=c.validity_seconds(client, "IdToken"),
            nonce=nonce,
        )
    if triggers.configured(pool, "PreTokenGeneration"):
        _pre_token_generation(settings, pool, client, user, source, id_claims, access_claims, client_metadata or {})
    access_key = keys.signing_key(pool.id, "access")
    result: dict[str, Any] = {
        "AccessToken": jwt.sign(access_claims, access_key.kid, access_key.private),
        "ExpiresIn": access_validity,
        "TokenType": "Bearer",
    }
    if id_claims is not None:
        id_key = keys.signing_key(pool.id, "id")
        result["IdToken"] = jwt.sign(id_claims, id_key.kid, id_key.private)
    return result


# Claims a pre token generation trigger cannot change (Cognito Developer Guide, "Pre token generation
# Lambda trigger": the reserved claims).
RESERVED_CLAIMS = frozenset(
    {
        "acr",
        "amr",
        "aud",
        "auth_time",
        "azp",
        "exp",
        "iat",
        "identities",
        "iss",
        "sub",
        "token_use",
        "nonce",
        "at_hash",
        "cognito:username",
        "origin_jti",
        "event_id",
        "jti",
        "client_id",
        "username",
        "scope",
        "device_key",
        "version",
    }
)


def _apply_claims(claims: dict[str, Any], details: dict[str, Any], string_only: bool) -> None:
    for name in details.get("claimsToSuppress") or []:
        if name not in RESERVED_CLAIMS:
            claims.pop(name, None)
    for name, value in (details.get("claimsToAddOrOverride") or {}).items():
        if name in RESERVED_CLAIMS:
            continue
        if string_only and not isinstance(value, str):
            raise InvalidLambdaResponseException("claimsToAddOrOverride values must be strings (V1 trigger)")
        claims[name] = value


def _apply_access(access_claims: dict[str, Any], access: dict[str, Any]) -> None:
    """accessTokenGeneration of a V2/V3 response: claims and scopes."""
    if not isinstance(access, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    _apply_claims(access_claims, access, string_only=False)
    scopes = str(access_claims.get("scope", "")).split()
    scopes += [s for s in access.get("scopesToAdd") or [] if s not in scopes]
    suppress = set(access.get("scopesToSuppress") or [])
    access_claims["scope"] = " ".join(s for s in scopes if s not in suppress)


def pre_token_generation_m2m(
    settings: Settings, pool: PoolView, client_id: str, access_claims: dict[str, Any], metadata: dict[str, str]
) -> None:
    """TokenGeneration_ClientCredentials: only pools whose trigger is V3_0 get it (V1/V2 events are
    for users); no user, so no userName, empty userAttributes and groups; changes the claims in place."""
    if triggers.pre_token_version(pool) != "3":
        return
    request: dict[str, Any] = {
        "userAttributes": {},
        "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [], "preferredRole": None},
        "scopes": str(access_claims.get("scope", "")).split(),
        "clientMetadata": metadata,
    }
    response = (
        triggers.run(
            settings, pool, "PreTokenGeneration", "TokenGeneration_ClientCredentials", None, client_id, request, "3"
        )
        or {}
    )
    details = response.get("claimsAndScopeOverrideDetails") or {}
    if not isinstance(details, dict):
        raise InvalidLambdaResponseException("Unrecognizable lambda output")
    _apply_access(access_claims, details.get("accessTokenGeneration") or {})


def _pre_token_generation(
    settings: Settings,
    pool: PoolView,
    client: dict[str, Any],
    user: User,
    source: str,
    id_claims: dict[str, Any] | None,
    access_claims: dict[str, Any],
    client_metadata: dict[str, str],
) -> None:
    """Pre token generation, V1 (ID token claims) or V2/V3 (ID and access token claims, scopes),
    with group overrides; changes the claims in place."""
    version = triggers.pre_token_version(pool)
    groups = c.ordered_groups(user.groups)
    request: dict[str, Any] = {
        "userAttributes": triggers.user_attributes(user),
        "groupConfiguration": {
            "groupsToOverride": [g.name for g in groups],
            "iamRolesToOverride": list(dict.fromkeys(g.role_arn for g in groups if g.role_arn)),
            "preferredRole": c.preferred_role(groups),
        },
        "clientMetadata": client_metadata,
    }
    if version != "1":
        request["scopes"] = str(access_claims.get("scope", "")).split()
    response = (
        triggers.run(settings, pool, "PreTokenGeneration", source, user.username, client["ClientId"], request, version)
        or {}
    )
    if version == "1":
        details = response.get("claimsOverrideDetails") or {}
        if not isinstance(details, dict):
            raise InvalidLambdaResponseException("Unrecognizable lambda output")
        if id_claims is not None:
            _apply_claims(id_claims, details, string_only=True)
        group_override = details.get("groupOverrideDetails")
    else:
        details = response.get("claimsAndScopeOverrideDetails") or {}
        if not isinstance(details, dict):
            raise InvalidLambdaResponseException("Unrecognizable lambda output")
        if id_claims is not None:
            _apply_claims(id_claims, details.get("idTokenGeneration") or {}, string_only=False)
        _apply_access(access_claims, details.get("accessTokenGeneration") or {})
        group_override = details.get("groupOverrideDetails")
    if isinstance(group_override, dict):
        targets = [access_claims] + ([id_claims] if id_claims is not None else [])
        if group_override.get("groupsToOverride") is not None:
            for claims in targets:
                claims["cognito:groups"] = list(group_override["groupsToOverride"])
        if id_claims is not None:
            if group_override.get("iamRolesToOverride") is not None:
                id_claims["cognito:roles"] = list(group_override["iamRolesToOverride"])
            if group_override.get("preferredRole") is not None:
                id_claims["cognito:preferred_role"] = group_override["preferredRole"]


@dataclass(frozen=True)
class AccessContext:
    pool_id: str
    user_id: str
    username: str
    client_id: str
    claims: dict[str, Any]


def pool_id_of(token: str) -> str:
    """The pool an access token claims to come from (its ``iss`` suffix), before verification."""
    try:
        body = jwt.b64url_decode(token.split(".")[1])
        iss = jsonlimits.loads(body).get("iss", "")
    except (ValueError, IndexError, AttributeError):
        raise NotAuthorizedException("Invalid Access Token") from None
    pool_id = str(iss).rsplit("/", 1)[-1]
    if POOL_ID_SHAPE not in pool_id:
        raise NotAuthorizedException("Invalid Access Token")
    return pool_id


# Access tokens whose signature this process has checked, by their exact text: a token presented
# again skips the RSA verification and JSON parsing, and nothing else. Expiry, issuer, token use and
# scope are checked on every use, revocation is read from the store on every use, and an entry
# counts only while its key is still one of the pool's keys (the same key object the key ring holds:
# a reload keeps the objects of unchanged keys; a rotated or retired key is a new object, and the
# token is verified again).
VERIFIED_TOKENS = 4096  # the default of cache_verified_token_max_entries
_verified: TtlCache[str, tuple[str, str, Any, dict[str, Any]]] = TtlCache(
    "verified_tokens", ttl=None, maxsize=VERIFIED_TOKENS
)


def _verified_claims(keys: KeyRing, token: str, now: float) -> tuple[str, dict[str, Any]]:
    """(pool id, claims) of a token signed by its pool's key and not expired; jwt.TokenError otherwise."""
    hit = _verified.get(token)
    if hit is not None:
        pool_id, kid, key, claims = hit
        if keys.public_keys(pool_id).get(kid) is key:
            if now > claims["exp"]:
                _verified.pop(token)
                raise jwt.TokenError(jwt.TokenProblem.EXPIRED)
            nbf = claims.get("nbf")
            if isinstance(nbf, (int, float)) and now < nbf:
                raise jwt.TokenError(jwt.TokenProblem.NOT_YET_VALID)
            return pool_id, claims
    pool_id = pool_id_of(token)
    kid = str(jwt.unverified_header(token).get("kid"))
    try:
        public = keys.public_keys(pool_id, kid)
    except KeyError:  # no such pool (its iss names a pool that does not exist, or no longer does)
        raise jwt.TokenError(jwt.TokenProblem.UNKNOWN_KEY) from None
    claims = jwt.verify(token, public, now)
    key = public.get(kid)
    if key is not None and isinstance(claims.get("exp"), (int, float)):
        _verified.set(token, (pool_id, kid, key, claims))
    return pool_id, claims


def verify_access_token(
    keys: KeyRing, settings: Settings, token: str, now: dt.datetime, scope: str = c.USER_ADMIN_SCOPE
) -> AccessContext:
    """Signature, issuer, token_use, expiry and scope of an access token (not revocation: see
    check_access_token)."""
    try:
        pool_id, claims = _verified_claims(keys, token, now.timestamp())
    except jwt.TokenError as err:
        if err.problem is jwt.TokenProblem.EXPIRED:
            raise NotAuthorizedException("Access Token has expired") from None
        raise NotAuthorizedException("Invalid Access Token") from None
    if claims.get("iss") != issuer(settings, pool_id) or claims.get("token_use") != "access":
        raise NotAuthorizedException("Invalid Access Token")
    if scope not in str(claims.get("scope", "")).split():
        raise NotAuthorizedException("Access Token does not have required scopes")
    return AccessContext(
        pool_id=pool_id,
        user_id=str(claims.get("sub")),
        username=str(claims.get("username")),
        client_id=str(claims.get("client_id")),
        claims=claims,
    )


def check_access_token(
    conn: Connection, keys: KeyRing, settings: Settings, token: str, now: dt.datetime, scope: str = c.USER_ADMIN_SCOPE
) -> AccessContext:
    """Signature, issuer, token_use, expiry, scope and revocation of an access token."""
    access = verify_access_token(keys, settings, token, now, scope)
    origin = access.claims.get("origin_jti")
    if origin and lineage_revoked(conn, str(origin)):
        raise NotAuthorizedException("Access Token has been revoked")
    return access


# the user of an access token and whether its lineage is live, in one read (all the user's columns,
# or the token columns only)
_LINEAGE_LIVE = (
    select(t.refresh_tokens.c.id)
    .where(t.refresh_tokens.c.id == bindparam("lineage_id"), t.refresh_tokens.c.revoked_at.is_(None))
    .exists()
    .label("lineage_live")
)
_THE_USER = (t.users.c.user_pool_id == bindparam("pool_id"), t.users.c.id == bindparam("user_id"))
_USER_AND_LINEAGE = select(*directory.USER_COLUMNS, _LINEAGE_LIVE).where(*_THE_USER)
_TOKEN_USER_AND_LINEAGE = select(*directory.TOKEN_COLUMNS, _LINEAGE_LIVE).where(*_THE_USER)
# every token check reads through these (store.raw: the driver's cursor, no Core execution per call)
_RAW_USER_AND_LINEAGE = RawSelect(_USER_AND_LINEAGE)
_RAW_TOKEN_USER_AND_LINEAGE = RawSelect(_TOKEN_USER_AND_LINEAGE)


def access_token_user(
    conn: Connection, keys: KeyRing, settings: Settings, token: str, now: dt.datetime, *, full: bool = True
) -> tuple[AccessContext, User | None]:
    """check_access_token (with the same errors, revocation first) and the token's user (None: not
    in the pool any more), read together; ``full=False``: directory.token_user's columns only."""
    access = verify_access_token(keys, settings, token, now)
    origin = access.claims.get("origin_jti")
    if not origin:
        return access, directory.get_in_pool(conn, access.pool_id, access.user_id)
    params = {"pool_id": access.pool_id, "user_id": access.user_id, "lineage_id": str(origin)}
    row = (_RAW_USER_AND_LINEAGE if full else _RAW_TOKEN_USER_AND_LINEAGE).first(conn, params)
    if row is None:
        if lineage_revoked(conn, str(origin)):
            raise NotAuthorizedException("Access Token has been revoked")
        return access, None
    if not row.lineage_live:
        raise NotAuthorizedException("Access Token has been revoked")
    return access, directory.from_row(row) if full else directory.token_user(row)


def signed_in_user(
    ctx: RequestContext, conn: Connection, token: str, *, full: bool = True
) -> tuple[User, AccessContext]:
    """The user an access token speaks for (signature, expiry, scope, revocation checked); ``full=False``:
    identity, status, attributes and MFA settings only (directory.token_user)."""
    access, user = access_token_user(conn, ctx.keys, ctx.settings, token, ctx.now, full=full)
    if user is None:
        raise UserNotFoundException("User does not exist.")
    if not user.enabled:
        raise NotAuthorizedException("User is disabled.")
    return user, access


def signed_in(
    ctx: RequestContext, conn: Connection, token: str, *, full: bool = True
) -> tuple[PoolView, User, AccessContext]:
    """The pool, user and access-token context of an access token (every check of signed_in_user),
    for operations authorized by the signed-in user's token (self-service, passkeys, user sessions)."""
    user, access = signed_in_user(ctx, conn, token, full=full)
    pool = pool_by_id(conn, access.pool_id)
    if pool is None:
        raise NotAuthorizedException("Invalid Access Token")
    return pool, user, access
