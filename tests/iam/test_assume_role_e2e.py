"""Roles, STS AssumeRole and temporary credentials end to end through boto3."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server, create_account, every_item, flush_caches, make_client


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _trust(principal: str, **condition: Any) -> str:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        stmt["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


def _creds(c: dict[str, Any]) -> dict[str, Any]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


def test_role_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    role = iam.create_role(
        RoleName="viewer",
        AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"),
        MaxSessionDuration=7200,
        Description="d",
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/viewer" and role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    with pytest.raises(ClientError) as exc:
        iam.create_role(
            RoleName="bad",
            AssumeRolePolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
            ),
        )
    assert _err(exc)[0] == "MalformedPolicyDocument"
    iam.put_role_policy(
        RoleName="viewer",
        PolicyName="p",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    assert iam.list_role_policies(RoleName="viewer")["PolicyNames"] == ["p"]
    assert "viewer" in [r["RoleName"] for r in every_item(iam, "list_roles", "Roles")]
    iam.update_role(RoleName="viewer", MaxSessionDuration=3600)
    assert iam.get_role(RoleName="viewer")["Role"]["MaxSessionDuration"] == 3600
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="viewer")
    assert _err(exc)[0] == "DeleteConflict"
    iam.delete_role_policy(RoleName="viewer", PolicyName="p")
    iam.delete_role(RoleName="viewer")


def test_assume_role_and_use_the_credentials(server: Server) -> None:
    iam = server.client("iam")
    idp = server.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="role-target")["UserPool"]
    other = idp.create_user_pool(PoolName="role-other")["UserPool"]
    iam.create_role(RoleName="pool-reader", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.put_role_policy(
        RoleName="pool-reader",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["cognito-idp:Describe*", "cognito-idp:List*"], "Resource": "*"}
                ],
            }
        ),
    )
    sts = server.client("sts")
    out = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/pool-reader", RoleSessionName="s1")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/pool-reader/s1"
    as_role = _creds(creds)
    ident = make_client(server.url, "sts", **as_role).get_caller_identity()
    assert ident["Arn"] == out["AssumedRoleUser"]["Arn"] and ident["UserId"].endswith(":s1")
    role_idp = make_client(server.url, "cognito-idp", **as_role)
    assert role_idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["Name"] == "role-target"
    with pytest.raises(ClientError) as exc:
        role_idp.delete_user_pool(UserPoolId=pool["Id"])
    assert _err(exc)[0] == "AccessDeniedException"

    # a session policy narrows the role, never widens it
    narrow = sts.assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/pool-reader",
        RoleSessionName="s2",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "cognito-idp:*", "Resource": pool["Arn"]}],
            }
        ),
    )
    assert narrow["PackedPolicySize"] > 0
    narrow_idp = make_client(server.url, "cognito-idp", **_creds(narrow["Credentials"]))
    assert narrow_idp.describe_user_pool(UserPoolId=pool["Id"])
    with pytest.raises(ClientError):
        narrow_idp.describe_user_pool(UserPoolId=other["Id"])  # the role allows it, the session does not
    with pytest.raises(ClientError):
        narrow_idp.delete_user_pool(UserPoolId=pool["Id"])  # the session allows it, the role does not

    # an altered session token is refused
    bad = dict(as_role, aws_session_token=creds["SessionToken"][:-4] + "AAAA")
    with pytest.raises(ClientError) as exc:
        make_client(server.url, "sts", **bad).get_caller_identity()
    assert _err(exc)[0] == "InvalidClientTokenId"
    missing = {k: v for k, v in as_role.items() if k != "aws_session_token"}
    with pytest.raises(ClientError):
        make_client(server.url, "sts", **missing).get_caller_identity()

    # duration limits
    with pytest.raises(ClientError) as exc:
        sts.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/pool-reader", RoleSessionName="s3", DurationSeconds=7200
        )
    assert _err(exc) == (
        "ValidationError",
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    # an unknown role is indistinguishable from a denied one
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/nope", RoleSessionName="s4")
    assert _err(exc)[0] == "AccessDenied"


def test_credentials_stop_working_at_expiry(dev_server: Server) -> None:
    """A session past its expiry is refused with ExpiredToken: a stored one (GetSessionToken, or a role
    session stored before self-contained tokens) and a self-contained one alike (the latter's expiry is
    in its sealed token: tests/security/test_session_tokens.py forges an expired one)."""
    server = dev_server  # --dev: its caches are flushed instead of waited out
    iam = server.client("iam")
    iam.create_user(UserName="short-lived")
    key = iam.create_access_key(UserName="short-lived")["AccessKey"]
    user = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    creds = make_client(server.url, "sts", **user).get_session_token(DurationSeconds=900)["Credentials"]
    engine = sa.create_engine(server.database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sts_sessions SET expires_at = :t WHERE access_key_id = :k"),
            {"t": "2000-01-01 00:00:00.000000", "k": creds["AccessKeyId"]},
        )
    engine.dispose()
    flush_caches(server)  # credentials are kept 5 s per process
    with pytest.raises(ClientError) as exc:
        make_client(server.url, "sts", **_creds(creds)).get_caller_identity()
    assert _err(exc)[0] == "ExpiredToken"


def test_user_needs_permission_and_trust(server: Server) -> None:
    iam = server.client("iam")
    iam.create_role(RoleName="for-users", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.create_user(UserName="frida")
    key = iam.create_access_key(UserName="frida")["AccessKey"]
    frida = make_client(
        server.url, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/for-users"
    with pytest.raises(ClientError) as exc:
        frida.assume_role(RoleArn=arn, RoleSessionName="ff")
    assert _err(exc)[0] == "AccessDenied"
    iam.put_user_policy(
        UserName="frida",
        PolicyName="assume",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}]}
        ),
    )
    assert frida.assume_role(RoleArn=arn, RoleSessionName="ff")["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_cross_account_with_external_id(server: Server) -> None:
    keys = create_account(server, "partner", "310987654321")
    iam = server.client("iam")
    iam.create_role(
        RoleName="partner-access",
        AssumeRolePolicyDocument=_trust("arn:aws:iam::310987654321:root", StringEquals={"sts:ExternalId": "s3cr3t-id"}),
    )
    partner = make_client(server.url, "sts", **keys)
    assert partner.get_caller_identity()["Account"] == "310987654321"
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/partner-access"
    with pytest.raises(ClientError):
        partner.assume_role(RoleArn=arn, RoleSessionName="pp")
    with pytest.raises(ClientError):
        partner.assume_role(RoleArn=arn, RoleSessionName="pp", ExternalId="wrong-id")
    out = partner.assume_role(RoleArn=arn, RoleSessionName="pp", ExternalId="s3cr3t-id")
    ident = make_client(server.url, "sts", **_creds(out["Credentials"])).get_caller_identity()
    assert ident["Account"] == ACCOUNT_ID
    # the partner's own resources are out of reach of the role, and vice versa
    stranger = make_client(server.url, "sts", **keys)
    with pytest.raises(ClientError):
        stranger.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/for-nobody", RoleSessionName="xx")


def test_role_chaining(server: Server) -> None:
    iam = server.client("iam")
    first = f"arn:aws:iam::{ACCOUNT_ID}:role/first"
    iam.create_role(RoleName="first", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.put_role_policy(
        RoleName="first",
        PolicyName="chain",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
        ),
    )
    iam.create_role(RoleName="second", AssumeRolePolicyDocument=_trust(first))
    one = server.client("sts").assume_role(RoleArn=first, RoleSessionName="one")["Credentials"]
    as_first = make_client(server.url, "sts", **_creds(one))
    with pytest.raises(ClientError) as exc:
        as_first.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/second", RoleSessionName="two", DurationSeconds=7200
        )
    assert "role chaining" in _err(exc)[1]
    two = as_first.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/second", RoleSessionName="two")
    assert two["AssumedRoleUser"]["Arn"].endswith("assumed-role/second/two")
