"""What the OAuth endpoints and the hosted pages share: the authorization request and its checks
(RFC 6749 §4.1.1, §4.2.1, §3.1.2.4; RFC 7636), authorization codes, single-sign-on sessions,
CSRF tokens, and the request context handed to the user-pool service functions.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import bindparam, delete, insert, select

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import session_tracking
from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import ClientView, client_by_id

CODE_SECONDS = 300
SSO_SECONDS = 3600
SSO_COOKIE = "cognito"
CSRF_COOKIE = "XSRF-TOKEN"
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "identity_provider",
    "idp_identifier",
    "prompt",
    "lang",
)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class ErrorPage(Exception):
    """An authorization request that must not redirect (unknown client, unregistered redirect URI):
    the user sees an error page instead (RFC 6749 §4.1.2.1)."""

    def __init__(self, title: str, message: str, code: str, status: int = 400) -> None:
        super().__init__(message)
        self.title, self.message, self.code, self.status = title, message, code, status


class RedirectError(Exception):
    """An authorization error reported to the client at its redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description
        self.request: AuthorizeRequest | None = None  # set once the redirect URI is known to be good


@dataclass
class AuthorizeRequest:
    """A validated authorization request."""

    pool: PoolView
    client: ClientView
    redirect_uri: str
    response_type: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: str | None
    raw: dict[str, str] = field(default_factory=dict)
    sso_session_id: str | None = None  # the (tracked) SSO session that signed the user in

    def query(self) -> str:
        """The original parameters, carried from page to page (as Cognito's /login URLs do)."""
        return urlencode({k: v for k, v in self.raw.items() if k in AUTHORIZE_PARAMS and v})

    def error_redirect(self, error: str, description: str) -> str:
        values = {"error": error, "error_description": description, "state": self.state}
        return redirect_with(self.redirect_uri, self.response_type, values)


def redirect_with(uri: str, response_type: str, values: dict[str, Any]) -> str:
    """``uri`` with ``values`` in its query (code flow) or fragment (implicit flow)."""
    clean = {k: str(v) for k, v in values.items() if v is not None}
    if response_type == "token":
        return f"{uri}#{urlencode(clean)}"
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(clean)}"


def client_scopes(client: ClientView) -> list[str]:
    return list(client.config.get("AllowedOAuthScopes") or [])


def parse_authorize(runtime: Runtime, pool: PoolView, params: dict[str, str]) -> AuthorizeRequest:
    """Check an authorization request. Problems with the client or redirect URI raise ErrorPage
    (never a redirect to an unregistered URI); the others raise RedirectError."""
    client_id = params.get("client_id") or ""
    with runtime.store.read() as conn:
        client = client_by_id(conn, runtime.box, client_id) if client_id else None
    if client is None or client.pool_id != pool.id:
        raise ErrorPage("Invalid request", "The app client does not exist in this user pool.", "invalid_client")
    redirect_uri = params.get("redirect_uri") or client.config.get("DefaultRedirectURI") or ""
    if not redirect_uri or redirect_uri not in (client.config.get("CallbackURLs") or []):
        raise ErrorPage(
            "Invalid request", "The redirect_uri is not registered for this app client.", "redirect_mismatch"
        )
    response_type = params.get("response_type") or ""
    request = AuthorizeRequest(
        pool=pool,
        client=client,
        redirect_uri=redirect_uri,
        response_type=response_type,
        scopes=[],
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"),
        prompt=params.get("prompt"),
        raw={k: v for k, v in params.items() if k in AUTHORIZE_PARAMS},
    )
    try:
        _check_request(request, client, params)
    except RedirectError as err:
        err.request = request
        raise
    return request


_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.2


def _check_request(request: AuthorizeRequest, client: ClientView, params: dict[str, str]) -> None:
    response_type = request.response_type
    if response_type not in ("code", "token"):
        request.response_type = "code"  # report the error in the query string
        raise RedirectError("unsupported_response_type", "response_type must be code or token")
    flows = client.config.get("AllowedOAuthFlows") or []
    flow = "code" if response_type == "code" else "implicit"
    if not client.config.get("AllowedOAuthFlowsUserPoolClient") or flow not in flows:
        raise RedirectError("unauthorized_client", f"The client is not allowed the {flow} flow")
    allowed = client_scopes(client)
    requested = (params.get("scope") or "").split()
    if not requested:
        requested = allowed
    if any(s not in allowed for s in requested):
        raise RedirectError("invalid_scope", "A requested scope is not allowed for this client")
    request.scopes = list(dict.fromkeys(requested))
    if request.code_challenge:
        # Amazon Cognito supports only S256; a challenge without a method would be plain (RFC 7636
        # §4.3), which lets anyone who sees the authorization request redeem the code.
        if request.code_challenge_method != "S256":
            raise RedirectError("invalid_request", "code_challenge_method must be S256")
        if not _CHALLENGE.fullmatch(request.code_challenge):
            raise RedirectError("invalid_request", "code_challenge must be 43 to 128 unreserved characters")
    elif request.code_challenge_method:
        raise RedirectError("invalid_request", "code_challenge is required with code_challenge_method")
    provider = params.get("identity_provider")
    supported = client.config.get("SupportedIdentityProviders") or []
    if provider and provider not in supported:
        raise RedirectError("invalid_request", f"Identity provider {provider} is not configured for this client")
    # external providers (and idp_identifier) are resolved by ostiary.oauth.federation


# --- authorization codes -------------------------------------------------------------------------

_TAKE_CODE = select(t.oauth_codes).where(t.oauth_codes.c.code_hash == bindparam("h"))


def new_code(runtime: Runtime, request: AuthorizeRequest, user_id: str, auth_time: dt.datetime) -> str:
    code = str(uuid.uuid4())  # Cognito's codes are UUIDs
    now = dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        if secrets.randbelow(64) == 0:
            conn.execute(delete(t.oauth_codes).where(t.oauth_codes.c.expires_at < now))
        conn.execute(
            insert(t.oauth_codes).values(
                code_hash=digest(code),
                user_pool_id=request.pool.id,
                client_id=request.client.id,
                user_id=user_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                auth_time=auth_time,
                expires_at=now + dt.timedelta(seconds=CODE_SECONDS),
                sso_session_id=request.sso_session_id,
            )
        )
    return code


@dataclass(frozen=True)
class CodeGrant:
    pool_id: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: dt.datetime
    expires_at: dt.datetime
    sso_session_id: str | None = None


def code_lineage_id(runtime: Runtime, code: str) -> str:
    """The id of the refresh-token lineage a code's redemption starts: derived from the code under a
    key of the KEK, so a replay of the code (which is gone by then) still finds the tokens of its
    first redemption, and neither the lineage id (``origin_jti`` in the tokens) nor the store
    reveals the code."""
    mac = hmac.new(runtime.box.mac_key("oauth code lineage"), code.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16], version=4))


def take_code(runtime: Runtime, code: str) -> CodeGrant | None:
    """Redeem a code: it is deleted whatever happens next (single use). A code that is not (or no
    longer) there may be a replay: the tokens of its first redemption are revoked (RFC 6749 §4.1.2,
    RFC 9700 §4.5.3), and None is returned."""
    with runtime.store.tx() as conn:
        row = conn.execute(_TAKE_CODE, {"h": digest(code)}).first()
        taken = row is not None and (
            conn.execute(delete(t.oauth_codes).where(t.oauth_codes.c.code_hash == row.code_hash)).rowcount == 1
        )
        if not taken:
            from ostiary.userpools import tokens

            tokens.revoke_lineage(conn, code_lineage_id(runtime, code), dt.datetime.now(dt.UTC))
            return None
    assert row is not None
    return CodeGrant(
        pool_id=row.user_pool_id,
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        scopes=list(row.scopes),
        nonce=row.nonce,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        auth_time=utc(row.auth_time),
        expires_at=utc(row.expires_at),
        sso_session_id=row.sso_session_id,
    )


def pkce_ok(grant: CodeGrant, verifier: str | None) -> bool:
    """RFC 7636 §4.6, S256 only. A verifier for a code issued without a challenge is refused (RFC
    9700 §2.1.1: otherwise an attacker who strips the challenge from the authorization request
    downgrades the client to no PKCE unnoticed)."""
    if not grant.code_challenge:
        return not verifier
    if grant.code_challenge_method != "S256" or not verifier or not 43 <= len(verifier) <= 128:
        return False
    try:
        digest_ = hashlib.sha256(verifier.encode("ascii")).digest()
    except UnicodeEncodeError:
        return False
    computed = base64.urlsafe_b64encode(digest_).rstrip(b"=").decode()
    return hmac.compare_digest(computed, grant.code_challenge)


# --- single sign-on sessions ---------------------------------------------------------------------

_SSO = select(t.sso_sessions).where(t.sso_sessions.c.id_hash == bindparam("h"))


@dataclass(frozen=True)
class SsoSession:
    user_id: str
    auth_time: dt.datetime


def start_sso(
    runtime: Runtime,
    pool_id: str,
    user_id: str,
    request: AuthorizeRequest | None = None,
    now: dt.datetime | None = None,
) -> str:
    """A new SSO session of a user who signed in at ``now``; where the pool tracks sessions, it gets
    a session id (kept in ``request`` for the tokens issued through it)."""
    value = secrets.token_urlsafe(32)
    now = now or dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        if secrets.randbelow(64) == 0:
            conn.execute(delete(t.sso_sessions).where(t.sso_sessions.c.expires_at < now))
        session_id = session_tracking.new_sso_id(conn, pool_id)
        conn.execute(
            insert(t.sso_sessions).values(
                id_hash=digest(value),
                user_pool_id=pool_id,
                user_id=user_id,
                auth_time=now,
                expires_at=now + dt.timedelta(seconds=SSO_SECONDS),
                created_at=now,
                session_id=session_id,
                client_id=request.client.id if request is not None and session_id else None,
            )
        )
    if request is not None:
        request.sso_session_id = session_id
    return value


def find_sso(
    runtime: Runtime, pool_id: str, value: str | None, request: AuthorizeRequest | None = None
) -> SsoSession | None:
    """The SSO session of a cookie; with ``request``, only if its client may reuse the session
    silently (session_tracking.sso_reusable), and the session's id is kept in ``request``."""
    if not value:
        return None
    now = dt.datetime.now(dt.UTC)
    with runtime.store.read() as conn:
        row = conn.execute(_SSO, {"h": digest(value)}).first()
        if row is None or row.user_pool_id != pool_id or utc(row.expires_at) <= now:
            return None
        if request is not None:
            if not session_tracking.sso_reusable(conn, pool_id, request.client.id, utc(row.auth_time), now):
                return None
            request.sso_session_id = row.session_id
    return SsoSession(row.user_id, utc(row.auth_time))


def end_sso(runtime: Runtime, value: str | None) -> None:
    if not value:
        return
    with runtime.store.tx() as conn:
        conn.execute(delete(t.sso_sessions).where(t.sso_sessions.c.id_hash == digest(value)))


def id_token_audience(runtime: Runtime, pool_id: str, token: str) -> str | None:
    """The app client (``aud``) of an ID token signed by the pool's key with the pool's issuer,
    expired or not (an ``id_token_hint``, RP-Initiated Logout 1.0 §2); None for anything else."""
    from ostiary.crypto import jwt
    from ostiary.userpools import tokens

    try:
        kid = str(jwt.unverified_header(token).get("kid"))
        # now=0: the signature, not the expiry, decides (ID tokens carry no nbf)
        claims = jwt.verify(token, runtime.keys.public_keys(pool_id, kid), 0.0)
    except (jwt.TokenError, KeyError, ValueError):
        return None
    if claims.get("iss") != tokens.issuer(runtime.settings, pool_id) or claims.get("token_use") != "id":
        return None
    aud = claims.get("aud")
    return aud if isinstance(aud, str) and aud else None


# --- CSRF (double-submit cookie, the form token is a MAC of the cookie) --------------------------


def csrf_token(key: bytes, cookie: str, form: str) -> str:
    return hmac.new(key, f"{form}|{cookie}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: bytes, cookie: str | None, form: str, given: str | None) -> bool:
    if not cookie or not given:
        return False
    return hmac.compare_digest(csrf_token(key, cookie, form), given)


def service_context(runtime: Runtime, pool: PoolView, operation: str, source_ip: str) -> RequestContext:
    """The context the user-pool service functions expect, for a call made by the hosted UI."""
    return RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        service="cognito-idp",
        operation=operation,
        region=pool.region,
        principal=None,
        source_ip=source_ip,
    )


def hosted_tokens(
    runtime: Runtime,
    pool: PoolView,
    client: ClientView,
    user_id: str,
    scopes: list[str],
    nonce: str | None,
    auth_time: dt.datetime,
    origin_sso: str | None = None,
    lineage_id: str | None = None,
) -> dict[str, Any] | None:
    """Tokens of a hosted sign-in (code exchange or implicit flow): a new refresh-token lineage that
    keeps the scopes (and the SSO session it came through), ID token only with ``openid``; None
    when the user is gone or disabled. A code exchange names the lineage (code_lineage_id)."""
    from ostiary.userpools import directory, tokens

    now = dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        user = directory.get_by_id(conn, pool, user_id)
        if user is None or not user.enabled:
            return None
        user.groups = directory.groups_of(conn, pool.id, user.id)
        cfg = client.as_token_config()
        event, refresh = tokens.start_lineage(
            conn,
            pool,
            user,
            cfg,
            now,
            scopes=scopes,
            origin_sso=origin_sso,
            lineage_id=lineage_id,
            auth_time=auth_time,
        )
    result = tokens.mint(
        runtime.keys,
        runtime.settings,
        pool,
        cfg,
        user,
        event,
        now,
        scopes=scopes,
        nonce=nonce,
        with_id_token="openid" in scopes,
        source="TokenGeneration_HostedAuth",
    )
    result["RefreshToken"] = refresh
    return result
