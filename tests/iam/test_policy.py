"""The IAM policy engine, table-driven, with the IAM User Guide's documented examples."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary.access.policy import Decision, MalformedPolicy, RequestContext, evaluate, parse

ACCT = "123456789012"
USER = f"arn:aws:iam::{ACCT}:user/alice"


def ctx(action: str, resource: str = "*", **keys: Any) -> RequestContext:
    k = {
        name.replace("__", ":").replace("_SLASH_", "/"): (v if isinstance(v, list) else [v]) for name, v in keys.items()
    }
    return RequestContext(action=action, resource=resource, principal_arn=USER, principal_account=ACCT, keys=k)


def identity(*statements: dict[str, Any], version: str = "2012-10-17") -> Any:
    return parse({"Version": version, "Statement": list(statements)})


def allow(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "*", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(policy: Any, request: RequestContext) -> Decision:
    return evaluate(request, identity=[policy])


# (statement(s), request, expected)
ACTION_RESOURCE_CASES = [
    (allow("s3:GetObject"), ctx("s3:GetObject"), Decision.ALLOW),
    (allow("s3:getobject"), ctx("s3:GetObject"), Decision.ALLOW),  # actions are case-insensitive
    (allow("s3:Get*"), ctx("s3:GetObjectAcl"), Decision.ALLOW),
    (allow("s3:Get?bject"), ctx("s3:GetObject"), Decision.ALLOW),
    (allow("s3:Put*"), ctx("s3:GetObject"), Decision.IMPLICIT_DENY),
    (allow(["iam:*", "s3:List*"]), ctx("s3:ListBucket"), Decision.ALLOW),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, ctx("s3:GetObject"), Decision.ALLOW),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, ctx("iam:CreateUser"), Decision.IMPLICIT_DENY),
    (allow("s3:*", "arn:aws:s3:::bucket/*"), ctx("s3:GetObject", "arn:aws:s3:::bucket/a/b.txt"), Decision.ALLOW),
    (allow("s3:*", "arn:aws:s3:::bucket/*"), ctx("s3:GetObject", "arn:aws:s3:::other/a"), Decision.IMPLICIT_DENY),
    (allow("s3:*", "arn:aws:s3:::Bucket/*"), ctx("s3:GetObject", "arn:aws:s3:::bucket/a"), Decision.IMPLICIT_DENY),
    (
        allow("cognito-idp:*", f"arn:aws:cognito-idp:*:{ACCT}:userpool/*"),
        ctx("cognito-idp:DescribeUserPool", f"arn:aws:cognito-idp:us-east-1:{ACCT}:userpool/us-east-1_abc"),
        Decision.ALLOW,
    ),
    (
        allow("cognito-idp:*", "arn:aws:cognito-idp:*:999999999999:userpool/*"),
        ctx("cognito-idp:DescribeUserPool", f"arn:aws:cognito-idp:us-east-1:{ACCT}:userpool/us-east-1_abc"),
        Decision.IMPLICIT_DENY,
    ),
    (
        {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"},
        ctx("s3:GetObject", "arn:aws:s3:::public/x"),
        Decision.ALLOW,
    ),
    (
        {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"},
        ctx("s3:GetObject", "arn:aws:s3:::secret/x"),
        Decision.IMPLICIT_DENY,
    ),
    ([allow(), deny("iam:*")], ctx("iam:DeleteUser"), Decision.EXPLICIT_DENY),  # explicit deny wins
    ([allow(), deny("iam:*")], ctx("s3:GetObject"), Decision.ALLOW),
]


@pytest.mark.parametrize(("statements", "request_ctx", "expected"), ACTION_RESOURCE_CASES)
def test_actions_and_resources(statements: Any, request_ctx: RequestContext, expected: Decision) -> None:
    stmts = statements if isinstance(statements, list) else [statements]
    assert decide(identity(*stmts), request_ctx) is expected


CONDITION_CASES = [
    # String
    ({"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "blue"}, True),
    ({"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "Blue"}, False),
    ({"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "BLUE"}, True),
    ({"StringEquals": {"aws:PrincipalTag/team": ["red", "blue"]}}, {"aws__PrincipalTag_SLASH_team": "blue"}, True),
    ({"StringEquals": {"aws:PrincipalTag/team": "blue"}}, {}, False),
    ({"StringNotEquals": {"aws:PrincipalTag/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "red"}, True),
    ({"StringNotEquals": {"aws:PrincipalTag/team": "blue"}}, {}, True),  # negated + missing key
    ({"StringLike": {"s3:prefix": "home/*"}}, {"s3__prefix": "home/alice/x"}, True),
    ({"StringNotLike": {"s3:prefix": "home/*"}}, {"s3__prefix": "tmp/x"}, True),
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}, {}, True),
    ({"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "red"}, False),
    # Numeric / Date / Bool / Binary
    ({"NumericLessThanEquals": {"s3:max-keys": "10"}}, {"s3__max-keys": "10"}, True),
    ({"NumericGreaterThan": {"s3:max-keys": "10"}}, {"s3__max-keys": "10"}, False),
    ({"NumericEquals": {"s3:max-keys": "10"}}, {"s3__max-keys": "ten"}, False),
    (
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws__CurrentTime": "2026-11-22T10:00:00Z"},
        True,
    ),
    (
        {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"aws__CurrentTime": "2026-11-22T10:00:00Z"},
        False,
    ),
    ({"DateLessThan": {"aws:EpochTime": "2000000000"}}, {"aws__EpochTime": "1700000000"}, True),
    ({"Bool": {"aws:SecureTransport": "true"}}, {"aws__SecureTransport": "true"}, True),
    ({"Bool": {"aws:SecureTransport": True}}, {"aws__SecureTransport": "false"}, False),
    ({"BinaryEquals": {"k": "aGVsbG8="}}, {"k": "aGVsbG8="}, True),
    # IP / ARN / Null
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws__SourceIp": "203.0.113.7"}, True),
    ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws__SourceIp": "198.51.100.7"}, False),
    ({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws__SourceIp": "198.51.100.7"}, True),
    ({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws__SourceIp": "2001:db8::1"}, True),
    (
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:*"}},
        {"aws__SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"},
        True,
    ),
    (
        {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}},
        {"aws__SourceArn": "arn:aws:sns:us-east-1:123456789012:other"},
        False,
    ),
    ({"Null": {"aws:TokenIssueTime": "true"}}, {}, True),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {}, False),
    ({"Null": {"aws:TokenIssueTime": "false"}}, {"aws__TokenIssueTime": "x"}, True),
    # multivalued keys
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws__TagKeys": ["a"]}, True),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws__TagKeys": ["a", "c"]}, False),
    ({"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, True),  # empty set: vacuously true
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {"aws__TagKeys": ["c", "b"]}, True),
    ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}, {}, False),
    (
        {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
        {"cognito-identity.amazonaws.com__amr": ["authenticated", "cognito-idp.us-east-1.amazonaws.com/p"]},
        True,
    ),
    # several operators and keys are ANDed
    ({"StringEquals": {"a": "1", "b": "2"}}, {"a": "1", "b": "2"}, True),
    ({"StringEquals": {"a": "1"}, "StringLike": {"b": "x*"}}, {"a": "1", "b": "2"}, False),
    # condition key names are case-insensitive
    ({"StringEquals": {"AWS:PRINCIPALTAG/team": "blue"}}, {"aws__PrincipalTag_SLASH_team": "blue"}, True),
]


@pytest.mark.parametrize(("condition", "keys", "holds"), CONDITION_CASES)
def test_conditions(condition: dict[str, Any], keys: dict[str, Any], holds: bool) -> None:
    policy = identity(allow(Condition=condition))
    assert decide(policy, ctx("s3:GetObject", **keys)) is (Decision.ALLOW if holds else Decision.IMPLICIT_DENY)


def test_policy_variables_own_prefix() -> None:
    # IAM User Guide: "Allows IAM users to access their own home directory in Amazon S3"
    policy = identity(allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*"))
    assert (
        decide(policy, ctx("s3:GetObject", "arn:aws:s3:::bucket/home/alice/f", aws__username="alice")) is Decision.ALLOW
    )
    assert decide(policy, ctx("s3:GetObject", "arn:aws:s3:::bucket/home/bob/f", aws__username="alice")) is (
        Decision.IMPLICIT_DENY
    )
    assert decide(policy, ctx("s3:GetObject", "arn:aws:s3:::bucket/home/alice/f")) is Decision.IMPLICIT_DENY


def test_cognito_identity_variable() -> None:
    policy = identity(allow("s3:*", "arn:aws:s3:::app/${cognito-identity.amazonaws.com:sub}/*"))
    sub = "us-east-1:1111-2222"
    request = ctx("s3:PutObject", f"arn:aws:s3:::app/{sub}/photo.jpg", **{"cognito-identity.amazonaws.com__sub": sub})
    assert decide(policy, request) is Decision.ALLOW


def test_variables_need_the_2012_version_and_support_defaults_and_escapes() -> None:
    old = identity(allow("s3:*", "arn:aws:s3:::b/${aws:username}"), version="2008-10-17")
    assert decide(old, ctx("s3:GetObject", "arn:aws:s3:::b/alice", aws__username="alice")) is Decision.IMPLICIT_DENY
    assert decide(old, ctx("s3:GetObject", "arn:aws:s3:::b/${aws:username}")) is Decision.ALLOW
    default = identity(allow("s3:*", "arn:aws:s3:::b/${aws:PrincipalTag/dept, 'none'}/*"))
    assert decide(default, ctx("s3:GetObject", "arn:aws:s3:::b/none/x")) is Decision.ALLOW
    star = identity(allow("s3:*", "arn:aws:s3:::b/literal-${*}"))
    assert decide(star, ctx("s3:GetObject", "arn:aws:s3:::b/literal-*")) is Decision.ALLOW
    assert decide(star, ctx("s3:GetObject", "arn:aws:s3:::b/literal-x")) is Decision.IMPLICIT_DENY
    cond = identity(allow(Condition={"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}}))
    assert decide(cond, ctx("x:Y", aws__username="alice", aws__PrincipalTag_SLASH_owner="alice")) is Decision.ALLOW


TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "xyz"}},
        }
    ],
}


def _other(
    keys: dict[str, list[str]] | None = None, principal: str = "arn:aws:iam::111122223333:user/bob"
) -> RequestContext:
    return RequestContext(
        action="sts:AssumeRole",
        resource=f"arn:aws:iam::{ACCT}:role/r",
        principal_arn=principal,
        principal_account=principal.split(":")[4],
        keys=keys or {},
    )


def test_cross_account_needs_identity_and_trust() -> None:
    trust = parse(TRUST, resource_policy=True)
    caller = identity(allow("sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/*"))
    ok = _other({"sts:ExternalId": ["xyz"]})
    assert evaluate(ok, identity=[caller], resource=[trust], resource_account=ACCT) is Decision.ALLOW
    assert evaluate(ok, identity=[], resource=[trust], resource_account=ACCT) is Decision.IMPLICIT_DENY
    assert (
        evaluate(_other({"sts:ExternalId": ["nope"]}), identity=[caller], resource=[trust], resource_account=ACCT)
        is Decision.IMPLICIT_DENY
    )
    stranger = _other({"sts:ExternalId": ["xyz"]}, principal="arn:aws:iam::444455556666:user/eve")
    assert evaluate(stranger, identity=[caller], resource=[trust], resource_account=ACCT) is Decision.IMPLICIT_DENY


def test_same_account_resource_policy_alone_allows() -> None:
    trust = parse(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": USER}, "Action": "sts:AssumeRole"}],
        },
        resource_policy=True,
    )
    request = RequestContext(
        action="sts:AssumeRole", resource=f"arn:aws:iam::{ACCT}:role/r", principal_arn=USER, principal_account=ACCT
    )
    assert evaluate(request, resource=[trust], resource_account=ACCT) is Decision.ALLOW
    federated = parse(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}},
                }
            ],
        },
        resource_policy=True,
    )
    web = RequestContext(
        action="sts:AssumeRoleWithWebIdentity",
        resource=f"arn:aws:iam::{ACCT}:role/r",
        principal_arn="cognito-identity.amazonaws.com",
        principal_type="Federated",
        keys={"cognito-identity.amazonaws.com:aud": ["us-east-1:pool"]},
    )
    assert evaluate(web, resource=[federated]) is Decision.ALLOW
    web.keys["cognito-identity.amazonaws.com:aud"] = ["us-east-1:other"]
    assert evaluate(web, resource=[federated]) is Decision.IMPLICIT_DENY


def test_boundaries_and_session_policies_only_narrow() -> None:
    admin = identity(allow())
    boundary = identity(allow(["s3:*", "cloudwatch:*"]))
    assert evaluate(ctx("s3:GetObject"), identity=[admin], boundaries=[boundary]) is Decision.ALLOW
    assert evaluate(ctx("iam:CreateUser"), identity=[admin], boundaries=[boundary]) is Decision.IMPLICIT_DENY
    # the boundary alone grants nothing
    assert evaluate(ctx("s3:GetObject"), identity=[], boundaries=[boundary]) is Decision.IMPLICIT_DENY
    session = identity(allow("s3:GetObject"))
    assert evaluate(ctx("s3:GetObject"), identity=[admin], session=[session]) is Decision.ALLOW
    assert evaluate(ctx("s3:PutObject"), identity=[admin], session=[session]) is Decision.IMPLICIT_DENY
    wide_session = identity(allow())
    assert evaluate(ctx("iam:CreateUser"), identity=[identity(allow("s3:*"))], session=[wide_session]) is (
        Decision.IMPLICIT_DENY
    )
    assert evaluate(ctx("s3:GetObject"), identity=[admin], session=[identity(deny("s3:*"), allow())]) is (
        Decision.EXPLICIT_DENY
    )


@pytest.mark.parametrize(
    ("document", "resource_policy"),
    [
        ("{not json", False),
        ({"Version": "2012-10-17"}, False),
        ({"Version": "2011-01-01", "Statement": [allow()]}, False),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}, False),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, False),
        (
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x", "Resource": "*"}],
            },
            False,
        ),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}, False),
        ({"Version": "2012-10-17", "Statement": [allow(Principal="*")]}, False),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}, True),
        ({"Version": "2012-10-17", "Statement": [allow(Condition={"StringFoo": {"a": "b"}})]}, False),
    ],
)
def test_malformed_documents(document: Any, resource_policy: bool) -> None:
    with pytest.raises(MalformedPolicy):
        parse(document, resource_policy=resource_policy)
