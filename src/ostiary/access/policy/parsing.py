"""Reading a policy document into the engine's model (``parse``): MalformedPolicy when IAM would
refuse it. What IAM refuses to STORE beyond this is iam/grammar.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ostiary import jsonlimits
from ostiary.access.policy.conditions import parse_operator
from ostiary.access.policy.model import Effect, MalformedPolicy, Policy, Statement


def _strings(value: Any, what: str, nulls: bool = False) -> tuple[str, ...]:
    """A string or a non-empty list of strings; ``nulls``: a list may hold ``null`` entries, which name
    nothing (IAM accepts them in Resource and NotResource lists)."""
    if isinstance(value, str):
        return (value,)
    if nulls and isinstance(value, list) and value and all(v is None or isinstance(v, str) for v in value):
        return tuple(v for v in value if v is not None)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise MalformedPolicy(f"{what} must be a string or a non-empty list of strings")


def _principal(value: Any) -> Mapping[str, tuple[str, ...]]:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy("Invalid principal in policy")
    out: dict[str, tuple[str, ...]] = {}
    for kind, ids in value.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise MalformedPolicy(f'Invalid principal in policy: "{kind}"')
        out[kind] = _strings(ids, f"Principal.{kind}")
    return out


def _conditions(value: Any) -> Mapping[str, Mapping[str, tuple[Any, ...]]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedPolicy("Condition must be an object")
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for operator, block in value.items():
        if block == {}:
            continue  # an empty block tests nothing (IAM accepts it, whatever its operator)
        parse_operator(operator)  # refuses unknown operators
        if not isinstance(block, dict):
            raise MalformedPolicy(f"Condition {operator} must map keys to values")
        out[operator] = {}
        for key, values in block.items():
            # an empty list of values (IAM accepts it) matches no request value
            vals = tuple(values) if isinstance(values, list) else (values,)
            if not all(isinstance(v, (str, int, float, bool)) for v in vals):
                raise MalformedPolicy(f"Condition {operator} {key}: values must be strings, numbers or booleans")
            out[operator][key] = vals
    return out


def _statement(raw: Any) -> Statement:
    if not isinstance(raw, dict):
        raise MalformedPolicy("Statement must be an object")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy("Effect must be Allow or Deny")
    if ("Action" in raw) == ("NotAction" in raw):
        raise MalformedPolicy(
            "Policy statement must contain actions."
            if "Action" not in raw
            else "Statement cannot contain both Action and NotAction"
        )
    if "Resource" in raw and "NotResource" in raw:
        raise MalformedPolicy("Statement cannot contain both Resource and NotResource")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise MalformedPolicy("Statement cannot contain both Principal and NotPrincipal")
    return Statement(
        effect=Effect(effect),
        actions=_strings(raw["Action"], "Action") if "Action" in raw else None,
        not_actions=_strings(raw["NotAction"], "NotAction") if "NotAction" in raw else None,
        resources=_strings(raw["Resource"], "Resource", nulls=True) if "Resource" in raw else None,
        not_resources=_strings(raw["NotResource"], "NotResource", nulls=True) if "NotResource" in raw else None,
        principals=_principal(raw["Principal"]) if "Principal" in raw else None,
        not_principals=_principal(raw["NotPrincipal"]) if "NotPrincipal" in raw else None,
        conditions=_conditions(raw.get("Condition")),
        sid=raw.get("Sid"),
    )


def parse(document: str | Mapping[str, Any], *, resource_policy: bool = False) -> Policy:
    """A policy document (JSON text or parsed); MalformedPolicy when IAM would refuse it."""
    if isinstance(document, str):
        try:
            data = jsonlimits.loads(document)  # no RecursionError on deep nesting: TooDeep is a ValueError
        except ValueError:
            raise MalformedPolicy("Syntax errors in policy.") from None
    else:
        data = dict(document)
    if not isinstance(data, dict):
        raise MalformedPolicy("Syntax errors in policy.")
    version = data.get("Version", "2008-10-17")
    if version not in ("2012-10-17", "2008-10-17"):
        raise MalformedPolicy("The policy must contain a valid version string")
    raw = data.get("Statement")
    if raw is None:
        raise MalformedPolicy("Missing required field Statement")
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise MalformedPolicy("Missing required field Statement")
    statements = tuple(_statement(s) for s in items)
    for s in statements:
        if resource_policy and s.principals is None and s.not_principals is None:
            raise MalformedPolicy("Missing required field Principal")
        if not resource_policy and (s.principals is not None or s.not_principals is not None):
            raise MalformedPolicy("Policy document should not specify a principal.")
        if not resource_policy and s.resources is None and s.not_resources is None:
            raise MalformedPolicy("Policy statement must contain resources.")
    return Policy(version=version, statements=statements)
