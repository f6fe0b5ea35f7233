"""The engine's model: a parsed policy (``Policy`` of ``Statement``s), the request it is asked about
(``RequestContext``), and the answers (``Outcome`` of one policy, ``Decision`` and ``Evaluation`` of a
request; ``Decision`` is the one decision enum of Ostiary)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class Outcome(enum.Enum):
    """The result of evaluating one policy (or a set of them) for one request."""

    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    NOT_APPLICABLE = "not-applicable"


class Decision(enum.Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit-deny"
    EXPLICIT_DENY = "explicit-deny"


class MalformedPolicy(ValueError):
    """A policy document IAM would refuse (MalformedPolicyDocument)."""


class Match(enum.IntEnum):
    """How the Principal of a resource policy's statement names the caller (the stronger, the larger).

    The IAM User Guide ("Policy evaluation logic", resource-based policies within one account): a
    resource policy that names the caller itself (an IAM user's ARN, an assumed-role or federated
    user session's ARN) grants on its own, unlimited by an implicit deny in identity policies,
    permissions boundaries or session policies; one that names the role of a role session grants
    without identity policies but is limited by the session's boundary and session policies; one
    that names the account (its root ARN or bare id; also ``*``, everyone) delegates to the account:
    the caller's identity policies must allow as well.
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    SELF = 3


class DeniedBy(enum.Enum):
    """The kind of policy an AccessDenied message names (IAM User Guide, "Troubleshoot access denied
    error messages")."""

    IDENTITY = "identity-based policy"
    RESOURCE = "resource-based policy"
    BOUNDARY = "permissions boundary"
    SESSION = "session policy"
    SCP = "service control policy"
    RCP = "resource control policy"


@dataclass(frozen=True)
class Evaluation:
    """IAM's decision for one request, with the kind of policy that denied it (None when allowed)."""

    decision: Decision
    denied_by: DeniedBy | None = None

    def reason(self, action: str) -> str:
        """AWS's phrase for the denial: "with an explicit deny in a …" / "because no … allows the … action"."""
        if self.denied_by is None:
            return ""
        article = "an" if self.denied_by.value[0] in "aeiou" else "a"
        if self.decision is Decision.EXPLICIT_DENY:
            return f"with an explicit deny in {article} {self.denied_by.value}"
        return f"because no {self.denied_by.value} allows the {action} action"


@dataclass(frozen=True)
class Statement:
    effect: Effect
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    principals: Mapping[str, tuple[str, ...]] | None
    not_principals: Mapping[str, tuple[str, ...]] | None
    conditions: Mapping[str, Mapping[str, tuple[Any, ...]]]
    sid: str | None = None


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]

    @property
    def variables_enabled(self) -> bool:
        return self.version == "2012-10-17"


@dataclass
class RequestContext:
    """What a request looks like to the engine.

    ``keys`` holds global and service condition keys, each a list of values (single-valued keys
    have one); names are matched case-insensitively, as IAM does for key names.
    """

    action: str
    resource: str
    principal_arn: str = ""
    principal_account: str = ""
    principal_type: str = "AWS"  # AWS | Federated | Service
    keys: dict[str, list[str]] = field(default_factory=dict)
    # other ARNs the caller answers to in a Principal element (a role session: its role's ARN)
    principal_aliases: tuple[str, ...] = ()
    # a permissions boundary applies to the caller (NotPrincipal never exempts it: IAM User Guide)
    principal_has_boundary: bool = False

    def key(self, name: str) -> list[str] | None:
        lowered = name.lower()
        for k, v in self.keys.items():
            if k.lower() == lowered:
                return v
        return None
