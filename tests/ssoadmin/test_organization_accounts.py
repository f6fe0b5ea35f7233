"""Assignments into another Ostiary account: a member of the organization the instance owner
manages (Organizations' CreateAccount). The role appears in that account, seen through that
account's own IAM (OrganizationAccountAccessRole), with the permission set's permissions; an
account that leaves the organization is reached no more."""

from __future__ import annotations

import json
import secrets
from typing import Any

import sqlalchemy as sa

from ostiary.ssoadmin.assignments import access_for_user
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_group, add_user


def _member(inst: Instance) -> tuple[str, Any]:
    """A new member account of the instance owner's organization, and its IAM as its administrator."""
    orgs = inst.client("organizations")
    status = orgs.create_account(Email=f"{secrets.token_hex(4)}@example.com", AccountName="member")
    account = str(status["CreateAccountStatus"]["AccountId"])
    creds = inst.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
    )["Credentials"]
    iam = inst.server.client(
        "iam",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    return account, iam


def _access(server: Server, instance_arn: str, user_id: str) -> list[Any]:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return access_for_user(conn, instance_arn, user_id)
    finally:
        engine.dispose()


def _assign(inst: Instance, ps: str, kind: str, principal: str, account: str) -> dict[str, Any]:
    return dict(
        inst.client("sso-admin").create_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=account,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType=kind,
            PrincipalId=principal,
        )["AccountAssignmentCreationStatus"]
    )


def test_assignments_in_member_accounts(server: Server) -> None:
    inst = new_instance(server)
    inst.client("organizations").create_organization(FeatureSet="ALL")
    account, member_iam = _member(inst)
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="MemberDev", SessionDuration="PT2H")[
        "PermissionSet"
    ]["PermissionSetArn"]
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}]}
    admin.put_inline_policy_to_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps, InlinePolicy=json.dumps(policy)
    )
    admin.attach_managed_policy_to_permission_set(
        InstanceArn=inst.instance_arn,
        PermissionSetArn=ps,
        ManagedPolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
    )
    alice = add_user(inst, "member-alice")
    bob = add_user(inst, "member-bob")
    team = add_group(inst, "member-team", [bob])

    assert _assign(inst, ps, "USER", alice, account)["Status"] == "SUCCEEDED"
    assert _assign(inst, ps, "GROUP", team, account)["Status"] == "SUCCEEDED"

    roles = member_iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
    assert len(roles) == 1
    role = member_iam.get_role(RoleName=roles[0]["RoleName"])["Role"]
    assert role["Arn"].startswith(
        f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_MemberDev_"
    )
    assert role["MaxSessionDuration"] == 7200
    trust = role["AssumeRolePolicyDocument"]
    trust = trust if isinstance(trust, dict) else json.loads(trust)
    provider = trust["Statement"][0]["Principal"]["Federated"]
    assert provider.startswith(f"arn:aws:iam::{account}:saml-provider/AWSSSO_")
    assert provider in [p["Arn"] for p in member_iam.list_saml_providers()["SAMLProviderList"]]
    assert member_iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == ["AwsSSOInlinePolicy"]
    assert [
        p["PolicyArn"] for p in member_iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    ] == ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]

    def decision(action: str) -> str:
        result = member_iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=[action])
        return str(result["EvaluationResults"][0]["EvalDecision"])

    assert decision("dynamodb:PutItem") == "allowed"
    assert decision("s3:GetObject") == "allowed"
    assert decision("s3:PutObject") != "allowed"
    # nothing in the management account
    assert inst.client("iam").list_roles(PathPrefix="/aws-reserved/")["Roles"] == []

    # what each user reaches: alice directly, bob through the group
    for user in (alice, bob):
        [access] = _access(server, inst.instance_arn, user)
        assert (access.account_id, access.role_arn, access.session_duration_seconds) == (account, role["Arn"], 7200)
    assert admin.list_permission_sets_provisioned_to_account(InstanceArn=inst.instance_arn, AccountId=account)[
        "PermissionSets"
    ] == [ps]

    # an account that leaves the organization is reached no more, and no new role goes there
    inst.client("organizations").remove_account_from_organization(AccountId=account)
    assert _access(server, inst.instance_arn, alice) == []
    carol = add_user(inst, "member-carol")
    status = _assign(inst, ps, "USER", carol, account)
    assert status["Status"] == "FAILED" and account in status["FailureReason"]
