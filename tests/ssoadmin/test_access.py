"""``assignments.access_for_user``: what a directory user reaches (the contract the portal API and
the access portal read), directly and through a group, only once provisioned."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ostiary.ssoadmin.assignments import Access, access_for_user
from tests.conftest import Server
from tests.ssoadmin.conftest import new_instance
from tests.ssoadmin.directory import add_group, add_user

READ_ONLY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
)


def _access(server: Server, instance_arn: str, user_id: str) -> list[Access]:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return access_for_user(conn, instance_arn, user_id)
    finally:
        engine.dispose()


def test_access_for_user_direct_and_through_group(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    alice = add_user(inst, "alice")
    bob = add_user(inst, "bob")
    team = add_group(inst, "team", [alice])
    ps_b = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Beta", SessionDuration="PT8H")[
        "PermissionSet"
    ]["PermissionSetArn"]
    ps_a = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Alpha")["PermissionSet"]["PermissionSetArn"]
    admin.put_inline_policy_to_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps_a, InlinePolicy=READ_ONLY
    )
    assert _access(server, inst.instance_arn, alice) == []

    for ps, kind, principal in ((ps_b, "USER", alice), (ps_a, "GROUP", team)):
        status = admin.create_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=inst.account_id,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType=kind,
            PrincipalId=principal,
        )["AccountAssignmentCreationStatus"]
        assert status["Status"] == "SUCCEEDED", status

    found = _access(server, inst.instance_arn, alice)
    assert [(a.account_id, a.permission_set_name) for a in found] == [
        (inst.account_id, "Alpha"),
        (inst.account_id, "Beta"),
    ]
    alpha, beta = found
    assert alpha.permission_set_arn == ps_a and beta.permission_set_arn == ps_b
    assert (
        alpha.role_name.startswith("AWSReservedSSO_Alpha_")
        and len(alpha.role_name) == len("AWSReservedSSO_Alpha_") + 16
    )
    assert alpha.role_arn == (f"arn:aws:iam::{inst.account_id}:role/aws-reserved/sso.amazonaws.com/{alpha.role_name}")
    assert alpha.session_duration_seconds == 3600 and beta.session_duration_seconds == 8 * 3600
    # bob has no assignment, and another instance's user reaches nothing here
    assert _access(server, inst.instance_arn, bob) == []
    other = new_instance(server)
    assert _access(server, other.instance_arn, alice) == []
    # the role exists in the account, as IAM shows it
    role = inst.client("iam").get_role(RoleName=alpha.role_name)["Role"]
    assert role["Path"] == "/aws-reserved/sso.amazonaws.com/" and role["Arn"] == alpha.role_arn


def test_session_duration_is_the_provisioned_one(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    user = add_user(inst, "dur")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Dur", SessionDuration="PT2H")[
        "PermissionSet"
    ]["PermissionSetArn"]
    admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId=inst.account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user,
    )
    assert [a.session_duration_seconds for a in _access(server, inst.instance_arn, user)] == [7200]
    admin.update_permission_set(InstanceArn=inst.instance_arn, PermissionSetArn=ps, SessionDuration="PT6H")
    assert [a.session_duration_seconds for a in _access(server, inst.instance_arn, user)] == [7200]
    admin.provision_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps, TargetType="ALL_PROVISIONED_ACCOUNTS"
    )
    assert [a.session_duration_seconds for a in _access(server, inst.instance_arn, user)] == [6 * 3600]
