# ruff: noqa: E501  (the table of cases reads best one case a line)
"""Real calls see the same request context as the policy simulator, and decide identically
(issue 10, item 12).

A table of evaluation cases with AWS's documented decision (IAM User Guide: "Policy evaluation
logic", "Cross-account policy evaluation logic", "Permissions boundaries for IAM entities",
"Session policies", "NotPrincipal", "Condition operators", "...IfExists", "Global condition context
keys", "Controlling access to AWS resources using tags"). Each case is run twice:

- through a real signed boto3 call by a fresh principal (iam:GetUser on a tagged user, iam:GetRole on
  a tagged role, cognito-idp:DescribeUserPool on a tagged pool, sts:AssumeRole on a role whose trust
  policy is the resource policy), and
- through SimulatePrincipalPolicy (or SimulateCustomPolicy) with ContextEntries equal to what the
  real call carries (the resource's tags, the caller's tags, aws:username, aws:userid, region,
  transport, source address, time),

and both must give the expected decision. A few cases can be expressed only one way: session
policies (no simulator input takes them) are real-only; NotPrincipal (refused in trust policies,
the only resource policies real calls meet) and a generic resource policy are simulator-only.

Before the fix, real calls never saw aws:ResourceTag/…: a Deny on a resource tag never fired and an
Allow on one never granted.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION, Server
from tests.security._authz_helpers import (
    allow,
    client,
    creds_of,
    deny,
    doc,
    new_boundary,
    new_role,
    new_user,
    root_arn,
    second_account,
    trust_stmt,
    unique,
)

OTHER = "444455556666"
TARGET_USER_TAGS = {"team": "blue"}
TARGET_ROLE_TAGS = {"team": "red"}
POOL_TAGS = {"env": "prod"}

ALLOWED, IMPLICIT, EXPLICIT = "allowed", "implicitDeny", "explicitDeny"


@dataclass(frozen=True)
class Case:
    id: str
    target: str  # user | self | role | pool | assume
    identity: list[dict[str, Any]]  # statements of the caller's inline policy ([]: none)
    expected: str
    denied_by: str | None = None  # the kind of policy AWS's message names
    boundary: list[dict[str, Any]] | None = None
    trust: list[dict[str, Any]] | None = None  # sts:AssumeRole: the role's trust policy
    resource_policy: list[dict[str, Any]] | None = None  # simulator-only generic resource policy
    caller_tags: dict[str, str] = field(default_factory=dict)
    session_policy: list[dict[str, Any]] | None = None  # real-only: the caller is a role session
    caller_account: str = ACCOUNT_ID
    through: str = "both"  # both | real | simulator
    action: str = ""


def A(action: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def D(action: Any, resource: Any = "*", **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": "Deny", "Action": action, "Resource": resource}
    if condition:
        stmt["Condition"] = condition
    return stmt


def T(effect: str, principal: Any, **condition: Any) -> dict[str, Any]:
    stmt: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return stmt


ME = "{caller_arn}"
ACCT_ROOT = root_arn()
USER_ARN = "arn:aws:iam::{account}:user/{target_user}"

CASES = [
    # --- identity policies, explicit and implicit deny ----------------------------------------
    Case("no-policy", "user", [], IMPLICIT, "identity-based policy"),
    Case("allow", "user", [A("iam:GetUser")], ALLOWED),
    Case("allow-and-deny", "user", [A("iam:GetUser"), D("iam:GetUser")], EXPLICIT, "identity-based policy"),
    Case("wildcard-action", "user", [A("iam:Get*")], ALLOWED),
    Case("other-action", "user", [A("iam:ListUsers")], IMPLICIT, "identity-based policy"),
    Case("not-action", "user", [{"Effect": "Allow", "NotAction": "iam:Delete*", "Resource": "*"}], ALLOWED),
    Case("not-action-excluded", "user", [{"Effect": "Allow", "NotAction": "iam:GetUser", "Resource": "*"}], IMPLICIT, "identity-based policy"),
    Case("not-resource-deny", "user", [A("iam:GetUser"), {"Effect": "Deny", "Action": "iam:*", "NotResource": "arn:aws:iam::{account}:user/somebody"}], EXPLICIT, "identity-based policy"),
    Case("resource-arn", "user", [A("iam:GetUser", USER_ARN)], ALLOWED),
    Case("other-resource", "user", [A("iam:GetUser", "arn:aws:iam::{account}:user/somebody")], IMPLICIT, "identity-based policy"),
    # --- resource tags (aws:ResourceTag, iam:ResourceTag) -------------------------------------
    Case("resource-tag-allow", "user", [A("iam:GetUser", StringEquals={"aws:ResourceTag/team": "blue"})], ALLOWED),
    Case("resource-tag-allow-mismatch", "user", [A("iam:GetUser", StringEquals={"aws:ResourceTag/team": "red"})], IMPLICIT, "identity-based policy"),
    Case("resource-tag-deny", "user", [A("iam:*"), D("iam:GetUser", StringEquals={"aws:ResourceTag/team": "blue"})], EXPLICIT, "identity-based policy"),
    Case("resource-tag-deny-other-value", "user", [A("iam:*"), D("iam:GetUser", StringEquals={"aws:ResourceTag/team": "red"})], ALLOWED),
    Case("iam-resource-tag", "user", [A("iam:GetUser", StringEquals={"iam:ResourceTag/team": "blue"})], ALLOWED),
    Case("resource-tag-ignore-case", "user", [A("iam:GetUser", StringEqualsIgnoreCase={"aws:ResourceTag/TEAM": "BLUE"})], ALLOWED),
    Case("resource-tag-null-deny", "user", [A("iam:GetUser"), D("iam:GetUser", Null={"aws:ResourceTag/owner": "true"})], EXPLICIT, "identity-based policy"),
    Case("resource-tag-null-present", "user", [A("iam:GetUser"), D("iam:GetUser", Null={"aws:ResourceTag/team": "true"})], ALLOWED),
    Case("resource-tag-if-exists-absent", "user", [A("iam:GetUser", StringEqualsIfExists={"aws:ResourceTag/owner": "x"})], ALLOWED),
    Case("resource-tag-not-equals", "user", [A("iam:GetUser", StringNotEquals={"aws:ResourceTag/team": "blue"})], IMPLICIT, "identity-based policy"),
    Case("role-resource-tag", "role", [A("iam:GetRole", StringLike={"aws:ResourceTag/team": "r*"})], ALLOWED),
    Case("role-resource-tag-deny", "role", [A("iam:GetRole"), D("iam:*", StringEquals={"iam:ResourceTag/team": "red"})], EXPLICIT, "identity-based policy"),
    Case("pool-resource-tag", "pool", [A("cognito-idp:DescribeUserPool", StringEquals={"aws:ResourceTag/env": "prod"})], ALLOWED),
    Case("pool-resource-tag-deny", "pool", [A("cognito-idp:*"), D("cognito-idp:Describe*", StringEquals={"aws:ResourceTag/env": "prod"})], EXPLICIT, "identity-based policy"),
    Case("pool-resource-tag-mismatch", "pool", [A("cognito-idp:*", StringEquals={"aws:ResourceTag/env": "dev"})], IMPLICIT, "identity-based policy"),
    # --- principal tags and policy variables ---------------------------------------------------
    Case("principal-tag", "user", [A("iam:GetUser", StringEquals={"aws:PrincipalTag/dept": "eng"})], ALLOWED, caller_tags={"dept": "eng"}),
    Case("principal-tag-mismatch", "user", [A("iam:GetUser", StringEquals={"aws:PrincipalTag/dept": "eng"})], IMPLICIT, "identity-based policy", caller_tags={"dept": "ops"}),
    Case("abac-match", "user", [A("iam:GetUser", StringEquals={"aws:ResourceTag/team": "${aws:PrincipalTag/team}"})], ALLOWED, caller_tags={"team": "blue"}),
    Case("abac-mismatch", "user", [A("iam:GetUser", StringEquals={"aws:ResourceTag/team": "${aws:PrincipalTag/team}"})], IMPLICIT, "identity-based policy", caller_tags={"team": "green"}),
    Case("username-variable-self", "self", [A("iam:GetUser", "arn:aws:iam::{account}:user/${aws:username}")], ALLOWED),
    Case("username-variable-other", "user", [A("iam:GetUser", "arn:aws:iam::{account}:user/${aws:username}")], IMPLICIT, "identity-based policy"),
    # --- global keys of the request --------------------------------------------------------------
    Case("requested-region", "user", [A("iam:GetUser", StringEquals={"aws:RequestedRegion": REGION})], ALLOWED),
    Case("requested-region-other", "user", [A("iam:GetUser", StringEquals={"aws:RequestedRegion": "eu-west-3"})], IMPLICIT, "identity-based policy"),
    Case("mfa-bool-if-exists-long-term", "user", [A("iam:GetUser"), D("*", BoolIfExists={"aws:MultiFactorAuthPresent": "false"})], EXPLICIT, "identity-based policy"),
    Case("mfa-bool-long-term", "user", [A("iam:GetUser"), D("*", Bool={"aws:MultiFactorAuthPresent": "false"})], ALLOWED),
    Case("token-issue-time-long-term", "user", [A("iam:GetUser"), D("*", DateLessThan={"aws:TokenIssueTime": "2100-01-01T00:00:00Z"})], ALLOWED),
    Case("source-ip", "user", [A("iam:GetUser", IpAddress={"aws:SourceIp": "127.0.0.0/8"})], ALLOWED),
    Case("source-ip-deny", "user", [A("iam:GetUser"), D("*", NotIpAddress={"aws:SourceIp": "10.0.0.0/8"})], EXPLICIT, "identity-based policy"),
    Case("secure-transport", "user", [A("iam:GetUser"), D("*", Bool={"aws:SecureTransport": "false"})], EXPLICIT, "identity-based policy"),
    Case("principal-type", "user", [A("iam:GetUser", StringEquals={"aws:PrincipalType": "User"})], ALLOWED),
    Case("principal-arn-like", "user", [A("iam:GetUser", ArnLike={"aws:PrincipalArn": "arn:aws:iam::{account}:user/ctx-*"})], ALLOWED),
    Case("principal-account", "user", [A("iam:GetUser", StringEquals={"aws:PrincipalAccount": "{account}"})], ALLOWED),
    Case("via-aws-service", "user", [A("iam:GetUser", Bool={"aws:ViaAWSService": "false"})], ALLOWED),
    Case("current-time", "user", [A("iam:GetUser", DateGreaterThan={"aws:CurrentTime": "2001-01-01T00:00:00Z"})], ALLOWED),
    Case("current-time-past", "user", [A("iam:GetUser", DateLessThan={"aws:CurrentTime": "2001-01-01T00:00:00Z"})], IMPLICIT, "identity-based policy"),
    # --- permissions boundaries ------------------------------------------------------------------
    Case("boundary-not-allowing", "user", [A("iam:GetUser")], IMPLICIT, "permissions boundary", boundary=[A("iam:List*")]),
    Case("boundary-allowing", "user", [A("iam:GetUser")], ALLOWED, boundary=[A("iam:Get*")]),
    Case("boundary-deny", "user", [A("iam:GetUser")], EXPLICIT, "permissions boundary", boundary=[A("*"), D("iam:GetUser")]),
    Case("boundary-resource-tag", "user", [A("iam:GetUser")], ALLOWED, boundary=[A("iam:*", StringEquals={"aws:ResourceTag/team": "blue"})]),
    Case("boundary-resource-tag-mismatch", "user", [A("iam:GetUser")], IMPLICIT, "permissions boundary", boundary=[A("iam:*", StringEquals={"aws:ResourceTag/team": "red"})]),
    Case("boundary-without-identity", "user", [], IMPLICIT, "identity-based policy", boundary=[A("*")]),
    # --- trust policies: the resource policy of sts:AssumeRole ------------------------------------
    Case("trust-account-no-identity", "assume", [], IMPLICIT, trust=[T("Allow", {"AWS": ACCT_ROOT})]),
    Case("trust-account-identity", "assume", [A("sts:AssumeRole", "{role_arn}")], ALLOWED, trust=[T("Allow", {"AWS": ACCT_ROOT})]),
    Case("trust-caller-no-identity", "assume", [], ALLOWED, trust=[T("Allow", {"AWS": ME})]),
    Case("trust-caller-identity-deny", "assume", [D("sts:AssumeRole")], EXPLICIT, trust=[T("Allow", {"AWS": ME})]),
    Case("trust-deny-caller", "assume", [A("sts:AssumeRole")], EXPLICIT, trust=[T("Allow", {"AWS": ACCT_ROOT}), T("Deny", {"AWS": ME})]),
    Case("trust-longer-arn-deny", "assume", [], IMPLICIT, trust=[T("Allow", {"AWS": ACCT_ROOT}), T("Deny", {"AWS": ME + "-x"})]),
    Case("trust-other-user", "assume", [A("sts:AssumeRole")], IMPLICIT, trust=[T("Allow", {"AWS": "arn:aws:iam::{account}:user/nobody"})]),
    Case("trust-role-tag-condition", "assume", [A("sts:AssumeRole")], ALLOWED, trust=[T("Allow", {"AWS": ACCT_ROOT}, StringEquals={"aws:ResourceTag/team": "red"})]),
    Case("trust-role-tag-condition-mismatch", "assume", [A("sts:AssumeRole")], IMPLICIT, trust=[T("Allow", {"AWS": ACCT_ROOT}, StringEquals={"aws:ResourceTag/team": "blue"})]),
    Case("trust-principal-tag-condition", "assume", [], ALLOWED, trust=[T("Allow", {"AWS": ME}, StringEquals={"aws:PrincipalTag/dept": "eng"})], caller_tags={"dept": "eng"}),
    Case("trust-caller-boundary", "assume", [], ALLOWED, boundary=[A("iam:List*")], trust=[T("Allow", {"AWS": ME})]),
    Case("trust-account-boundary", "assume", [A("sts:AssumeRole")], IMPLICIT, boundary=[A("iam:List*")], trust=[T("Allow", {"AWS": ACCT_ROOT})]),
    # --- across accounts: the caller's identity and the trust must both allow ----------------------
    Case("cross-trust-caller-no-identity", "assume", [], IMPLICIT, trust=[T("Allow", {"AWS": ME})], caller_account=OTHER),
    Case("cross-trust-caller-identity", "assume", [A("sts:AssumeRole", "{role_arn}")], ALLOWED, trust=[T("Allow", {"AWS": ME})], caller_account=OTHER),
    Case("cross-trust-account-identity", "assume", [A("sts:AssumeRole")], ALLOWED, trust=[T("Allow", {"AWS": root_arn(OTHER)})], caller_account=OTHER),
    Case("cross-trust-account-no-identity", "assume", [], IMPLICIT, trust=[T("Allow", {"AWS": root_arn(OTHER)})], caller_account=OTHER),
    Case("cross-not-trusted", "assume", [A("sts:AssumeRole")], IMPLICIT, trust=[T("Allow", {"AWS": ACCT_ROOT})], caller_account=OTHER),
    # --- session policies (no simulator input takes them) -------------------------------------------
    Case("session-policy-not-allowing", "user", [A("iam:GetUser")], IMPLICIT, "session policy", session_policy=[A("iam:List*")], through="real"),
    Case("session-policy-deny", "user", [A("iam:GetUser")], EXPLICIT, "session policy", session_policy=[A("*"), D("iam:GetUser")], through="real"),
    Case("session-policy-allowing", "user", [A("iam:GetUser")], ALLOWED, session_policy=[A("iam:GetUser")], through="real"),
    Case("session-policy-alone", "user", [], IMPLICIT, "identity-based policy", session_policy=[A("*")], through="real"),
    Case("session-resource-tag-deny", "user", [A("iam:*")], EXPLICIT, "session policy", session_policy=[A("*"), D("*", StringEquals={"aws:ResourceTag/team": "blue"})], through="real"),
    # --- generic resource policies and NotPrincipal (simulator only) --------------------------------
    Case("rp-account-no-identity", "bucket", [A("ec2:Describe*")], IMPLICIT, resource_policy=[{"Effect": "Allow", "Principal": {"AWS": ACCT_ROOT}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
    Case("rp-user-no-identity", "bucket", [A("ec2:Describe*")], ALLOWED, resource_policy=[{"Effect": "Allow", "Principal": {"AWS": ME}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
    Case("not-principal-account-only", "bucket", [A("s3:GetObject")], EXPLICIT, resource_policy=[{"Effect": "Deny", "NotPrincipal": {"AWS": ACCT_ROOT}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
    Case("not-principal-account-and-user", "bucket", [A("s3:GetObject")], ALLOWED, resource_policy=[{"Effect": "Deny", "NotPrincipal": {"AWS": [ACCT_ROOT, ME]}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
    Case("not-principal-user-only", "bucket", [A("s3:GetObject")], EXPLICIT, resource_policy=[{"Effect": "Deny", "NotPrincipal": {"AWS": ME}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
    Case("not-principal-boundary", "bucket", [A("s3:GetObject")], EXPLICIT, boundary=[A("*")], resource_policy=[{"Effect": "Deny", "NotPrincipal": {"AWS": [ACCT_ROOT, ME]}, "Action": "s3:GetObject", "Resource": "*"}], through="simulator", action="s3:GetObject"),
]  # fmt: skip


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        for k, v in names.items():
            value = value.replace("{" + k + "}", v)
        return value
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def targets(server: Server) -> dict[str, str]:
    iam = server.client("iam")
    user = unique("ctx-target")
    iam.create_user(UserName=user, Tags=[{"Key": k, "Value": v} for k, v in TARGET_USER_TAGS.items()])
    role = unique("ctx-target-role")
    new_role(server, role, _doc([T("Allow", {"AWS": ACCT_ROOT})]), tags=TARGET_ROLE_TAGS)
    pool = server.client("cognito-idp").create_user_pool(PoolName=unique("ctx-pool"), UserPoolTags=POOL_TAGS)
    return {"target_user": user, "target_role": role, "pool_id": pool["UserPool"]["Id"]}


def _entries(keys: dict[str, tuple[str, list[str]]]) -> list[dict[str, Any]]:
    return [{"ContextKeyName": k, "ContextKeyValues": v, "ContextKeyType": kind} for k, (kind, v) in keys.items()]


def _real(server: Server, case: Case, creds: dict[str, Any], names: dict[str, str]) -> tuple[str, str]:
    """(decision, message) of the real call."""
    try:
        if case.target in ("user", "self"):
            user = names["caller_name"] if case.target == "self" else names["target_user"]
            client(server, "iam", creds).get_user(UserName=user)
        elif case.target == "role":
            client(server, "iam", creds).get_role(RoleName=names["target_role"])
        elif case.target == "pool":
            client(server, "cognito-idp", creds).describe_user_pool(UserPoolId=names["pool_id"])
        else:
            client(server, "sts", creds).assume_role(RoleArn=names["role_arn"], RoleSessionName="ctx")
    except ClientError as err:
        code, message = err.response["Error"]["Code"], err.response["Error"]["Message"]
        assert code in ("AccessDenied", "AccessDeniedException"), err.response
        if case.target == "assume":  # STS names no policy kind: only allowed/denied is visible
            return "denied", message
        return (EXPLICIT if "with an explicit deny" in message else IMPLICIT), message
    return ALLOWED, ""


def _setup_caller(server: Server, case: Case, names: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Create the caller; (credentials, facts of the real request context)."""
    account_creds = second_account(server, OTHER) if case.caller_account == OTHER else {}
    iam = server.client("iam", **account_creds)
    name = names["caller_name"]
    kwargs: dict[str, Any] = {"UserName": name}
    if case.caller_tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in case.caller_tags.items()]
    if case.boundary is not None:
        kwargs["PermissionsBoundary"] = new_boundary(
            server, unique("ctx-boundary"), _doc(_fill(case.boundary, names)), account_creds or None
        )
    user = iam.create_user(**kwargs)["User"]
    if case.identity:
        iam.put_user_policy(UserName=name, PolicyName="identity", PolicyDocument=_doc(_fill(case.identity, names)))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    return creds, {"user_id": user["UserId"], "iam": iam}


def _session_caller(server: Server, case: Case, names: dict[str, str]) -> dict[str, Any]:
    role = unique("ctx-session-role")
    arn = new_role(
        server,
        role,
        _doc([T("Allow", {"AWS": ACCT_ROOT})]),
        [_doc(_fill(case.identity, names))] if case.identity else [],
    )
    assert case.session_policy is not None
    out = server.client("sts").assume_role(
        RoleArn=arn, RoleSessionName="ctx-session", Policy=_doc(_fill(case.session_policy, names))
    )
    return creds_of(out["Credentials"])


def _simulate(case: Case, facts: dict[str, Any], names: dict[str, str]) -> str:
    account = case.caller_account
    now = dt.datetime.now(dt.UTC)
    keys: dict[str, tuple[str, list[str]]] = {
        "aws:username": ("string", [names["caller_name"]]),
        "aws:userid": ("string", [facts["user_id"]]),
        "aws:PrincipalArn": ("string", [names["caller_arn"]]),
        "aws:PrincipalAccount": ("string", [account]),
        "aws:PrincipalType": ("string", ["User"]),
        "aws:RequestedRegion": ("string", [REGION]),
        "aws:SecureTransport": ("boolean", ["false"]),
        "aws:ViaAWSService": ("boolean", ["false"]),
        "aws:SourceIp": ("ip", ["127.0.0.1"]),
        "aws:CurrentTime": ("date", [now.strftime("%Y-%m-%dT%H:%M:%SZ")]),
    }
    for k, v in case.caller_tags.items():
        keys[f"aws:PrincipalTag/{k}"] = ("string", [v])
    resource_tags = {"user": TARGET_USER_TAGS, "role": TARGET_ROLE_TAGS, "pool": POOL_TAGS, "assume": TARGET_ROLE_TAGS}
    for k, v in resource_tags.get(case.target, {}).items():
        keys[f"aws:ResourceTag/{k}"] = ("string", [v])
        if case.target in ("user", "role", "assume"):
            keys[f"iam:ResourceTag/{k}"] = ("string", [v])
    action, resource = {
        "user": ("iam:GetUser", f"arn:aws:iam::{ACCOUNT_ID}:user/{names['target_user']}"),
        "self": ("iam:GetUser", f"arn:aws:iam::{account}:user/{names['caller_name']}"),
        "role": ("iam:GetRole", f"arn:aws:iam::{ACCOUNT_ID}:role/{names['target_role']}"),
        "pool": ("cognito-idp:DescribeUserPool", f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{names['pool_id']}"),
        "assume": ("sts:AssumeRole", names.get("role_arn", "")),
        "bucket": (case.action, "arn:aws:s3:::ctx-bucket/object"),
    }[case.target]  # fmt: skip
    params: dict[str, Any] = {
        "PolicySourceArn": names["caller_arn"],
        "ActionNames": [action],
        "ResourceArns": [resource],
        "ContextEntries": _entries(keys),
    }
    policy = case.trust or case.resource_policy
    if policy is not None:
        params["ResourcePolicy"] = _doc(_fill(policy, names))
        params["CallerArn"] = names["caller_arn"]
        if case.target == "bucket":
            params["ResourceOwner"] = f"arn:aws:iam::{ACCOUNT_ID}:root"
    out = facts["iam"].simulate_principal_policy(**params)
    decision: str = out["EvaluationResults"][0]["EvalDecision"]
    return decision


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_real_calls_and_simulator_agree(server: Server, targets: dict[str, str], case: Case) -> None:
    name = unique("ctx")
    names = {
        "account": ACCOUNT_ID,
        "caller_name": name,
        "caller_arn": f"arn:aws:iam::{case.caller_account}:user/{name}",
        **targets,
    }
    if case.target == "assume":
        role = unique("ctx-trusting")
        names["role_arn"] = f"arn:aws:iam::{ACCOUNT_ID}:role/{role}"
        assert case.trust is not None
        new_role(server, role, _doc(_fill(case.trust, names)), tags=TARGET_ROLE_TAGS)
    if case.session_policy is not None:
        creds = _session_caller(server, case, names)
        decision, message = _real(server, case, creds, names)
        assert decision == case.expected, message
    else:
        creds, facts = _setup_caller(server, case, names)
        if case.through in ("both", "simulator"):
            assert _simulate(case, facts, names) == case.expected
        if case.through in ("both", "real"):
            decision, message = _real(server, case, creds, names)
            want = case.expected if case.target != "assume" or case.expected == ALLOWED else "denied"
            assert decision == want, message
    if case.denied_by is not None and case.through != "simulator":
        assert message.endswith(
            f"with an explicit deny in a{'n' if case.denied_by[0] in 'aeiou' else ''} {case.denied_by}"
            if case.expected == EXPLICIT
            else f"because no {case.denied_by} allows the {_action(case)} action"
        ), message


def _action(case: Case) -> str:
    return {
        "user": "iam:GetUser",
        "self": "iam:GetUser",
        "role": "iam:GetRole",
        "pool": "cognito-idp:DescribeUserPool",
    }[case.target]


def test_policies_on_a_path_see_the_entities_path(server: Server) -> None:
    """Operations name IAM users, roles and groups by name alone; IAM authorizes them against their
    ARN with its path. A Deny on ``user/division/*`` must fire for a user with path /division/, and
    an Allow on it must grant (before: the ARN was built without the path, so the Deny never fired)."""
    iam = server.client("iam")
    division = "/" + unique("div") + "/"
    target, role, group = unique("pathed"), unique("pathed-role"), unique("pathed-group")
    iam.create_user(UserName=target, Path=division)
    iam.create_role(RoleName=role, Path=division, AssumeRolePolicyDocument=doc(trust_stmt("Allow", {"AWS": root_arn()})))
    iam.create_group(GroupName=group, Path=division)
    prefix = f"arn:aws:iam::{ACCOUNT_ID}:"
    _, denied = new_user(
        server,
        unique("path-denied"),
        [doc(allow("iam:Get*"), deny("iam:Get*", [f"{prefix}{kind}{division}*" for kind in ("user", "role", "group")]))],
    )
    _, granted = new_user(
        server,
        unique("path-granted"),
        [doc(allow("iam:Get*", [f"{prefix}{kind}{division}*" for kind in ("user", "role", "group")]))],
    )
    as_denied, as_granted = client(server, "iam", denied), client(server, "iam", granted)
    for call in (
        lambda c: c.get_user(UserName=target),
        lambda c: c.get_role(RoleName=role),
        lambda c: c.get_group(GroupName=group),
    ):
        with pytest.raises(ClientError) as exc:
            call(as_denied)
        assert exc.value.response["Error"]["Code"] == "AccessDenied"
        assert "explicit deny" in exc.value.response["Error"]["Message"]
        call(as_granted)
