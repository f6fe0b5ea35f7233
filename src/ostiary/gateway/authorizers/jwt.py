"""The JWT authorizer of HTTP APIs ("Controlling access to HTTP APIs with JWT authorizers").

```toml
[authorizers.users]
type = "jwt"
issuer = "http://127.0.0.1:4590/us-east-1_AbCdEf"   # or user_pool = "us-east-1_AbCdEf" (Ostiary's)
audience = ["app-client-id"]
identity_source = "$request.header.Authorization"   # the default
```

As API Gateway validates a JWT: the token from the identity source (``Authorization``, with or
without ``Bearer``); ``kid`` found in the issuer's JWKS (``<issuer>/.well-known/openid-configuration``
→ ``jwks_uri``, cached, refreshed on an unknown ``kid``); an RSA signature; ``iss`` equal to the
issuer; ``aud`` — or ``client_id`` when there is no ``aud`` — among the audiences; ``exp`` after now,
``nbf`` and ``iat`` before now; and, when the route has ``authorization_scopes``, a ``scope`` or
``scp`` claim holding at least one of them. A missing or invalid token is 401
``{"message":"Unauthorized"}``; a valid token without the scope is 403 ``{"message":"Forbidden"}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ostiary import egress
from ostiary.gateway import identity_sources
from ostiary.gateway.authorizers import tokens
from ostiary.gateway.identity_sources import IdentitySource
from ostiary.gateway.model import AuthRequest, Decision, GatewayEnv, Outcome
from ostiary.gateway.sections import ConfigError, Section

_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")


@dataclass
class JwtAuthorizer:
    name: str
    issuer: str
    audiences: frozenset[str]
    source: IdentitySource
    policy: egress.Policy
    kind: ClassVar[str] = "jwt"

    async def authorize(self, request: AuthRequest, scopes: tuple[str, ...]) -> Decision:
        token = tokens.token_from(request, self.source)
        if token is None:
            return Decision(Outcome.UNAUTHORIZED, "no token at the identity source")
        try:
            claims = await tokens.verify(token, self.issuer, self.policy)
        except tokens.TokenRefused as exc:
            return Decision(Outcome.UNAUTHORIZED, str(exc))
        if not self._audience_ok(claims):
            return Decision(Outcome.UNAUTHORIZED, "audience not accepted")
        held = tokens.scopes_of(claims)
        if scopes and not set(scopes) & set(held):
            return Decision(Outcome.FORBIDDEN, "the token has none of the route's scopes", claims=claims, scopes=held)
        sub = claims.get("sub")
        return Decision(Outcome.ALLOW, principal_id=str(sub) if sub else None, claims=claims, scopes=held)

    def _audience_ok(self, claims: Mapping[str, Any]) -> bool:
        # API Gateway evaluates aud when present, client_id only when aud is absent
        aud = claims.get("aud")
        if aud is None:
            client_id = claims.get("client_id")
            return isinstance(client_id, str) and client_id in self.audiences
        values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        return any(isinstance(v, str) and v in self.audiences for v in values)


def issuer_of(section: Section, env: GatewayEnv) -> str:
    """``issuer``, or ``user_pool`` (an Ostiary pool id, whose issuer is under ``ostiary_url``)."""
    pool = section.optional_string("user_pool")
    issuer = section.optional_string("issuer")
    if pool is not None and issuer is not None:
        raise ConfigError(f"{section.key('issuer')}: give issuer or user_pool, not both")
    if pool is not None:
        if not _POOL_ID.match(pool):
            raise ConfigError(f"{section.key('user_pool')}: not a user pool id: {pool!r}")
        return f"{env.public_url.rstrip('/')}/{pool}"
    if issuer is None:
        raise ConfigError(f"{section.key('issuer')}: required (or user_pool)")
    if not issuer.startswith(("https://", "http://")):
        raise ConfigError(f"{section.key('issuer')}: an https:// (or http://) URL")
    return issuer.rstrip("/")


def build(name: str, data: Mapping[str, Any], env: GatewayEnv) -> JwtAuthorizer:
    section = Section(f"authorizers.{name}", data)
    section.string("type")
    issuer = issuer_of(section, env)
    audiences = section.strings("audience")
    if not audiences:
        raise ConfigError(f"{section.key('audience')}: at least one audience (an app client id)")
    expression = section.string("identity_source", "$request.header.Authorization")
    source = identity_sources.parse(expression, section.key("identity_source"))
    section.reject_unknown()
    return JwtAuthorizer(name, issuer, frozenset(audiences), source, egress.policy(env.settings))
