"""STS beyond plain AssumeRole, through boto3: managed session policies (PolicyArns), session tags
with sts:TagSession and transitive tags across role chaining, GetSessionToken, GetAccessKeyInfo and
DecodeAuthorizationMessage."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, Server


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def _trust(principal: str, actions: list[str]) -> str:
    return _doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions})


ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def test_policy_arns_narrow_a_session(server: Server) -> None:
    iam, sts = server.client("iam"), server.client("sts")
    iam.create_role(RoleName="wide", AssumeRolePolicyDocument=_trust(ROOT, ["sts:AssumeRole"]))
    iam.put_role_policy(
        RoleName="wide",
        PolicyName="all-iam",
        PolicyDocument=_doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
    )
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/wide"
    out = sts.assume_role(
        RoleArn=arn, RoleSessionName="narrow", PolicyArns=[{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}]
    )
    assert 0 <= out["PackedPolicySize"] <= 100
    narrow = server.client("iam", **_creds(out["Credentials"]))
    narrow.list_roles()
    with pytest.raises(ClientError) as exc:
        narrow.create_user(UserName="nope")
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=arn, RoleSessionName="x1", PolicyArns=[{"arn": f"arn:aws:iam::{ACCOUNT_ID}:policy/none"}]
        )
    assert _err(exc)[0] == "NoSuchEntity"
    # an unrestricted session of the same role can write
    full = server.client("iam", **_creds(sts.assume_role(RoleArn=arn, RoleSessionName="full")["Credentials"]))
    full.create_user(UserName="made-by-wide")
    iam.delete_user(UserName="made-by-wide")


def test_session_tags_need_tag_session_and_pass_on_when_transitive(server: Server) -> None:
    iam, sts = server.client("iam"), server.client("sts")
    iam.create_role(RoleName="untaggable", AssumeRolePolicyDocument=_trust(ROOT, ["sts:AssumeRole"]))
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/untaggable",
            RoleSessionName="t1",
            Tags=[{"Key": "project", "Value": "apollo"}],
        )
    code, message, _ = _err(exc)
    assert code == "AccessDenied" and "sts:TagSession" in message

    abac = _doc(
        {
            "Effect": "Allow",
            "Action": "iam:ListRoles",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/project": "apollo"}},
        },
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"},
    )
    iam.create_role(RoleName="tag-first", AssumeRolePolicyDocument=_trust(ROOT, ["sts:AssumeRole", "sts:TagSession"]))
    iam.put_role_policy(RoleName="tag-first", PolicyName="abac", PolicyDocument=abac)
    first_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/tag-first"
    iam.create_role(
        RoleName="tag-second", AssumeRolePolicyDocument=_trust(first_arn, ["sts:AssumeRole", "sts:TagSession"])
    )
    iam.put_role_policy(RoleName="tag-second", PolicyName="abac", PolicyDocument=abac)

    tagged = sts.assume_role(
        RoleArn=first_arn,
        RoleSessionName="tagged",
        Tags=[{"Key": "project", "Value": "apollo"}, {"Key": "cost", "Value": "42"}],
        TransitiveTagKeys=["project"],
    )
    first = server.client("sts", **_creds(tagged["Credentials"]))
    server.client("iam", **_creds(tagged["Credentials"])).list_roles()
    untagged = sts.assume_role(RoleArn=first_arn, RoleSessionName="plain")
    with pytest.raises(ClientError) as exc:
        server.client("iam", **_creds(untagged["Credentials"])).list_roles()
    assert _err(exc)[0] == "AccessDenied"

    chained = first.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/tag-second", RoleSessionName="chained")
    server.client("iam", **_creds(chained["Credentials"])).list_roles()  # the transitive tag came along
    with pytest.raises(ClientError) as exc:
        first.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/tag-second",
            RoleSessionName="override",
            Tags=[{"Key": "project", "Value": "gemini"}],
        )
    assert _err(exc)[0] == "InvalidParameterValue"  # as STS answers (tests/iam/test_aws_recordings.py)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=first_arn, RoleSessionName="bad", Tags=[{"Key": "a", "Value": "1"}], TransitiveTagKeys=["b"]
        )
    assert _err(exc)[0] == "InvalidParameterValue"


def test_get_session_token(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="sam")
    iam.put_user_policy(
        UserName="sam",
        PolicyName="all",
        PolicyDocument=_doc({"Effect": "Allow", "Action": ["iam:*", "sts:*"], "Resource": "*"}),
    )
    key = iam.create_access_key(UserName="sam")["AccessKey"]
    sam_sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    out = sam_sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert out["AccessKeyId"].startswith("ASIA")
    session_sts = server.client("sts", **_creds(out))
    assert session_sts.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/sam"
    with pytest.raises(ClientError) as exc:
        server.client("iam", **_creds(out)).list_users()  # no IAM without MFA
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        session_sts.get_session_token()
    assert _err(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        sam_sts.get_session_token(DurationSeconds=200000)
    assert _err(exc)[0] == "ValidationError"

    root = server.client("sts").get_session_token()["Credentials"]
    assert server.client("sts", **_creds(root)).get_caller_identity()["Arn"] == ROOT
    with pytest.raises(ClientError) as exc:
        server.client("sts").get_session_token(DurationSeconds=7200)
    assert _err(exc)[0] == "ValidationError"

    sts = server.client("sts")
    assert sts.get_access_key_info(AccessKeyId=ACCESS_KEY_ID)["Account"] == ACCOUNT_ID
    assert sts.get_access_key_info(AccessKeyId=out["AccessKeyId"])["Account"] == ACCOUNT_ID
    with pytest.raises(ClientError) as exc:
        sts.decode_authorization_message(EncodedMessage="not-ours")
    assert _err(exc)[0] == "InvalidAuthorizationMessageException"
