"""Who is calling: the principal a verified signature resolves to, and the authorization seam."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ostiary.access.policy import Decision
from ostiary.access.session_tokens import Session


class PrincipalKind(enum.Enum):
    ROOT = "root"
    USER = "user"
    ASSUMED_ROLE = "assumed-role"
    FEDERATED_USER = "federated-user"


@dataclass(frozen=True)
class Principal:
    account_id: str
    kind: PrincipalKind
    arn: str
    user_id: str
    access_key_id: str
    # the facts of the temporary credentials that signed (opened from the session token, or read from
    # the session's row once at SigV4 resolution): later readers (authorization, role chaining,
    # Cognito Sync) use these instead of reading the store again; None for long-term keys
    session: Session | None = field(default=None, compare=False, repr=False)


def root_principal(account_id: str, access_key_id: str) -> Principal:
    return Principal(
        account_id=account_id,
        kind=PrincipalKind.ROOT,
        arn=f"arn:aws:iam::{account_id}:root",
        user_id=account_id,
        access_key_id=access_key_id,
    )


def arn_account(arn: str) -> str:
    """The account field of an ARN ('' for '*' or a malformed ARN)."""
    parts = arn.split(":", 5)
    return parts[4] if len(parts) >= 5 else ""


def authorize(principal: Principal, action: str, resource: str) -> Decision:
    """Decide whether ``principal`` may perform ``action`` on ``resource``.

    The account root may do everything inside its own account. IAM users and role sessions are
    decided by the policy engine (access/policy) through access/authz.py; here they are denied.
    """
    if principal.kind is PrincipalKind.ROOT:
        account = arn_account(resource)
        # "aws": AWS managed policies, readable and attachable by every account
        if resource == "*" or account in ("", "aws", principal.account_id):
            return Decision.ALLOW
        return Decision.IMPLICIT_DENY
    return Decision.IMPLICIT_DENY
