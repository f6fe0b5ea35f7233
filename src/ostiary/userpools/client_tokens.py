"""Machine-to-machine access tokens: GetClientToken (Cognito API Reference) and what the token
endpoint's ``client_credentials`` grant (RFC 6749 §4.4) shares with it, ``mint``.

The app client authenticates with its ID and one of its secrets; Amazon Cognito does not evaluate
IAM policies for the call (the model still signs it, so Ostiary verifies the signature and decides
nothing with it). AWS names an ``ALLOW_CLIENT_TOKEN_AUTH`` flow for the client, but the model's
ExplicitAuthFlowsType has no such value, so no client can be given it through the API: a client may
get tokens when it has that flow (a future model) or, as on ``/oauth2/token``, when it is configured
for the ``client_credentials`` OAuth flow. The token carries custom scopes only (resource servers'
``<identifier>/<scope>``): the requested ones, each allowed to the client, or all the client is
allowed when none are requested. A pre token generation trigger of event version 3 sees it
(``TokenGeneration_ClientCredentials``).
"""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

from ostiary.config import Settings
from ostiary.crypto import jwt
from ostiary.crypto.keys import KeyRing
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.userpools import claims, tokens, triggers
from ostiary.userpools.directory import PoolView
from ostiary.userpools.errors import InvalidParameterException, NotAuthorizedException
from ostiary.userpools.lookup import ClientView, client_and_pool
from ostiary.userpools.resource_servers import custom_scopes

CLIENT_TOKEN_FLOW = "ALLOW_CLIENT_TOKEN_AUTH"


def secret_matches(client: ClientView, given: str | None) -> bool:
    """Whether ``given`` is one of the client's secrets (constant-time per secret)."""
    return bool(given) and any(hmac.compare_digest(str(given).encode(), s.encode()) for s in client.secrets())


def m2m_allowed(client: ClientView) -> bool:
    """Whether the client may get machine-to-machine tokens (see the module's docstring)."""
    if CLIENT_TOKEN_FLOW in client.flows():
        return True
    config = client.config
    return bool(config.get("AllowedOAuthFlowsUserPoolClient")) and "client_credentials" in (
        config.get("AllowedOAuthFlows") or []
    )


def allowed_scopes(client: ClientView, existing: set[str]) -> list[str]:
    """The client's allowed scopes that are custom scopes of its pool."""
    return [s for s in client.config.get("AllowedOAuthScopes") or [] if s in existing]


def mint(
    keys: KeyRing,
    settings: Settings,
    pool: PoolView,
    client: ClientView,
    scopes: list[str],
    metadata: dict[str, str],
) -> tuple[str, int]:
    """A signed access token for the client itself (``sub`` and ``client_id`` are the client) and its
    lifetime in seconds; runs the pre token generation trigger."""
    now = int(time.time())
    validity = claims.validity_seconds(client.as_token_config(), "AccessToken")
    body: dict[str, Any] = {
        "sub": client.id,
        "token_use": "access",
        "scope": " ".join(dict.fromkeys(scopes)),
        "auth_time": now,
        "iss": tokens.issuer(settings, pool.id),
        "exp": now + validity,
        "iat": now,
        "version": 2,
        "jti": str(uuid.uuid4()),
        "client_id": client.id,
    }
    if triggers.configured(pool, "PreTokenGeneration"):
        tokens.pre_token_generation_m2m(settings, pool, client.id, body, metadata)
    key = keys.signing_key(pool.id, "access")
    return jwt.sign(body, key.kid, key.private), validity


@operation("cognito-idp", "GetClientToken", authorize=False, offload=True)
def get_client_token(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        client, pool = client_and_pool(conn, ctx.box, params["ClientId"])
        existing = set(custom_scopes(conn, pool.id))
    if client.secret is None:
        raise InvalidParameterException(f"Client {client.id} has no secret: GetClientToken needs a client secret.")
    if not secret_matches(client, params.get("Secret")):
        raise NotAuthorizedException(f"Unable to verify secret for client {client.id}")
    if not m2m_allowed(client):
        raise InvalidParameterException("Client token auth flow not enabled for this client")
    allowed = allowed_scopes(client, existing)
    requested = list(params.get("Scopes") or []) or allowed
    unknown = [s for s in requested if s not in allowed]
    if unknown:
        raise InvalidParameterException(f"Invalid scope requested: {unknown[0]}")
    if not requested:
        raise InvalidParameterException("The client is allowed no custom scopes.")
    token, validity = mint(ctx.keys, ctx.settings, pool, client, requested, dict(params.get("ClientMetadata") or {}))
    return {"ClientAuthenticationResult": {"AccessToken": token, "ExpiresIn": validity, "TokenType": "Bearer"}}
