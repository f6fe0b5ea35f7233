"""S3's checks of a bucket policy document (in process): what S3 refuses with MalformedPolicy, with its
messages, and what it accepts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ostiary.s3front import bucket_policies, errors


def doc(*statements: dict[str, Any], **top: Any) -> str:
    return json.dumps({"Version": "2012-10-17", **top, "Statement": list(statements)})


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::photos/*",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("[]", "Policies must be valid JSON and the first byte must be '{'"),
        ("{nope", "Policies must be valid JSON and the first byte must be '{'"),
        (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
        (doc(stmt(), Extra=1), "Unknown field Extra"),
        (doc(stmt(Effect=None)), "Missing required field Effect"),
        (doc(stmt(Effect="Maybe")), "Invalid effect: Maybe"),
        (doc(stmt(Principal=None)), "Missing required field Principal"),
        (doc(stmt(Principal={"AWS": "bob"})), "Invalid principal in policy"),
        (doc(stmt(Principal={"AWS": "arn:aws:iam::12345:root"})), "Invalid principal in policy"),
        (doc(stmt(Action=None)), "Missing required field Action"),
        (doc(stmt(Resource=None)), "Missing required field Resource"),
        (doc(stmt(Action="iam:GetUser")), "Policy has invalid action"),
        (doc(stmt(Resource="arn:aws:s3:::other/*")), "Policy has invalid resource"),
        (doc(stmt(Resource="arn:aws:s3:::photos-2/*")), "Policy has invalid resource"),
        (doc(stmt(Resource="*")), "Policy has invalid resource"),
        (doc(stmt(Resource="arn:aws:s3:::photos")), "Action does not apply to any resource(s) in statement"),
        (doc(stmt(Action="s3:ListBucket")), "Action does not apply to any resource(s) in statement"),
        (doc(stmt(Sid="a"), stmt(Sid="a")), "Statement IDs (SID) in a single policy must be unique."),
        (doc(stmt(Condition={"NoSuchOperator": {"aws:SourceIp": "1.2.3.4"}})), "Invalid policy syntax."),
        ("{" + " " * (21 * 1024) + "}", "Policy exceeds the maximum allowed document size."),
    ],
)
def test_refused_with_s3s_message(document: str, message: str) -> None:
    with pytest.raises(errors.MalformedPolicy) as refused:
        bucket_policies.validate(document, "photos")
    assert refused.value.message == message
    assert refused.value.status == 400


@pytest.mark.parametrize(
    "statement",
    [
        stmt(),
        stmt(Principal={"AWS": "123456789012"}),
        stmt(Principal={"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:role/reader"]}),
        stmt(Principal={"AWS": "arn:aws:sts::123456789012:assumed-role/reader/session"}),
        stmt(Principal={"Service": "logging.s3.amazonaws.com"}),
        stmt(Action="s3:ListBucket", Resource="arn:aws:s3:::photos"),
        stmt(Action="s3:*", Resource=["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]),
        stmt(Action=["s3:GetObject", "s3:ListBucket"], Resource=["arn:aws:s3:::photos", "arn:aws:s3:::photos/*"]),
        stmt(Action="s3:Get*"),
        stmt(Resource="arn:aws:s3:::photos/users/${aws:username}/*"),
        stmt(Effect="Deny", NotPrincipal={"AWS": "arn:aws:iam::123456789012:root"}, Principal=None),
        stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "Bool": {"aws:SecureTransport": "true"}}),
        stmt(Resource="arn:aws:s3:::photos*"),
    ],
)
def test_accepted(statement: dict[str, Any]) -> None:
    parsed = bucket_policies.validate(doc(statement), "photos")
    assert len(parsed.statements) == 1
