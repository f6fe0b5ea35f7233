"""IAM's policy grammar: documents with AWS's verdict and message.

Most cases run in-process against the validator (ostiary.iam.grammar.validate) by kind of document:
MANAGED (CreatePolicy, CreatePolicyVersion: Version 2012-10-17 required), INLINE (Put{User,Group,
Role}Policy: Version optional), TRUST (CreateRole, UpdateAssumeRolePolicy) and SESSION (the Policy
parameter of STS's AssumeRole*, GetFederationToken). moto's recorded AWS verdicts
(tests/iam/policy_grammar_moto.py) run as MANAGED documents, as AWS answered them to CreatePolicy.
A handful go through boto3 to prove the wiring, the error code and the HTTP status.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.access.policy import MalformedPolicy
from ostiary.iam import grammar
from ostiary.iam.grammar import Kind
from tests.conftest import ACCOUNT_ID, Server
from tests.iam.policy_grammar_moto import MOTO_INVALID, MOTO_VALID

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
V = "2012-10-17"
ALLOW_S3 = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
TRUST_ROOT = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}
SID_MESSAGE = (
    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
TRUST_ACTIONS = "AssumeRole policy may only specify STS AssumeRole actions."


def _doc(*statements: dict[str, Any], version: str | None = V, **top: Any) -> dict[str, Any]:
    out: dict[str, Any] = {} if version is None else {"Version": version}
    out["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    out.update(top)
    return out


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _verdict(document: Any, kind: Kind) -> str | None:
    try:
        grammar.validate(_text(document), kind)
    except MalformedPolicy as err:
        return str(err)
    return None


# --- AWS's verdicts recorded by moto (CreatePolicy) ---------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"), MOTO_INVALID, ids=[f"moto-invalid-{i}" for i in range(len(MOTO_INVALID))]
)
def test_moto_recorded_invalid_documents(document: Any, message: str) -> None:
    assert _verdict(json.dumps(document), Kind.MANAGED) == message


@pytest.mark.parametrize("document", MOTO_VALID, ids=[f"moto-valid-{i}" for i in range(len(MOTO_VALID))])
def test_moto_recorded_valid_documents(document: Any) -> None:
    statements = document["Statement"] if isinstance(document["Statement"], list) else [document["Statement"]]
    if any(not re.fullmatch("[0-9A-Za-z]*", s.get("Sid", "")) for s in statements):
        # two of moto's later additions (booleans in conditions, a null resource: moto #9715) carry Sids
        # with underscores; AWS refuses those (its message, seen in CloudTrail records of CreatePolicy,
        # names the pattern [0-9A-Za-z]*): the rest of such a document is what is accepted
        assert _verdict(json.dumps(document), Kind.MANAGED) == SID_MESSAGE
        document = {**document, "Statement": [{k: v for k, v in s.items() if k != "Sid"} for s in statements]}
    assert _verdict(json.dumps(document), Kind.MANAGED) is None
    parsed = grammar.validate(json.dumps(document), Kind.MANAGED)  # and the engine reads what IAM accepts
    assert parsed.statements


# --- by kind of document -----------------------------------------------------------------------------

CASES: list[tuple[str, Kind, Any, str | None]] = [
    # managed policies (CreatePolicy, CreatePolicyVersion)
    ("managed-invalid-json", Kind.MANAGED, '{"Version": "2012-10-17", "Statement": [', "Syntax errors in policy."),
    ("managed-null-json", Kind.MANAGED, "null", "Syntax errors in policy."),
    (
        "managed-no-version",
        Kind.MANAGED,
        _doc(ALLOW_S3, version=None),
        "Policy document must be version 2012-10-17 or greater.",
    ),
    ("managed-null-in-resource-list", Kind.MANAGED, _doc({**ALLOW_S3, "Resource": ["arn:aws:s3:::b/*", None]}), None),
    ("managed-empty-condition", Kind.MANAGED, _doc({**ALLOW_S3, "Condition": {}}), None),
    ("managed-empty-condition-block", Kind.MANAGED, _doc({**ALLOW_S3, "Condition": {"StringEquals": {}}}), None),
    (
        "managed-numeric-condition-value",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Condition": {"NumericLessThan": {"s3:max-keys": 10}}}),
        None,
    ),
    ("managed-statement-object", Kind.MANAGED, _doc(ALLOW_S3), None),
    (
        "managed-not-action-not-resource",
        Kind.MANAGED,
        _doc({"Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::b"}),
        None,
    ),
    (
        "managed-wildcard-actions",
        Kind.MANAGED,
        _doc({"Effect": "Allow", "Action": ["*", "s3:Get*", "ec2:Describe?"], "Resource": "*"}),
        None,
    ),
    (
        "managed-principal",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Principal": {"AWS": ROOT}}),
        "Policy document should not specify a principal.",
    ),
    (
        "managed-not-principal",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "NotPrincipal": {"AWS": ROOT}}),
        "Policy document should not specify a principal.",
    ),
    (
        "managed-principal-without-resource",
        Kind.MANAGED,
        _doc({"Effect": "Allow", "Action": "s3:*", "Principal": "*"}),
        "Policy document should not specify a principal.",
    ),
    ("managed-sid-with-hyphen", Kind.MANAGED, _doc({**ALLOW_S3, "Sid": "read-bucket"}), SID_MESSAGE),
    ("managed-sid-with-space", Kind.MANAGED, _doc({**ALLOW_S3, "Sid": "Read Bucket"}), SID_MESSAGE),
    (
        "managed-sid-duplicate",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Sid": "A"}, {**ALLOW_S3, "Sid": "A"}),
        "Statement IDs (SID) in a single policy must be unique.",
    ),
    ("managed-sid-empty-twice", Kind.MANAGED, _doc({**ALLOW_S3, "Sid": ""}, {**ALLOW_S3, "Sid": ""}), None),
    (
        "managed-action-without-vendor",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Action": "GetObject"}),
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    ),
    (
        "managed-resource-not-arn",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Resource": "bucket"}),
        'Resource bucket must be in ARN format or "*".',
    ),
    (
        "managed-resource-short-arn",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Resource": "arn:aws:s3::bucket"}),
        "The policy failed legacy parsing",
    ),
    ("managed-effect-case", Kind.MANAGED, _doc({**ALLOW_S3, "Effect": "allow"}), "The policy failed legacy parsing"),
    (
        "managed-missing-effect",
        Kind.MANAGED,
        _doc({"Action": "s3:GetObject", "Resource": "*"}),
        "Syntax errors in policy.",
    ),
    (
        "managed-unknown-element",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Actions": "s3:GetObject"}),
        "Syntax errors in policy.",
    ),
    (
        "managed-unknown-condition-operator",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Condition": {"StringEqualz": {"aws:username": "a"}}}),
        "Syntax errors in policy.",
    ),
    (
        "managed-condition-value-object",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Condition": {"StringEquals": {"aws:username": {"a": 1}}}}),
        "Syntax errors in policy.",
    ),
    (
        "managed-bad-date",
        Kind.MANAGED,
        _doc({**ALLOW_S3, "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}),
        "The policy failed legacy parsing",
    ),
    ("managed-empty-statement-list", Kind.MANAGED, _doc(version=V), "Syntax errors in policy."),
    # inline policies (Put{User,Group,Role}Policy): Version 2008-10-17 or none is accepted
    ("inline-no-version", Kind.INLINE, _doc(ALLOW_S3, version=None), None),
    ("inline-version-2008", Kind.INLINE, _doc(ALLOW_S3, version="2008-10-17"), None),
    ("inline-bad-version", Kind.INLINE, _doc(ALLOW_S3, version="2012-10-18"), "Syntax errors in policy."),
    ("inline-invalid-json", Kind.INLINE, "{not json", "Syntax errors in policy."),
    (
        "inline-no-resource",
        Kind.INLINE,
        _doc({"Effect": "Allow", "Action": "s3:*"}),
        "Policy statement must contain resources.",
    ),
    (
        "inline-no-action",
        Kind.INLINE,
        _doc({"Effect": "Allow", "Resource": "*"}),
        "Policy statement must contain actions.",
    ),
    (
        "inline-principal",
        Kind.INLINE,
        _doc({**ALLOW_S3, "Principal": "*"}),
        "Policy document should not specify a principal.",
    ),
    # trust policies (CreateRole, UpdateAssumeRolePolicy)
    ("trust-valid", Kind.TRUST, _doc(TRUST_ROOT), None),
    ("trust-no-version", Kind.TRUST, _doc(TRUST_ROOT, version=None), None),
    (
        "trust-service",
        Kind.TRUST,
        _doc({**TRUST_ROOT, "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]}}),
        None,
    ),
    ("trust-account-id", Kind.TRUST, _doc({**TRUST_ROOT, "Principal": {"AWS": ACCOUNT_ID}}), None),
    ("trust-everyone", Kind.TRUST, _doc({**TRUST_ROOT, "Principal": "*"}), None),
    (
        "trust-role-and-session-tags",
        Kind.TRUST,
        _doc({**TRUST_ROOT, "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}),
        None,
    ),
    (
        "trust-web-identity",
        Kind.TRUST,
        _doc(
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:x"}},
            }
        ),
        None,
    ),
    (
        "trust-invalid-json",
        Kind.TRUST,
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",}]}',
        "This policy contains invalid Json",
    ),
    ("trust-not-an-object", Kind.TRUST, '"sts:AssumeRole"', "Syntax errors in policy."),
    (
        "trust-missing-principal",
        Kind.TRUST,
        _doc({"Effect": "Allow", "Action": "sts:AssumeRole"}),
        "Missing required field Principal",
    ),
    ("trust-resource", Kind.TRUST, _doc({**TRUST_ROOT, "Resource": "*"}), "Has prohibited field Resource"),
    ("trust-not-resource", Kind.TRUST, _doc({**TRUST_ROOT, "NotResource": "*"}), "Has prohibited field NotResource"),
    (
        "trust-not-principal",
        Kind.TRUST,
        _doc({"Effect": "Deny", "NotPrincipal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}, TRUST_ROOT),
        "Has prohibited field NotPrincipal",
    ),
    ("trust-s3-action", Kind.TRUST, _doc({**TRUST_ROOT, "Action": "s3:GetObject"}), TRUST_ACTIONS),
    ("trust-any-action", Kind.TRUST, _doc({**TRUST_ROOT, "Action": "*"}), TRUST_ACTIONS),
    ("trust-any-sts-action", Kind.TRUST, _doc({**TRUST_ROOT, "Action": "sts:*"}), TRUST_ACTIONS),
    ("trust-assume-role-wildcard", Kind.TRUST, _doc({**TRUST_ROOT, "Action": "sts:AssumeRole*"}), None),
    (
        "trust-principal-not-arn",
        Kind.TRUST,
        _doc({**TRUST_ROOT, "Principal": {"AWS": "alice"}}),
        'Invalid principal in policy: "AWS":"alice"',
    ),
    (
        "trust-principal-wildcard-in-arn",
        Kind.TRUST,
        _doc({**TRUST_ROOT, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/*"}}),
        f'Invalid principal in policy: "AWS":"arn:aws:iam::{ACCOUNT_ID}:role/*"',
    ),
    (
        "trust-principal-unknown-kind",
        Kind.TRUST,
        _doc({**TRUST_ROOT, "Principal": {"Users": ROOT}}),
        "Invalid principal in policy",
    ),
    ("trust-sid-with-hyphen", Kind.TRUST, _doc({**TRUST_ROOT, "Sid": "trust-root"}), SID_MESSAGE),
    ("trust-effect-case", Kind.TRUST, _doc({**TRUST_ROOT, "Effect": "ALLOW"}), "The policy failed legacy parsing"),
    ("trust-empty-statement", Kind.TRUST, _doc(version=V), "Syntax errors in policy."),
    # session policies (STS AssumeRole*, GetFederationToken Policy)
    ("session-valid", Kind.SESSION, _doc(ALLOW_S3), None),
    ("session-no-version", Kind.SESSION, _doc(ALLOW_S3, version=None), None),
    ("session-invalid-json", Kind.SESSION, "{not json", "The policy is not in the valid JSON format."),
    (
        "session-no-resource",
        Kind.SESSION,
        _doc({"Effect": "Allow", "Action": "s3:*"}),
        "Policy statement must contain resources.",
    ),
    ("session-effect-case", Kind.SESSION, _doc({**ALLOW_S3, "Effect": "deny"}), "The policy failed legacy parsing"),
    (
        "session-principal",
        Kind.SESSION,
        _doc({**ALLOW_S3, "Principal": "*"}),
        "Policy document should not specify a principal.",
    ),
    ("session-unknown-top-element", Kind.SESSION, _doc(ALLOW_S3, Statements=[]), "Syntax errors in policy."),
]


@pytest.mark.parametrize(("kind", "document", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_documents_by_kind(kind: Kind, document: Any, message: str | None) -> None:
    assert _verdict(document, kind) == message


def test_a_null_resource_grants_nothing_more() -> None:
    from ostiary.access.policy import Decision, RequestContext, evaluate

    parsed = grammar.validate(json.dumps(_doc({**ALLOW_S3, "Resource": [None, "arn:aws:s3:::b/k"]})), Kind.MANAGED)
    assert evaluate(RequestContext("s3:GetObject", "arn:aws:s3:::b/k"), identity=[parsed]) is Decision.ALLOW
    assert evaluate(RequestContext("s3:GetObject", "arn:aws:s3:::c/k"), identity=[parsed]) is Decision.IMPLICIT_DENY


# --- on the wire --------------------------------------------------------------------------------------


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_create_policy_and_versions_on_the_wire(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=_name("g"), PolicyDocument=json.dumps(_doc({**ALLOW_S3, "Resource": "bucket"})))
    assert _err(exc) == ("MalformedPolicyDocument", 'Resource bucket must be in ARN format or "*".', 400)
    with pytest.raises(ClientError) as exc:
        iam.create_policy(PolicyName=_name("g"), PolicyDocument="{not json")
    assert _err(exc) == ("MalformedPolicyDocument", "Syntax errors in policy.", 400)
    accepted = _doc({**ALLOW_S3, "Resource": ["arn:aws:s3:::bucket/*", None], "Condition": {}})
    arn = iam.create_policy(PolicyName=_name("g"), PolicyDocument=json.dumps(accepted))["Policy"]["Arn"]
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert got == accepted
    with pytest.raises(ClientError) as exc:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(_doc(ALLOW_S3, version=None)))
    assert _err(exc) == ("MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater.", 400)


def test_inline_policies_on_the_wire(server: Server) -> None:
    iam = server.client("iam")
    role = _name("g")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_doc(TRUST_ROOT)))
    iam.put_role_policy(RoleName=role, PolicyName="old", PolicyDocument=json.dumps(_doc(ALLOW_S3, version=None)))
    with pytest.raises(ClientError) as exc:
        iam.put_role_policy(
            RoleName=role, PolicyName="p", PolicyDocument=json.dumps(_doc({**ALLOW_S3, "Principal": {"AWS": ROOT}}))
        )
    assert _err(exc) == ("MalformedPolicyDocument", "Policy document should not specify a principal.", 400)
    user = _name("g")
    iam.create_user(UserName=user)
    with pytest.raises(ClientError) as exc:
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps(_doc({**ALLOW_S3, "Sid": "a-b"})))
    assert _err(exc) == ("MalformedPolicyDocument", SID_MESSAGE, 400)


def test_trust_policies_on_the_wire(server: Server) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=_name("g"), AssumeRolePolicyDocument='{"Statement": [}')
    assert _err(exc) == ("MalformedPolicyDocument", "This policy contains invalid Json", 400)
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=_name("g"), AssumeRolePolicyDocument=json.dumps(_doc({**TRUST_ROOT, "Resource": "*"})))
    assert _err(exc) == ("MalformedPolicyDocument", "Has prohibited field Resource", 400)
    role = _name("g")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(_doc(TRUST_ROOT, version=None)))
    with pytest.raises(ClientError) as exc:
        iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(_doc({**TRUST_ROOT, "Action": "s3:*"})))
    assert _err(exc) == ("MalformedPolicyDocument", TRUST_ACTIONS, 400)


def test_session_policies_on_the_wire(server: Server) -> None:
    sts = server.client("sts")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{_name('g')}"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=arn, RoleSessionName="grammar", Policy="{not json")
    assert _err(exc) == ("MalformedPolicyDocument", "The policy is not in the valid JSON format.", 400)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=arn, RoleSessionName="grammar", Policy=json.dumps(_doc({"Effect": "Allow", "Action": "s3:*"}))
        )
    assert _err(exc) == ("MalformedPolicyDocument", "Policy statement must contain resources.", 400)
    with pytest.raises(ClientError) as exc:
        sts.get_federation_token(Name="grammar", Policy=json.dumps(_doc({**ALLOW_S3, "Sid": "read-it"})))
    assert _err(exc) == ("MalformedPolicyDocument", SID_MESSAGE, 400)
    narrow = json.dumps(_doc({**ALLOW_S3, "Resource": [None, "arn:aws:s3:::bucket/*"]}, version=None))
    assert sts.get_federation_token(Name="grammar", Policy=narrow)["Credentials"]["AccessKeyId"].startswith("ASIA")
