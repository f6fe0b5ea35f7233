"""The Cognito user pool authorizer of REST APIs (``COGNITO_USER_POOLS``).

```toml
[authorizers.pool]
type = "cognito"
user_pools = ["us-east-1_AbCdEf"]     # Ostiary pool ids or their ARNs; issuer <ostiary_url>/<id>
issuers = []                          # and/or any Cognito-style issuer URL (e.g. AWS's own pools)
identity_source = "method.request.header.Authorization"   # the default
```

As API Gateway does: the token must be signed by one of the pools (its ``iss`` picks the pool; an
RSA signature, ``exp``/``nbf``/``iat`` as for the JWT authorizer); no audience check (any app client
of the pool). A method without ``authorization_scopes`` takes an ID token (``token_use`` ``id``); a
method with scopes takes an access token (``token_use`` ``access``) whose ``scope`` holds one of
them. Anything else is 401 ``{"message":"Unauthorized"}``. The claims are passed on
(``$context.authorizer.claims``).
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

_POOL = re.compile(r"^(arn:aws[\w-]*:cognito-idp:[\w-]+:\d{12}:userpool/)?([\w-]+_[0-9a-zA-Z]+)$")


@dataclass
class CognitoAuthorizer:
    name: str
    issuers: frozenset[str]
    source: IdentitySource
    policy: egress.Policy
    kind: ClassVar[str] = "cognito"

    async def authorize(self, request: AuthRequest, scopes: tuple[str, ...]) -> Decision:
        token = tokens.token_from(request, self.source)
        if token is None:
            return Decision(Outcome.UNAUTHORIZED, "no token at the identity source")
        try:
            issuer = str(tokens.unverified_claims(token).get("iss", "")).rstrip("/")
            if issuer not in self.issuers:
                return Decision(Outcome.UNAUTHORIZED, "the token is not from one of the authorizer's user pools")
            claims = await tokens.verify(token, issuer, self.policy)
        except tokens.TokenRefused as exc:
            return Decision(Outcome.UNAUTHORIZED, str(exc))
        use = claims.get("token_use")
        held = tokens.scopes_of(claims)
        if scopes:
            if use != "access":
                return Decision(Outcome.UNAUTHORIZED, "the method has scopes: an access token is required")
            if not set(scopes) & set(held):
                return Decision(Outcome.UNAUTHORIZED, "the access token has none of the method's scopes")
        elif use != "id":
            return Decision(Outcome.UNAUTHORIZED, "the method has no scopes: an ID token is required")
        sub = claims.get("sub")
        return Decision(Outcome.ALLOW, principal_id=str(sub) if sub else None, claims=claims, scopes=held)


def build(name: str, data: Mapping[str, Any], env: GatewayEnv) -> CognitoAuthorizer:
    section = Section(f"authorizers.{name}", data)
    section.string("type")
    issuers: set[str] = set()
    for item in section.strings("user_pools"):
        found = _POOL.match(item)
        if found is None:
            raise ConfigError(f"{section.key('user_pools')}: not a user pool id or ARN: {item!r}")
        issuers.add(f"{env.public_url.rstrip('/')}/{found.group(2)}")
    for item in section.strings("issuers"):
        if not item.startswith(("https://", "http://")):
            raise ConfigError(f"{section.key('issuers')}: an https:// (or http://) URL: {item!r}")
        issuers.add(item.rstrip("/"))
    if not issuers:
        raise ConfigError(f"{section.key('user_pools')}: at least one user pool (or issuers)")
    expression = section.string("identity_source", "method.request.header.Authorization")
    source = identity_sources.parse(expression, section.key("identity_source"))
    section.reject_unknown()
    return CognitoAuthorizer(name, frozenset(issuers), source, egress.policy(env.settings))
