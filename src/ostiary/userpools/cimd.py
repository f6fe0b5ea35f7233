"""Client ID metadata documents (CIMD, draft-ietf-oauth-client-id-metadata-document): the CIMD
policies of a user pool (CreateCIMDPolicy, UpdateCIMDPolicy, DeleteCIMDPolicy, DescribeCIMDPolicy,
ListCIMDPolicies), the metadata URLs they received (ListClientMetadataURLs,
UpdateClientMetadataURLState), and ``resolve``: the client an https ``client_id`` stands for at
/oauth2/authorize and /oauth2/token (docs/cimd.md).

A policy maps one to five https URL patterns (``*`` a wildcard: within one host label in the
authority, any run of characters in the path) to one app client of the pool. A ``client_id`` that is
an https URL matching a policy's pattern is a client of its own: Ostiary fetches the JSON document at
that URL through the egress policy (``egress.py``: public addresses only unless the operator
allow-lists a network, no redirect followed, at most ``cimd_max_document_bytes``), and accepts it
only when

- the URL is an https URL with a path, without fragment, credentials, or ``.``/``..`` segments, at
  most 256 characters;
- the answer is 200 with a JSON object whose ``client_id`` is exactly the URL;
- it carries no ``client_secret``/``client_secret_expires_at``, its ``token_endpoint_auth_method``
  is ``none`` (CIMD clients are public), and it lists ``redirect_uris`` (absolute https URIs, or http
  on loopback, no fragments);
- its grants (``grant_types``, default ``authorization_code``) are ones the app client allows too;
  ``client_credentials`` never.

The client then acts as the app client with the document's redirect URIs, the code flow when both
allow it (no implicit flow: PKCE is required), the scopes both allow, and no secret. Its
authorization codes belong to it alone (``ClientView.code_owner``); it gets no refresh token
(Ostiary's refresh tokens are the app client's lineages, which a public client naming itself with a
URL must not extend).

A validated document is kept in ``cimd_urls`` until it expires — the answer's ``Cache-Control:
max-age`` when between one day and one year, else the policy's CacheDuration (default one day) — and
per process for ``cache_cimd_seconds``, as is a refusal (a URL whose document was refused is not
fetched again by every request naming it). REFRESH fetches it again at once; INVALIDATE drops it (the
next authorization request fetches it again).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary import egress
from ostiary.caching import TtlCache
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.store.upserts import insert_ignore
from ostiary.userpools import paging
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import (
    CachedCIMDURLDoesNotExistException,
    InvalidParameterException,
    LimitExceededException,
    ResourceNotFoundException,
)
from ostiary.userpools.lookup import ClientView, client_by_id, client_in_pool, pool_for_caller

DEFAULT_CACHE_SECONDS = 86400
MIN_CACHE_SECONDS, MAX_CACHE_SECONDS = 86400, 31556952
MAX_POLICIES_PER_POOL = 20
MAX_URLS_PER_POLICY = 1000
MAX_URL_LENGTH = 256
GRANTS = {"authorization_code": "code"}  # document grant → app client flow (PKCE: the code flow only)

_cache: TtlCache[str, Any] = TtlCache("cimd_documents", ttl=60)


class CimdRefused(Exception):
    """A client_id URL that does not stand for a client; the message says why (never the document)."""


# -- the policies ------------------------------------------------------------------------------------


def _policy_shape(row: Row[Any], client_exists: bool, summary: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "CIMDPolicyId": row.policy_id,
        "PolicyName": row.name,
        "CreationDate": utc(row.created_at),
        "LastModifiedDate": utc(row.updated_at),
    }
    if not summary:
        out["UserPoolId"] = row.user_pool_id
        out["URLPatterns"] = list(row.url_patterns)
    if client_exists:
        out["ClientId"] = row.client_id
    if row.cache_duration is not None:
        out["CacheDuration"] = row.cache_duration
    return out


def _client_exists(conn: Connection, ctx: RequestContext, pool: PoolView, client_id: str) -> bool:
    client = client_by_id(conn, ctx.runtime.box, client_id)
    return client is not None and client.pool_id == pool.id


def _check_patterns(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        parts = urlsplit(pattern)
        if parts.scheme != "https" or not parts.netloc or parts.fragment or "@" in parts.netloc:
            raise InvalidParameterException(
                f"URL pattern {pattern} must be an https URL without credentials or fragment."
            )
    return list(dict.fromkeys(patterns))


def _find_policy(conn: Connection, pool: PoolView, policy_id: str, *, lock: bool = False) -> Row[Any]:
    c = t.cimd_policies.c
    query = select(t.cimd_policies).where(c.policy_id == policy_id, c.user_pool_id == pool.id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise ResourceNotFoundException(f"CIMD policy {policy_id} does not exist.")
    return row


def _forget(pool_id: str) -> None:
    _cache.clear()  # policies and documents of this process; others see changes within the lifetime


@operation("cognito-idp", "CreateCIMDPolicy")
def create_cimd_policy(ctx: RequestContext, params: Params) -> Result:
    patterns = _check_patterns(params["URLPatterns"])
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client_in_pool(conn, ctx.runtime.box, pool, params["ClientId"])
        c = t.cimd_policies.c
        count = conn.execute(select(func.count()).select_from(t.cimd_policies).where(c.user_pool_id == pool.id))
        if count.scalar_one() >= MAX_POLICIES_PER_POOL:
            raise LimitExceededException(f"A user pool can have at most {MAX_POLICIES_PER_POOL} CIMD policies.")
        policy_id = secrets.token_hex(16)
        conn.execute(
            insert(t.cimd_policies).values(
                policy_id=policy_id,
                user_pool_id=pool.id,
                client_id=params["ClientId"],
                name=params["PolicyName"],
                cache_duration=params.get("CacheDuration"),
                url_patterns=patterns,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        row = _find_policy(conn, pool, policy_id)
    _forget(pool.id)
    return {"CIMDPolicy": _policy_shape(row, True)}


@operation("cognito-idp", "UpdateCIMDPolicy")
def update_cimd_policy(ctx: RequestContext, params: Params) -> Result:
    patterns = _check_patterns(params["URLPatterns"])
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client_in_pool(conn, ctx.runtime.box, pool, params["ClientId"])
        row = _find_policy(conn, pool, params["CIMDPolicyId"], lock=True)
        values: dict[str, Any] = {
            "client_id": params["ClientId"],
            "url_patterns": patterns,
            "cache_duration": params.get("CacheDuration"),
            "updated_at": ctx.now,
        }
        if "PolicyName" in params:
            values["name"] = params["PolicyName"]
        conn.execute(update(t.cimd_policies).where(t.cimd_policies.c.policy_id == row.policy_id).values(**values))
        # documents received under the old patterns or client are fetched again under the new ones
        conn.execute(
            update(t.cimd_urls)
            .where(t.cimd_urls.c.policy_id == row.policy_id)
            .values(document=None, cached_at=None, expires_at=None)
        )
        row = _find_policy(conn, pool, row.policy_id)
    _forget(pool.id)
    return {"CIMDPolicy": _policy_shape(row, True)}


@operation("cognito-idp", "DeleteCIMDPolicy")
def delete_cimd_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _find_policy(conn, pool, params["CIMDPolicyId"], lock=True)
        conn.execute(delete(t.cimd_urls).where(t.cimd_urls.c.policy_id == row.policy_id))
        conn.execute(delete(t.cimd_policies).where(t.cimd_policies.c.policy_id == row.policy_id))
    _forget(pool.id)
    return {}


@operation("cognito-idp", "DescribeCIMDPolicy")
def describe_cimd_policy(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _find_policy(conn, pool, params["CIMDPolicyId"])
        exists = _client_exists(conn, ctx, pool, row.client_id)
    return {"CIMDPolicy": _policy_shape(row, exists)}


@operation("cognito-idp", "ListCIMDPolicies")
def list_cimd_policies(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        c = t.cimd_policies.c
        rows = conn.execute(
            select(t.cimd_policies).where(c.user_pool_id == pool.id).order_by(c.created_at, c.policy_id)
        ).all()
        chunk, token = paging.slice_after(
            list(rows), lambda r: r.policy_id, params.get("NextToken"), params.get("MaxResults") or 60
        )
        shapes = [_policy_shape(r, _client_exists(conn, ctx, pool, r.client_id), summary=True) for r in chunk]
    out: dict[str, Any] = {"CIMDPolicies": shapes}
    if token:
        out["NextToken"] = token
    return out


@operation("cognito-idp", "ListClientMetadataURLs")
def list_client_metadata_urls(ctx: RequestContext, params: Params) -> Result:
    limit = params.get("MaxResults") or 60
    after = paging.decode(params.get("NextToken"))
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        policy = _find_policy(conn, pool, params["CIMDPolicyId"])
        c = t.cimd_urls.c
        query = select(t.cimd_urls).where(c.policy_id == policy.policy_id)
        if after:
            query = query.where(c.url > str(after[0]))
        rows = conn.execute(query.order_by(c.url).limit(limit + 1)).all()
    items = []
    for row in rows[:limit]:
        item: dict[str, Any] = {"URL": row.url}
        if row.document is not None and row.cached_at is not None and row.expires_at is not None:
            item["CachedDate"] = utc(row.cached_at)
            item["ExpirationDate"] = utc(row.expires_at)
        items.append(item)
    out: dict[str, Any] = {"ClientMetadataURLs": items}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].url])
    return out


@operation("cognito-idp", "UpdateClientMetadataURLState")
def update_client_metadata_url_state(ctx: RequestContext, params: Params) -> Result:
    url = params["URL"]
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        policy = _find_policy(conn, pool, params["CIMDPolicyId"])
        known = conn.execute(
            select(t.cimd_urls.c.url).where(t.cimd_urls.c.policy_id == policy.policy_id, t.cimd_urls.c.url == url)
        ).first()
    if known is None:
        raise CachedCIMDURLDoesNotExistException(
            f"The URL {url} has not been received for CIMD policy {policy.policy_id}."
        )
    if params["Action"] == "INVALIDATE":
        with ctx.store.tx() as conn:
            conn.execute(
                update(t.cimd_urls)
                .where(t.cimd_urls.c.policy_id == policy.policy_id, t.cimd_urls.c.url == url)
                .values(document=None, cached_at=None, expires_at=None)
            )
    else:  # REFRESH: fetched and validated again now; a document that no longer passes changes nothing
        policy_view = _Policy.of(policy)
        try:
            document, expires = _fetch(ctx.runtime, policy_view, url, ctx.now)
        except CimdRefused as err:
            raise InvalidParameterException(f"The client metadata document at {url} was refused: {err}") from None
        _store(ctx.runtime, policy_view, url, document, ctx.now, expires)
    _forget(pool.id)
    return {}


# -- resolving a client_id URL -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Policy:
    policy_id: str
    pool_id: str
    client_id: str
    cache_duration: int | None
    patterns: tuple[re.Pattern[str], ...]

    @staticmethod
    def of(row: Row[Any]) -> _Policy:
        return _Policy(
            row.policy_id,
            row.user_pool_id,
            row.client_id,
            row.cache_duration,
            tuple(_compile(p) for p in row.url_patterns),
        )

    def matches(self, url: str) -> bool:
        return any(p.fullmatch(url) for p in self.patterns)


def _compile(pattern: str) -> re.Pattern[str]:
    """``*`` matches within one host label in the authority, any run of characters after it."""
    scheme, _, rest = pattern.partition("://")
    authority, slash, path = rest.partition("/")
    host = r"[A-Za-z0-9-]*".join(re.escape(part) for part in authority.split("*"))
    tail = ".*".join(re.escape(part) for part in path.split("*"))
    return re.compile(re.escape(scheme) + "://" + host + (re.escape(slash) + tail if slash else ""))


def valid_client_url(url: str) -> bool:
    """The draft's rules for a client_id URL: https, a host, a path, no fragment, no credentials, no
    dot segments; Cognito's length bound."""
    if len(url) > MAX_URL_LENGTH or any(ch.isspace() for ch in url):
        return False
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or "#" in url or "@" in parts.netloc:
        return False
    segments = parts.path.split("/")
    return parts.path not in ("", "/") and not any(s in (".", "..") for s in segments)


def _policies(runtime: Runtime, pool_id: str) -> tuple[_Policy, ...]:
    def load() -> tuple[_Policy, ...]:
        c = t.cimd_policies.c
        with runtime.store.read() as conn:
            rows = conn.execute(select(t.cimd_policies).where(c.user_pool_id == pool_id).order_by(c.created_at)).all()
        return tuple(_Policy.of(r) for r in rows)

    found: tuple[_Policy, ...] = _cache.get_or_load("policies:" + pool_id, load)
    return found


def _cache_seconds(fetched: egress.Fetched, policy: _Policy) -> int:
    control = str(fetched.headers.get("cache-control", "")).lower()
    match = re.search(r"(?:^|[,\s])max-age\s*=\s*(\d{1,12})", control)
    if match and MIN_CACHE_SECONDS <= int(match.group(1)) <= MAX_CACHE_SECONDS:
        return int(match.group(1))
    return policy.cache_duration or DEFAULT_CACHE_SECONDS


def _redirect_uri_ok(uri: object) -> bool:
    if not isinstance(uri, str) or len(uri) > 1024 or "#" in uri:
        return False
    parts = urlsplit(uri)
    loopback = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1", "::1")
    return bool(parts.netloc) and (parts.scheme == "https" or loopback)


def validate(document: Any, url: str) -> dict[str, Any]:
    """The draft's and Cognito's checks of a metadata document; CimdRefused says which failed."""
    if not isinstance(document, dict):
        raise CimdRefused("the document is not a JSON object")
    if document.get("client_id") != url:
        raise CimdRefused("the document's client_id is not its URL")
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise CimdRefused("the document holds a client secret")
    if document.get("token_endpoint_auth_method") != "none":
        raise CimdRefused("the document's token_endpoint_auth_method must be none")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or len(uris) > 100 or not all(_redirect_uri_ok(u) for u in uris):
        raise CimdRefused("the document's redirect_uris must be absolute https URIs without fragments")
    grants = document.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        raise CimdRefused("the document's grant_types must be a list of names")
    if "client_credentials" in grants:
        raise CimdRefused("CIMD clients cannot use the client_credentials grant")
    scope = document.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise CimdRefused("the document's scope must be a string")
    return document


def _fetch(runtime: Runtime, policy: _Policy, url: str, now: dt.datetime) -> tuple[dict[str, Any], dt.datetime]:
    if not valid_client_url(url) or not policy.matches(url):
        raise CimdRefused("the client_id URL does not match the CIMD policy")
    settings = runtime.settings
    try:
        fetched = egress.policy(settings).fetch(
            "GET", url, headers={"Accept": "application/json"}, max_bytes=settings.cimd_max_document_bytes
        )
    except egress.EgressError as err:
        raise CimdRefused(f"the document could not be retrieved ({err})") from None
    if fetched.status != 200 or not fetched.is_json:
        raise CimdRefused("the document could not be retrieved (not a 200 JSON answer)")
    try:
        document = validate(fetched.json(), url)
    except ValueError:
        raise CimdRefused("the document is not JSON") from None
    return document, now + dt.timedelta(seconds=_cache_seconds(fetched, policy))


def _store(
    runtime: Runtime, policy: _Policy, url: str, document: dict[str, Any], now: dt.datetime, expires: dt.datetime
) -> None:
    c = t.cimd_urls.c
    with runtime.store.tx() as conn:
        if conn.execute(select(c.url).where(c.policy_id == policy.policy_id, c.url == url)).first() is None:
            count = conn.execute(select(func.count()).select_from(t.cimd_urls).where(c.policy_id == policy.policy_id))
            if count.scalar_one() >= MAX_URLS_PER_POLICY:
                raise CimdRefused("the CIMD policy has received its maximum number of URLs")
            insert_ignore(
                conn,
                t.cimd_urls,
                ["policy_id", "url"],
                [{"policy_id": policy.policy_id, "url": url, "created_at": now}],
            )
        conn.execute(
            update(t.cimd_urls)
            .where(c.policy_id == policy.policy_id, c.url == url)
            .values(document=document, cached_at=now, expires_at=expires)
        )
    _cache.set(f"doc:{policy.policy_id}:{url}", (document, expires))


def _document(runtime: Runtime, policy: _Policy, url: str, now: dt.datetime) -> dict[str, Any]:
    key = f"doc:{policy.policy_id}:{url}"
    kept: tuple[dict[str, Any], dt.datetime] | None = _cache.get(key)
    if kept is None:
        c = t.cimd_urls.c
        with runtime.store.read() as conn:
            row = conn.execute(
                select(c.document, c.expires_at).where(c.policy_id == policy.policy_id, c.url == url)
            ).first()
        if row is not None and row.document is not None and row.expires_at is not None:
            kept = (dict(row.document), utc(row.expires_at))
            _cache.set(key, kept)
    if kept is not None and kept[1] > now:
        return kept[0]
    refused: str | None = _cache.get("refused:" + key)
    if refused is not None:  # refused lately: not fetched again for every request that names it
        raise CimdRefused(refused)
    try:
        document, expires = _fetch(runtime, policy, url, now)
    except CimdRefused as err:
        _cache.set("refused:" + key, str(err))
        raise
    _store(runtime, policy, url, document, now, expires)
    return document


def resolve(runtime: Runtime, pool: PoolView, url: str) -> ClientView:
    """The client a client_id URL stands for in ``pool``; CimdRefused when it stands for none."""
    if not valid_client_url(url):
        raise CimdRefused("the client_id is not a valid client metadata URL")
    policy = next((p for p in _policies(runtime, pool.id) if p.matches(url)), None)
    if policy is None:
        raise CimdRefused("the client_id URL matches no CIMD policy of the user pool")
    with runtime.store.read() as conn:
        app = client_by_id(conn, runtime.box, policy.client_id)
    if app is None or app.pool_id != pool.id:
        raise CimdRefused("the CIMD policy's app client no longer exists")
    document = _document(runtime, policy, url, dt.datetime.now(dt.UTC))
    flows = {GRANTS[g] for g in document.get("grant_types", ["authorization_code"]) if g in GRANTS}
    scopes = app.config.get("AllowedOAuthScopes") or []
    if isinstance(document.get("scope"), str):
        wanted = set(document["scope"].split())
        scopes = [s for s in scopes if s in wanted]
    config = {
        **app.config,
        "CallbackURLs": list(document["redirect_uris"]),
        "DefaultRedirectURI": None,
        "AllowedOAuthFlows": [f for f in (app.config.get("AllowedOAuthFlows") or []) if f in flows],
        "AllowedOAuthScopes": scopes,
        "ClientSecret": None,
    }
    name = document.get("client_name")
    return replace(
        app,
        name=name if isinstance(name, str) and 0 < len(name) <= 128 else url,
        config=config,
        secret=None,
        other_secrets=(),
        cimd_url=url,
    )


def is_client_url(client_id: str) -> bool:
    """A client_id that names a client metadata document rather than an app client."""
    return client_id.startswith("https://")
