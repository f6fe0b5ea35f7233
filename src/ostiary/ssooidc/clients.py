"""RegisterClient and the checks every other sso-oidc call makes of a registered client.

AWS's RegisterClient is unauthenticated and regional; the client it registers is ``public`` (the only
``clientType``), its secret good for 90 days (``clientSecretExpiresAt``). A client's ``grantTypes``
restrict the flows it may use (authorization code, device code, refresh token); a client registered
without them (botocore's legacy device flow) may use the device code grant and, when it asked for
scopes, the refresh token grant, as AWS's original ``sso-session`` clients did. ``redirectUris`` are
where the ``/authorize`` page may send the browser back: https URIs or loopback http URIs, whose port
is not compared (RFC 8252 §7.3: the CLI registers ``http://127.0.0.1/oauth/callback`` and listens on
a port of the moment). ``issuerUrl`` is the start URL of the instance the client signs in to.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.engine import RowMapping

from ostiary import portal_urls as urls
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances
from ostiary.ssooidc import limits, opaque
from ostiary.ssooidc.errors import (
    InvalidClientException,
    InvalidClientMetadataException,
    InvalidRedirectUriException,
    InvalidRequestException,
    InvalidScopeException,
    SlowDownException,
    UnsupportedGrantTypeException,
)
from ostiary.store import tables as t

SECRET_LIFETIME = dt.timedelta(days=90)
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
AUTH_CODE_GRANT = "authorization_code"
REFRESH_GRANT = "refresh_token"
GRANT_TYPES = frozenset({DEVICE_GRANT, AUTH_CODE_GRANT, REFRESH_GRANT})
ACCOUNT_ACCESS = "sso:account:access"
SCOPES = frozenset({ACCOUNT_ACCESS, "openid"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
MAX_NAME = 128
MAX_LIST = 16
MAX_URI = 1024


def _strings(params: Params, name: str, limit: int, max_len: int) -> list[str]:
    value = params.get(name) or []
    if len(value) > limit or any(not isinstance(v, str) or not v or len(v) > max_len for v in value):
        raise InvalidRequestException(f"Invalid {name}")
    return list(dict.fromkeys(value))


def check_scopes(scopes: list[str]) -> None:
    bad = [s for s in scopes if s not in SCOPES]
    if bad:
        raise InvalidScopeException("Invalid scopes: " + ", ".join(bad[:5]))


def redirect_uri_ok(uri: str) -> bool:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return False
    if parts.fragment or not parts.hostname:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _loopback_key(uri: str) -> tuple[str, str, str] | None:
    """(host, path, query) of a loopback http URI, its port left out; None for any other URI."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        return None
    return parts.hostname, parts.path, parts.query


def redirect_matches(registered: list[str], uri: str) -> bool:
    """Whether ``uri`` is one of the registered redirect URIs; a loopback URI's port is not compared."""
    if uri in registered:
        return True
    key = _loopback_key(uri)
    return key is not None and any(_loopback_key(r) == key for r in registered)


def allows(client: RowMapping, grant: str) -> bool:
    """Whether a registered client may use ``grant`` (see the module's docstring)."""
    grants: list[str] = list(client["grant_types"] or [])
    if grants:
        return grant in grants
    return grant == DEVICE_GRANT or (grant == REFRESH_GRANT and bool(client["scopes"]))


def find(conn: Connection, client_id: str, now: dt.datetime) -> RowMapping | None:
    """A registered client whose secret has not expired, or None."""
    if not client_id or len(client_id) > 64:
        return None
    row = conn.execute(select(t.sso_oidc_clients).where(t.sso_oidc_clients.c.client_id == client_id)).mappings().first()
    if row is None or row["expires_at"] <= now:
        return None
    return row


def authenticate(conn: Connection, client_id: str, client_secret: str, now: dt.datetime) -> RowMapping:
    """The client a (clientId, clientSecret) pair names; InvalidClientException otherwise (unknown,
    expired or a wrong secret alike; the hashes compared in constant time)."""
    client = find(conn, client_id, now)
    given = opaque.digest(client_secret) if client_secret and len(client_secret) <= opaque.MAX_SECRET else ""
    expected = client["secret_hash"] if client is not None else "0" * 64
    if not hmac.compare_digest(given.encode(), str(expected).encode()) or client is None:
        raise InvalidClientException("Invalid client")
    return client


@operation("sso-oidc", "RegisterClient", authorize=False)
def register_client(ctx: RequestContext, params: Params) -> Result:
    name = params["clientName"]
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidClientMetadataException("Invalid client name")
    if params["clientType"] != "public":
        raise InvalidClientMetadataException("Invalid client type")
    scopes = _strings(params, "scopes", MAX_LIST, 256)
    check_scopes(scopes)
    grants = _strings(params, "grantTypes", MAX_LIST, 256)
    unsupported = [g for g in grants if g not in GRANT_TYPES]
    if unsupported:
        raise UnsupportedGrantTypeException("Unsupported grant types: " + ", ".join(unsupported[:5]))
    redirects = _strings(params, "redirectUris", MAX_LIST, MAX_URI)
    if any(not redirect_uri_ok(u) for u in redirects):
        raise InvalidRedirectUriException("Invalid redirect URI")
    if AUTH_CODE_GRANT in grants and not redirects:
        raise InvalidRedirectUriException("Redirect URIs are required for the authorization code grant")
    issuer = params.get("issuerUrl")
    if params.get("entitledApplicationArn"):
        raise InvalidRequestException("Applications are not supported")
    now = ctx.now.replace(microsecond=0)
    over = False
    with ctx.store.tx() as conn:
        over = not limits.registration(conn, ctx.source_ip or "-", now)
    if over:
        raise SlowDownException("Too many client registrations; try again later")
    with ctx.store.tx() as conn:
        if issuer is not None:
            store_id = urls.identity_store_of(issuer) if len(issuer) <= MAX_URI else None
            if store_id is None or instances.by_identity_store(conn, store_id) is None:
                raise InvalidClientMetadataException("Invalid issuer URL")
        if secrets.randbelow(64) == 0:  # now and then, drop registrations past their time (and their sessions)
            conn.execute(delete(t.sso_oidc_clients).where(t.sso_oidc_clients.c.expires_at < now))
        client_id = opaque.new("", 16)
        secret = opaque.new("", 48)
        expires = now + SECRET_LIFETIME
        conn.execute(
            insert(t.sso_oidc_clients).values(
                client_id=client_id,
                secret_hash=opaque.digest(secret),
                client_name=name,
                client_type="public",
                scopes=scopes,
                grant_types=grants,
                redirect_uris=redirects,
                issuer_url=issuer,
                created_at=now,
                expires_at=expires,
            )
        )
    out: dict[str, Any] = {
        "clientId": client_id,
        "clientSecret": secret,
        "clientIdIssuedAt": int(now.timestamp()),
        "clientSecretExpiresAt": int(expires.timestamp()),
    }
    if AUTH_CODE_GRANT in grants:
        base = ctx.runtime.settings.effective_public_url.rstrip("/")
        out["authorizationEndpoint"] = f"{base}/authorize"
        out["tokenEndpoint"] = f"{base}/token"
    return out
