"""IAM instance profiles through boto3: lifecycle, one role per profile, the conflicts that keep a
profile and its role from being deleted, paging, tags; UpdateRoleDescription."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_instance_profile_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    created = iam.create_instance_profile(
        InstanceProfileName="web-ip", Path="/apps/", Tags=[{"Key": "team", "Value": "web"}]
    )["InstanceProfile"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:instance-profile/apps/web-ip"
    assert created["InstanceProfileId"].startswith("AIPA") and created["Roles"] == []
    assert created["Tags"] == [{"Key": "team", "Value": "web"}]
    with pytest.raises(ClientError) as exc:
        iam.create_instance_profile(InstanceProfileName="WEB-IP")
    assert _err(exc)[0] == "EntityAlreadyExists" and _err(exc)[2] == 409

    role = iam.create_role(RoleName="web-role", AssumeRolePolicyDocument=TRUST)["Role"]
    iam.create_role(RoleName="other-role", AssumeRolePolicyDocument=TRUST)
    iam.add_role_to_instance_profile(InstanceProfileName="web-ip", RoleName="web-role")
    got = iam.get_instance_profile(InstanceProfileName="web-ip")["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == ["web-role"]
    assert got["Roles"][0]["Arn"] == role["Arn"] and got["Roles"][0]["RoleId"] == role["RoleId"]
    assert got["Roles"][0]["AssumeRolePolicyDocument"] == json.loads(TRUST)

    with pytest.raises(ClientError) as exc:
        iam.add_role_to_instance_profile(InstanceProfileName="web-ip", RoleName="other-role")
    assert _err(exc)[0] == "LimitExceeded"
    with pytest.raises(ClientError) as exc:
        iam.add_role_to_instance_profile(InstanceProfileName="web-ip", RoleName="no-such-role")
    assert _err(exc)[0] == "NoSuchEntity" and _err(exc)[2] == 404
    with pytest.raises(ClientError) as exc:
        iam.add_role_to_instance_profile(InstanceProfileName="no-such-ip", RoleName="web-role")
    assert _err(exc)[:3] == ("NoSuchEntity", "Instance Profile no-such-ip cannot be found.", 404)

    for_role = iam.list_instance_profiles_for_role(RoleName="web-role")["InstanceProfiles"]
    assert [p["InstanceProfileName"] for p in for_role] == ["web-ip"]
    assert iam.list_instance_profiles_for_role(RoleName="other-role")["InstanceProfiles"] == []

    with pytest.raises(ClientError) as exc:
        iam.delete_instance_profile(InstanceProfileName="web-ip")
    assert _err(exc)[:2] == ("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName="web-role")
    assert _err(exc)[:2] == ("DeleteConflict", "Cannot delete entity, must remove roles from instance profile first.")

    with pytest.raises(ClientError) as exc:
        iam.remove_role_from_instance_profile(InstanceProfileName="web-ip", RoleName="other-role")
    assert _err(exc)[0] == "NoSuchEntity"
    iam.remove_role_from_instance_profile(InstanceProfileName="web-ip", RoleName="web-role")
    assert iam.get_instance_profile(InstanceProfileName="web-ip")["InstanceProfile"]["Roles"] == []
    iam.delete_role(RoleName="web-role")
    iam.delete_role(RoleName="other-role")
    iam.delete_instance_profile(InstanceProfileName="web-ip")
    with pytest.raises(ClientError) as exc:
        iam.get_instance_profile(InstanceProfileName="web-ip")
    assert _err(exc)[:3] == ("NoSuchEntity", "Instance Profile web-ip cannot be found.", 404)


def test_list_instance_profiles_pages_and_filters_by_path(server: Server) -> None:
    iam = server.client("iam")
    names = [f"pg-ip-{i}" for i in range(5)]
    for name in names:
        iam.create_instance_profile(InstanceProfileName=name, Path="/paging/", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_instance_profile(InstanceProfileName="pg-elsewhere", Path="/other/")
    first = iam.list_instance_profiles(PathPrefix="/paging/", MaxItems=2)
    assert first["IsTruncated"] is True and len(first["InstanceProfiles"]) == 2
    assert "Tags" not in first["InstanceProfiles"][0]
    paginator = iam.get_paginator("list_instance_profiles")
    seen = [
        p["InstanceProfileName"]
        for page in paginator.paginate(PathPrefix="/paging/", PaginationConfig={"PageSize": 2})
        for p in page["InstanceProfiles"]
    ]
    assert seen == names
    everything = [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    assert "pg-elsewhere" in everything and set(names) <= set(everything)
    for name in [*names, "pg-elsewhere"]:
        iam.delete_instance_profile(InstanceProfileName=name)


def test_instance_profile_tags(server: Server) -> None:
    iam = server.client("iam")
    iam.create_instance_profile(InstanceProfileName="tagged-ip")
    iam.tag_instance_profile(
        InstanceProfileName="tagged-ip", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    )
    iam.tag_instance_profile(InstanceProfileName="tagged-ip", Tags=[{"Key": "A", "Value": "3"}])
    tags = iam.list_instance_profile_tags(InstanceProfileName="tagged-ip")["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("A", "3"), ("b", "2")]
    iam.untag_instance_profile(InstanceProfileName="tagged-ip", TagKeys=["b"])
    assert iam.list_instance_profile_tags(InstanceProfileName="tagged-ip")["Tags"] == [{"Key": "A", "Value": "3"}]
    with pytest.raises(ClientError) as exc:
        iam.list_instance_profile_tags(InstanceProfileName="nope-ip")
    assert _err(exc)[:2] == ("NoSuchEntity", "Instance Profile nope-ip cannot be found.")
    iam.delete_instance_profile(InstanceProfileName="tagged-ip")


def test_update_role_description(server: Server) -> None:
    iam = server.client("iam")
    iam.create_role(RoleName="described", AssumeRolePolicyDocument=TRUST, Description="old")
    role = iam.update_role_description(RoleName="described", Description="new words")["Role"]
    assert role["RoleName"] == "described" and role["Description"] == "new words"
    assert iam.get_role(RoleName="described")["Role"]["Description"] == "new words"
    with pytest.raises(ClientError) as exc:
        iam.update_role_description(RoleName="nobody", Description="x")
    assert _err(exc)[0] == "NoSuchEntity"
    iam.delete_role(RoleName="described")
