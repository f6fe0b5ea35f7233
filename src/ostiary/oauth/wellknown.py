"""OpenID Connect discovery and JWKS per user pool (OpenID Connect Discovery 1.0 §3-4, RFC 7517).

``GET /<poolId>/.well-known/openid-configuration`` and ``GET /<poolId>/.well-known/jwks.json``;
the issuer is ``<public base URL>/<poolId>`` so that both resolve against this server.
"""

from __future__ import annotations

from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ostiary.config import Settings
from ostiary.oauth.domain_routing import Domain, DomainResolver, base_url
from ostiary.protocol.context import Runtime
from ostiary.protocol.dispatch import host_region
from ostiary.store.db import now
from ostiary.userpools import pool_state
from ostiary.userpools.lookup import pool_by_id
from ostiary.userpools.tokens import issuer

_CACHE = "public, max-age=300"


def _exists(runtime: Runtime, pool_id: str, region: str | None = None) -> bool:
    """The pool exists, and answers in ``region`` (an endpoint host's Region: the pool's own or one
    of its replicas', docs/replicas.md) when the request's host names one."""
    with runtime.store.read() as conn:
        pool = pool_by_id(conn, pool_id)
        if pool is None:
            return False
        return region is None or region == pool.region or region in pool_state.of(conn, pool_id, now()).replicas


def _headers(request: Request) -> dict[str, str]:
    return {"host": request.headers.get("host", "")}


def _not_found(pool_id: str) -> Response:
    return JSONResponse({"message": f"User pool {pool_id} does not exist."}, status_code=404)


def discovery_document(settings: Settings, pool_id: str, domain: Domain | None = None) -> dict[str, Any]:
    """The pool's OpenID Provider Metadata; with a domain, its OAuth endpoints too."""
    doc: dict[str, Any] = {
        "issuer": issuer(settings, pool_id),
        "jwks_uri": f"{settings.effective_public_url}/{pool_id}/.well-known/jwks.json",
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "token_use",
            "cognito:username",
            "cognito:groups",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ],
    }
    if domain is not None:
        base = base_url(settings, domain)
        doc.update(
            {
                "authorization_endpoint": f"{base}/oauth2/authorize",
                "token_endpoint": f"{base}/oauth2/token",
                "userinfo_endpoint": f"{base}/oauth2/userInfo",
                "revocation_endpoint": f"{base}/oauth2/revoke",
                "end_session_endpoint": f"{base}/logout",
                "grant_types_supported": [
                    "authorization_code",
                    "implicit",
                    "refresh_token",
                    "client_credentials",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"],
                "response_modes_supported": ["query", "fragment"],
                "claims_supported": [*doc["claims_supported"], "nonce"],
            }
        )
    return doc


def routes(runtime: Runtime, domains: DomainResolver | None = None) -> list[Any]:
    async def jwks(request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        if not await to_thread.run_sync(_exists, runtime, pool_id, host_region(_headers(request))):
            return _not_found(pool_id)
        doc = await to_thread.run_sync(runtime.keys.jwks, pool_id)
        return JSONResponse(doc, headers={"cache-control": _CACHE})

    async def configuration(request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        if not await to_thread.run_sync(_exists, runtime, pool_id, host_region(_headers(request))):
            return _not_found(pool_id)
        domain = await to_thread.run_sync(domains.for_pool, pool_id) if domains is not None else None
        return JSONResponse(discovery_document(runtime.settings, pool_id, domain), headers={"cache-control": _CACHE})

    return [
        Route("/{pool_id}/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/{pool_id}/.well-known/openid-configuration", configuration, methods=["GET"]),
    ]
