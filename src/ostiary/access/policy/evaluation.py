"""Evaluation (IAM User Guide, "Policy evaluation logic"): whether a statement applies, one policy's
outcome, and IAM's decision for a request over service control policies and identity, resource,
boundary and session policies."""

from __future__ import annotations

from collections.abc import Sequence

from ostiary.access.policy.conditions import conditions_hold
from ostiary.access.policy.matching import action_matches, not_principal_exempts, principal_match, resource_matches
from ostiary.access.policy.model import (
    Decision,
    DeniedBy,
    Effect,
    Evaluation,
    Match,
    Outcome,
    Policy,
    RequestContext,
    Statement,
)


def _applies_without_principal(stmt: Statement, ctx: RequestContext, variables: bool) -> bool:
    if stmt.actions is not None and not action_matches(stmt.actions, ctx.action):
        return False
    if stmt.not_actions is not None and action_matches(stmt.not_actions, ctx.action):
        return False
    if stmt.resources is not None and not resource_matches(stmt.resources, ctx.resource, ctx, variables):
        return False
    if stmt.not_resources is not None and resource_matches(stmt.not_resources, ctx.resource, ctx, variables):
        return False
    return conditions_hold(stmt, ctx, variables)


def statement_match(stmt: Statement, ctx: RequestContext, variables: bool) -> Match:
    """How a resource policy's statement applies to the request: Match.NONE when it does not; else
    how its Principal names the caller (a NotPrincipal statement that applies counts as naming the
    account: it names nobody in particular)."""
    if stmt.principals is not None:
        match = principal_match(stmt.principals, ctx)
    elif stmt.not_principals is not None:
        match = Match.NONE if not_principal_exempts(stmt.not_principals, ctx) else Match.ACCOUNT
    else:
        match = Match.ACCOUNT
    if match is Match.NONE or not _applies_without_principal(stmt, ctx, variables):
        return Match.NONE
    return match


def statement_applies(stmt: Statement, ctx: RequestContext, variables: bool, resource_policy: bool) -> bool:
    if resource_policy:
        return statement_match(stmt, ctx, variables) is not Match.NONE
    return _applies_without_principal(stmt, ctx, variables)


def resource_policy_outcome(policy: Policy, ctx: RequestContext) -> tuple[Outcome, Match]:
    """A resource policy's outcome and, when it allows, the strongest way an applying Allow
    statement names the caller."""
    best = Match.NONE
    for stmt in policy.statements:
        match = statement_match(stmt, ctx, policy.variables_enabled)
        if match is Match.NONE:
            continue
        if stmt.effect is Effect.DENY:
            return Outcome.EXPLICIT_DENY, Match.NONE
        best = max(best, match)
    return (Outcome.ALLOW, best) if best is not Match.NONE else (Outcome.NOT_APPLICABLE, Match.NONE)


def evaluate_policy(policy: Policy, ctx: RequestContext, *, resource_policy: bool = False) -> Outcome:
    if resource_policy:
        return resource_policy_outcome(policy, ctx)[0]
    allowed = False
    for stmt in policy.statements:
        if _applies_without_principal(stmt, ctx, policy.variables_enabled):
            if stmt.effect is Effect.DENY:
                return Outcome.EXPLICIT_DENY
            allowed = True
    return Outcome.ALLOW if allowed else Outcome.NOT_APPLICABLE


def _combine(policies: Sequence[Policy], ctx: RequestContext) -> Outcome:
    result = Outcome.NOT_APPLICABLE
    for p in policies:
        outcome = evaluate_policy(p, ctx)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome
        if outcome is Outcome.ALLOW:
            result = Outcome.ALLOW
    return result


def scp_outcome(levels: Sequence[Sequence[Policy]], ctx: RequestContext) -> Outcome:
    """The service control policies of an account (AWS Organizations User Guide, "SCP evaluation"):
    ``levels`` are the SCPs attached to the root, to each OU on the way down and to the account
    itself. Any explicit deny denies; otherwise every level must have an SCP that allows (an SCP never
    grants: ALLOW only means that the SCPs do not stand in the way)."""
    allowed_everywhere = True
    for level in levels:
        outcome = _combine(level, ctx)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome
        if outcome is not Outcome.ALLOW:
            allowed_everywhere = False
    return Outcome.ALLOW if allowed_everywhere else Outcome.NOT_APPLICABLE


def rcp_outcome(levels: Sequence[Sequence[Policy]], ctx: RequestContext) -> Outcome:
    """The resource control policies of the account that owns the resource (AWS Organizations User
    Guide, "Resource control policies (RCPs)"): levels as for SCPs, each RCP evaluated as a resource
    policy (its Principal, ``"*"``, names every caller). Any explicit deny denies; otherwise every level
    must have an RCP that allows (an RCP never grants)."""
    allowed_everywhere = True
    for level in levels:
        result = Outcome.NOT_APPLICABLE
        for p in level:
            outcome = evaluate_policy(p, ctx, resource_policy=True)
            if outcome is Outcome.EXPLICIT_DENY:
                return outcome
            if outcome is Outcome.ALLOW:
                result = Outcome.ALLOW
        if result is not Outcome.ALLOW:
            allowed_everywhere = False
    return Outcome.ALLOW if allowed_everywhere else Outcome.NOT_APPLICABLE


def _combine_resource(policies: Sequence[Policy], ctx: RequestContext) -> tuple[Outcome, Match]:
    result, best = Outcome.NOT_APPLICABLE, Match.NONE
    for p in policies:
        outcome, match = resource_policy_outcome(p, ctx)
        if outcome is Outcome.EXPLICIT_DENY:
            return outcome, Match.NONE
        if outcome is Outcome.ALLOW:
            result, best = Outcome.ALLOW, max(best, match)
    return result, best


# actions whose resource policy is a role's trust policy: it must allow them whatever the caller's
# own policies say (IAM User Guide: "IAM role trust policies ... must explicitly allow access")
TRUST_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
     "sts:setsourceidentity"}
)  # fmt: skip


def is_trust_action(action: str) -> bool:
    return action.lower() in TRUST_ACTIONS


def evaluate_full(
    ctx: RequestContext,
    *,
    identity: Sequence[Policy] = (),
    resource: Sequence[Policy] = (),
    boundaries: Sequence[Policy] | None = None,
    session: Sequence[Policy] | None = None,
    resource_account: str = "",
    resource_required: bool = False,
    scps: Sequence[Sequence[Policy]] | None = None,
    rcps: Sequence[Sequence[Policy]] | None = None,
) -> Evaluation:
    """IAM's decision for one request ("Policy evaluation logic", single and cross account), with
    the kind of policy that denied it.

    Any explicit deny wins. Within one account, identity policies (capped by the permissions
    boundary and the session policies, when there are any) grant; so does a resource policy, by
    how it names the caller (see Match): the caller itself — on its own; the role of a role session
    — within the boundary and session policies; the account — not on its own (the identity policies
    must allow). Across accounts both the identity side and the resource policy must allow.
    ``resource_required``: the resource policy is a trust policy, which must allow in any case.
    ``scps``: the service control policies of the caller's account by level (root, OUs, account;
    see scp_outcome), None when none apply (no organization, the management account, a service-linked
    role). As AWS's flow chart orders them, an SCP's explicit deny is named before any other, and an
    SCP that does not allow denies before identity and resource policies are asked.
    ``rcps``: the resource control policies of the account that owns the resource, by level (see
    rcp_outcome), None when none apply; asked right after the SCPs, as AWS's flow chart orders them.
    """
    scp_out = scp_outcome(scps, ctx) if scps is not None else None
    if scp_out is Outcome.EXPLICIT_DENY:
        return Evaluation(Decision.EXPLICIT_DENY, DeniedBy.SCP)
    rcp_out = rcp_outcome(rcps, ctx) if rcps is not None else None
    if rcp_out is Outcome.EXPLICIT_DENY:
        return Evaluation(Decision.EXPLICIT_DENY, DeniedBy.RCP)
    identity_out = _combine(identity, ctx)
    resource_out, match = _combine_resource(resource, ctx)
    boundary_out = _combine(boundaries, ctx) if boundaries is not None else None
    session_out = _combine(session, ctx) if session is not None else None
    for kind, outcome in (
        (DeniedBy.RESOURCE, resource_out),
        (DeniedBy.IDENTITY, identity_out),
        (DeniedBy.BOUNDARY, boundary_out),
        (DeniedBy.SESSION, session_out),
    ):
        if outcome is Outcome.EXPLICIT_DENY:
            return Evaluation(Decision.EXPLICIT_DENY, kind)
    if scp_out is Outcome.NOT_APPLICABLE:
        return Evaluation(Decision.IMPLICIT_DENY, DeniedBy.SCP)
    if rcp_out is Outcome.NOT_APPLICABLE:
        return Evaluation(Decision.IMPLICIT_DENY, DeniedBy.RCP)
    bounded = boundary_out in (None, Outcome.ALLOW)
    in_session = session_out in (None, Outcome.ALLOW)
    identity_grants = identity_out is Outcome.ALLOW and bounded and in_session
    resource_allows = resource_out is Outcome.ALLOW
    same_account = not resource_account or resource_account == ctx.principal_account
    if same_account:
        resource_grants = match is Match.SELF or (match is Match.ROLE and bounded and in_session)
        allowed = identity_grants or resource_grants
        if resource_required:
            allowed = allowed and resource_allows
    else:
        allowed = identity_grants and resource_allows
    if allowed:
        return Evaluation(Decision.ALLOW)
    if (resource_required or not same_account) and not resource_allows:
        missing = DeniedBy.RESOURCE
    elif identity_out is not Outcome.ALLOW:
        missing = DeniedBy.IDENTITY
    elif not bounded:
        missing = DeniedBy.BOUNDARY
    elif not in_session:
        missing = DeniedBy.SESSION
    else:
        missing = DeniedBy.RESOURCE
    return Evaluation(Decision.IMPLICIT_DENY, missing)


def evaluate(
    ctx: RequestContext,
    *,
    identity: Sequence[Policy] = (),
    resource: Sequence[Policy] = (),
    boundaries: Sequence[Policy] | None = None,
    session: Sequence[Policy] | None = None,
    resource_account: str = "",
    resource_required: bool = False,
    scps: Sequence[Sequence[Policy]] | None = None,
) -> Decision:
    """IAM's decision for one request (see evaluate_full)."""
    return evaluate_full(
        ctx,
        identity=identity,
        resource=resource,
        boundaries=boundaries,
        session=session,
        resource_account=resource_account,
        resource_required=resource_required,
        scps=scps,
    ).decision
