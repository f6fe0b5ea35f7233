"""ID and access token claims, exactly as Cognito puts them (NOTES-cognito.md §3.2-3.3).

Pure functions of the user, the groups, the client and the sign-in event; signing, storage and
revocation live in tokens.py.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

BOOLEAN_ATTRIBUTES = frozenset({"email_verified", "phone_number_verified"})
NUMBER_ATTRIBUTES = frozenset({"updated_at"})
USER_ADMIN_SCOPE = "aws.cognito.signin.user.admin"


@dataclass(frozen=True)
class GroupInfo:
    name: str
    precedence: int | None
    role_arn: str | None


@dataclass(frozen=True)
class SignInEvent:
    """What one sign-in lineage shares: its origin_jti, its auth_time, and this event's id."""

    origin_jti: str
    auth_time: int
    event_id: str


def ordered_groups(groups: list[GroupInfo]) -> list[GroupInfo]:
    """By precedence (lowest first; groups without precedence last), then name."""
    return sorted(groups, key=lambda g: (g.precedence is None, g.precedence or 0, g.name))


def preferred_role(groups: list[GroupInfo]) -> str | None:
    """The RoleArn of the group with the lowest precedence; none when tied or absent."""
    with_role = [g for g in groups if g.role_arn and g.precedence is not None]
    if not with_role:
        roleful = [g for g in groups if g.role_arn]
        return roleful[0].role_arn if len(roleful) == 1 else None
    best = min(g.precedence for g in with_role if g.precedence is not None)
    tied = {g.role_arn for g in with_role if g.precedence == best}
    return tied.pop() if len(tied) == 1 else None


def attribute_claim(name: str, value: str) -> Any:
    if name in BOOLEAN_ATTRIBUTES:
        return value.lower() == "true"
    if name in NUMBER_ATTRIBUTES:
        try:
            return int(value)
        except ValueError:
            return value
    if name == "address":
        try:
            parsed = json.loads(value)
            if isinstance(parsed, dict):
                return parsed
        except ValueError:
            pass
        return {"formatted": value}
    if name == "identities":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list):
            # tokens carry primary and dateCreated as strings ("true", "1642699117273")
            return [_identity_claim(i) if isinstance(i, dict) else i for i in parsed]
        return parsed
    return value


def _identity_claim(entry: dict[str, Any]) -> dict[str, Any]:
    out = dict(entry)
    for key in ("primary", "dateCreated"):
        value = out.get(key)
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (int, float)):
            out[key] = str(int(value))
    return out


def group_claims(groups: list[GroupInfo], include_roles: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ordered = ordered_groups(groups)
    if ordered:
        out["cognito:groups"] = [g.name for g in ordered]
        if include_roles:
            roles = [g.role_arn for g in ordered if g.role_arn]
            if roles:
                out["cognito:roles"] = list(dict.fromkeys(roles))
            preferred = preferred_role(ordered)
            if preferred:
                out["cognito:preferred_role"] = preferred
    return out


def id_token_claims(
    *,
    issuer: str,
    sub: str,
    username: str,
    client_id: str,
    attributes: dict[str, str],
    readable: set[str] | None,
    groups: list[GroupInfo],
    event: SignInEvent,
    issued_at: int,
    validity_seconds: int,
    nonce: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": sub}
    claims.update(group_claims(groups, include_roles=True))
    for name, value in attributes.items():
        if name == "sub" or name.startswith("dev:"):
            continue
        if readable is not None and name not in readable:
            continue
        claims[name] = attribute_claim(name, value)
    claims.update(
        {
            "iss": issuer,
            "cognito:username": username,
            "origin_jti": event.origin_jti,
            "aud": client_id,
            "event_id": event.event_id,
            "token_use": "id",
            "auth_time": event.auth_time,
            "exp": issued_at + validity_seconds,
            "iat": issued_at,
            "jti": str(uuid.uuid4()),
        }
    )
    if nonce is not None:
        claims["nonce"] = nonce
    if extra:
        claims.update(extra)
    return claims


def access_token_claims(
    *,
    issuer: str,
    sub: str,
    username: str,
    client_id: str,
    groups: list[GroupInfo],
    scopes: list[str],
    event: SignInEvent,
    issued_at: int,
    validity_seconds: int,
    device_key: str | None = None,
) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": sub}
    claims.update(group_claims(groups, include_roles=False))
    if device_key:
        claims["device_key"] = device_key
    claims.update(
        {
            "iss": issuer,
            "client_id": client_id,
            "origin_jti": event.origin_jti,
            "event_id": event.event_id,
            "token_use": "access",
            "scope": " ".join(scopes),
            "auth_time": event.auth_time,
            "exp": issued_at + validity_seconds,
            "iat": issued_at,
            "jti": str(uuid.uuid4()),
            "username": username,
        }
    )
    return claims


UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def validity_seconds(client: dict[str, Any], which: str) -> int:
    """A client's token validity in seconds (``which`` is AccessToken, IdToken or RefreshToken)."""
    defaults = {"AccessToken": (60, "minutes"), "IdToken": (60, "minutes"), "RefreshToken": (30, "days")}
    value_key = {"AccessToken": "AccessTokenValidity", "IdToken": "IdTokenValidity"}.get(which, "RefreshTokenValidity")
    default_value, default_unit = defaults[which]
    value = client.get(value_key)
    units = client.get("TokenValidityUnits") or {}
    unit = units.get(which) or ("days" if which == "RefreshToken" else "hours")
    if value is None:
        return default_value * UNIT_SECONDS[default_unit]
    return int(value) * UNIT_SECONDS.get(unit, 3600)
