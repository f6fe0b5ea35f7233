"""The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636) that ``aws sso login`` uses
(AWS CLI v2's default since 2.22): the access portal's ``/authorize`` page checks the request
(``check_authorize``) and, once the user allows, issues a code (``issue_code``); CreateToken redeems
it (``redeem``) with the code verifier and the same redirect URI.

A code lives 5 minutes, is kept as its sha256, bound to the client, the redirect URI, the S256 challenge,
the scopes and the user, and is spent by one DELETE whose row count decides (a code presented twice, on
any node, is refused the second time).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.engine import RowMapping

from ostiary.ssooidc import clients, opaque
from ostiary.ssooidc.errors import (
    InvalidClientException,
    InvalidGrantException,
    InvalidRedirectUriException,
    InvalidRequestException,
    UnauthorizedClientException,
)
from ostiary.store import tables as t

LIFETIME = dt.timedelta(minutes=5)
CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url(sha256) without padding
VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")  # RFC 7636 §4.1

_c = t.sso_oidc_auth_codes.c


def check_authorize(
    conn: Connection, client_id: str, redirect_uri: str, scopes: list[str], now: dt.datetime
) -> RowMapping:
    """The registered client an authorization request names, when it may use the authorization code
    grant with this redirect URI and these scopes; a ServiceError (its message the reason) otherwise."""
    client = clients.find(conn, client_id, now)
    if client is None:
        raise InvalidClientException("Invalid client")
    if not clients.allows(client, clients.AUTH_CODE_GRANT):
        raise UnauthorizedClientException("Client is not authorized to use the authorization code grant")
    if len(redirect_uri) > clients.MAX_URI or not clients.redirect_matches(list(client["redirect_uris"]), redirect_uri):
        raise InvalidRedirectUriException("Invalid redirect URI")
    clients.check_scopes(scopes)
    return client


def issue_code(
    conn: Connection,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    method: str,
    scopes: list[str],
    identity_store_id: str,
    user_id: str,
    now: dt.datetime,
) -> str:
    """A new authorization code for ``user_id``, who allowed ``client_id`` (checked by
    ``check_authorize`` beforehand) on the portal of ``identity_store_id``."""
    if method != "S256" or not CHALLENGE.match(code_challenge):
        raise InvalidRequestException("A code challenge with the S256 method is required")
    if secrets.randbelow(32) == 0:
        conn.execute(delete(t.sso_oidc_auth_codes).where(_c.expires_at < now))
    code = opaque.new("", 32)
    conn.execute(
        insert(t.sso_oidc_auth_codes).values(
            code_hash=opaque.digest(code),
            client_id=client_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            scopes=list(scopes),
            identity_store_id=identity_store_id,
            user_id=user_id,
            expires_at=now + LIFETIME,
        )
    )
    return code


@dataclass(frozen=True)
class Redeemed:
    identity_store_id: str
    user_id: str
    scopes: list[str]


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def redeem(
    conn: Connection, client: RowMapping, code: str, redirect_uri: str | None, verifier: str | None, now: dt.datetime
) -> Redeemed | str:
    """CreateToken's authorization code grant: the code spent and what it was issued for, or why it is
    refused (a str: the code is spent all the same, one attempt per code; the caller commits, then
    raises InvalidGrantException). An unknown code or another client's raises at once."""
    if not clients.allows(client, clients.AUTH_CODE_GRANT):
        raise UnauthorizedClientException("Client is not authorized to use the authorization code grant")
    if not code or len(code) > opaque.MAX_SECRET:
        raise InvalidGrantException("Invalid authorization code")
    digest = opaque.digest(code)
    row = conn.execute(select(t.sso_oidc_auth_codes).where(_c.code_hash == digest)).mappings().first()
    if row is None or row["client_id"] != client["client_id"]:
        raise InvalidGrantException("Invalid authorization code")
    if conn.execute(delete(t.sso_oidc_auth_codes).where(_c.code_hash == digest)).rowcount != 1:
        raise InvalidGrantException("Invalid authorization code")
    if row["expires_at"] <= now:
        return "Authorization code has expired"
    if redirect_uri != row["redirect_uri"]:
        return "Invalid redirect URI"
    if not verifier or not VERIFIER.match(verifier) or not hmac.compare_digest(s256(verifier), row["code_challenge"]):
        return "Invalid code verifier"
    return Redeemed(row["identity_store_id"], row["user_id"], list(row["scopes"] or []))
