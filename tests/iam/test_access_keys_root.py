"""The account root manages its own access keys through IAM (CreateAccessKey, ListAccessKeys,
UpdateAccessKey, DeleteAccessKey without UserName), as the IAM API Reference documents: at most two
keys, the root's keys only, and the root may delete the very key it signs the call with."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCESS_KEY_ID, ACCOUNT_ID, Server, make_client


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _client(srv: Server, service: str, key: dict[str, Any]) -> Any:
    return make_client(
        srv.url, service, aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _user_with(iam: Any, name: str, actions: list[str]) -> dict[str, Any]:
    """An IAM user allowed ``actions`` on everything; its new access key."""
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="allow",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
        ),
    )
    key: dict[str, Any] = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def test_root_lists_creates_updates_and_deletes_its_own_keys(server_factory: Any) -> None:
    srv: Server = server_factory()
    iam = srv.client("iam")
    listed = iam.list_access_keys()
    assert listed["IsTruncated"] is False
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in listed["AccessKeyMetadata"]] == [
        (ACCESS_KEY_ID, "Active", ACCOUNT_ID)
    ]

    second = iam.create_access_key()["AccessKey"]
    assert second["AccessKeyId"].startswith("AKIA") and second["Status"] == "Active" and second["SecretAccessKey"]
    assert second["UserName"] == ACCOUNT_ID
    assert _client(srv, "sts", second).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"
    assert [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]] == [
        ACCESS_KEY_ID,
        second["AccessKeyId"],
    ]
    with pytest.raises(ClientError) as exc:  # the root has at most two keys too
        iam.create_access_key()
    assert _err(exc) == ("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2", 409)

    iam.update_access_key(AccessKeyId=second["AccessKeyId"], Status="Inactive")
    statuses = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys()["AccessKeyMetadata"]}
    assert statuses == {ACCESS_KEY_ID: "Active", second["AccessKeyId"]: "Inactive"}
    iam.update_access_key(AccessKeyId=second["AccessKeyId"], Status="Active")

    # an IAM user's key is not one of the root's keys; the root's are not the user's
    user_key = _user_with(iam, "keys-auditor", ["iam:ListAccessKeys", "iam:GetAccountSummary"])
    for call in (
        lambda: iam.update_access_key(AccessKeyId=user_key["AccessKeyId"], Status="Inactive"),
        lambda: iam.delete_access_key(AccessKeyId=user_key["AccessKeyId"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("NoSuchEntity", f"The Access Key with id {user_key['AccessKeyId']} cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.delete_access_key(UserName="keys-auditor", AccessKeyId=second["AccessKeyId"])
    assert _err(exc)[0] == "NoSuchEntity"

    # an IAM user calling without UserName lists its own keys
    auditor = _client(srv, "iam", user_key)
    mine = auditor.list_access_keys()["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["UserName"]) for k in mine] == [(user_key["AccessKeyId"], "keys-auditor")]

    iam.delete_access_key(AccessKeyId=second["AccessKeyId"])
    assert [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]] == [ACCESS_KEY_ID]
    with pytest.raises(ClientError) as exc:
        iam.delete_access_key(AccessKeyId=second["AccessKeyId"])
    assert _err(exc) == ("NoSuchEntity", f"The Access Key with id {second['AccessKeyId']} cannot be found.", 404)


def test_root_may_delete_the_last_key_it_signs_with(server_factory: Any) -> None:
    srv: Server = server_factory()
    iam = srv.client("iam")
    auditor = _client(srv, "iam", _user_with(iam, "summary-reader", ["iam:GetAccountSummary"]))
    assert auditor.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 1

    second = iam.create_access_key()["AccessKey"]
    as_second = _client(srv, "iam", second)
    as_second.delete_access_key(AccessKeyId=ACCESS_KEY_ID)  # the other key, signed with the new one
    assert [k["AccessKeyId"] for k in as_second.list_access_keys()["AccessKeyMetadata"]] == [second["AccessKeyId"]]
    as_second.delete_access_key(AccessKeyId=second["AccessKeyId"])  # the key signing this very call
    assert auditor.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 0


def test_role_sessions_must_name_the_user(server: Server) -> None:
    iam = server.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="keys-role", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="keys-role",
        PolicyName="iam",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
        ),
    )
    creds = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/keys-role", RoleSessionName="keys-session"
    )["Credentials"]
    session = make_client(
        server.url,
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    for call in (session.list_access_keys, session.create_access_key):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("ValidationError", "Must specify userName when calling with non-User credentials", 400)
