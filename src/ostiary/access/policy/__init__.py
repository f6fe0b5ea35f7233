"""The IAM policy evaluation engine: a pure function of policies and a request context.

Follows the IAM User Guide: "Policy evaluation logic" (explicit deny wins; identity and resource
policies; permissions boundaries and session policies can only narrow), "IAM JSON policy elements"
(Action/NotAction, Resource/NotResource, Principal/NotPrincipal, Condition), "Condition operators"
(String*, Numeric*, Date*, Bool, Binary, IpAddress, Arn*, Null, …IfExists, ForAllValues:/ForAnyValue:)
and "Policy variables" (``${aws:username}``, ``${aws:PrincipalTag/k}``, ``${*}``, defaults).

One module per concern, each importing only those before it:
``model`` (Policy, Statement, RequestContext, Outcome, Decision, Evaluation) → ``matching`` (actions,
resources, principals, policy variables) → ``conditions`` (the operators) → ``parsing`` (``parse``) and
``evaluation`` (``evaluate_full`` and friends). Callers use this package's names
(``from ostiary.access import policy``; ``policy.parse``, ``policy.evaluate_full``…).
"""

from __future__ import annotations

from ostiary.access.policy.conditions import condition_holds, conditions_hold
from ostiary.access.policy.evaluation import (
    TRUST_ACTIONS,
    evaluate,
    evaluate_full,
    evaluate_policy,
    is_trust_action,
    rcp_outcome,
    resource_policy_outcome,
    scp_outcome,
    statement_applies,
    statement_match,
)
from ostiary.access.policy.matching import (
    action_matches,
    not_principal_exempts,
    principal_match,
    principal_matches,
    resource_matches,
    substitute,
)
from ostiary.access.policy.model import (
    Decision,
    DeniedBy,
    Effect,
    Evaluation,
    MalformedPolicy,
    Match,
    Outcome,
    Policy,
    RequestContext,
    Statement,
)
from ostiary.access.policy.parsing import parse

__all__ = [
    "TRUST_ACTIONS",
    "Decision",
    "DeniedBy",
    "Effect",
    "Evaluation",
    "MalformedPolicy",
    "Match",
    "Outcome",
    "Policy",
    "RequestContext",
    "Statement",
    "action_matches",
    "condition_holds",
    "conditions_hold",
    "evaluate",
    "evaluate_full",
    "evaluate_policy",
    "is_trust_action",
    "not_principal_exempts",
    "parse",
    "principal_match",
    "principal_matches",
    "rcp_outcome",
    "resource_matches",
    "resource_policy_outcome",
    "scp_outcome",
    "statement_applies",
    "statement_match",
    "substitute",
]
