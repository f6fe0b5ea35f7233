"""Service control policies in the policy engine (AWS Organizations User Guide, "SCP evaluation"):
they limit every principal of a member account, never grant, and leave the management account alone."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error

SCP = "SERVICE_CONTROL_POLICY"


def _doc(effect: str, action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]})


def _policy(org: Org, name: str, content: str) -> str:
    created = org.client("organizations").create_policy(Content=content, Description="", Name=name, Type=SCP)
    return str(created["Policy"]["PolicySummary"]["Id"])


def test_deny_binds_member_principals_not_the_management_account(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    admin = org.admin_of(member)
    iam = org.server.client("iam", **admin)
    iam.create_user(UserName="before-scp")
    # an IAM user of the member account with AdministratorAccess, and its key
    iam.attach_user_policy(UserName="before-scp", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="before-scp")["AccessKey"]
    user_iam = org.server.client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    deny = _policy(org, "NoUsers", _doc("Deny", "iam:CreateUser"))
    orgs.attach_policy(PolicyId=deny, TargetId=member)
    for client, who in (
        (iam, f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/admin"),
        (user_iam, f"arn:aws:iam::{member}:user/before-scp"),
    ):
        with pytest.raises(ClientError) as exc:
            client.create_user(UserName="blocked")
        code, message = error(exc)
        assert code == "AccessDenied"
        assert message == (
            f"User: {who} is not authorized to perform: iam:CreateUser on resource: "
            f"arn:aws:iam::{member}:user/blocked with an explicit deny in a service control policy"
        )
        client.list_users()  # what the SCP does not deny, the identity policies still grant
    # the management account is exempt, even with the SCP attached to it
    orgs.attach_policy(PolicyId=deny, TargetId=org.account_id)
    org.client("iam").create_user(UserName="mgmt-user")
    # the management account can still undo it, and the member's admin is free again
    orgs.detach_policy(PolicyId=deny, TargetId=member)
    iam.create_user(UserName="after-scp")


def test_deny_at_the_root_reaches_every_member(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="deep")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=member, SourceParentId=org.root_id, DestinationParentId=ou)
    orgs.attach_policy(PolicyId=_policy(org, "NoRoles", _doc("Deny", "iam:CreateRole")), TargetId=org.root_id)
    iam = org.server.client("iam", **org.admin_of(member))
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": member}, "Action": "sts:AssumeRole"}],
        }
    )
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust)
    assert error(exc)[1].endswith("with an explicit deny in a service control policy")
    # the management account's own calls are not limited by its root's SCPs
    org.client("iam").create_role(RoleName="mgmt-role", AssumeRolePolicyDocument=trust.replace(member, org.account_id))


def test_allow_list_at_an_ou(org: Org) -> None:
    """FullAWSAccess replaced by an SCP that allows only STS: the member account's administrator can
    still call STS and nothing else; the SCP grants nothing the identity policies do not."""
    orgs = org.client("organizations")
    member = org.member()
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="sandbox")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=member, SourceParentId=org.root_id, DestinationParentId=ou)
    only_sts = _policy(org, "OnlySTS", _doc("Allow", "sts:*"))
    orgs.attach_policy(PolicyId=only_sts, TargetId=ou)
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou)
    creds = org.admin_of(member)
    sts = org.server.client("sts", **creds)
    assert sts.get_access_key_info(AccessKeyId=creds["aws_access_key_id"])["Account"] == member
    with pytest.raises(ClientError) as exc:
        org.server.client("iam", **creds).list_users()
    assert error(exc) == (
        "AccessDenied",
        f"User: arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/admin is not authorized to "
        f"perform: iam:ListUsers on resource: arn:aws:iam::{member}:user/* because no service control policy "
        "allows the iam:ListUsers action",
    )
    # an account outside the OU (at the root, which keeps FullAWSAccess) is not limited
    other = org.member()
    org.server.client("iam", **org.admin_of(other)).list_users()
    # every level must allow: sts:* at the OU, but the account's own level allows only IAM reads
    reads = _policy(org, "IamReads", _doc("Allow", "iam:List*"))
    orgs.attach_policy(PolicyId=reads, TargetId=member)
    orgs.detach_policy(PolicyId="p-FullAWSAccess", TargetId=member)
    with pytest.raises(ClientError) as exc:
        sts.get_access_key_info(AccessKeyId=creds["aws_access_key_id"])
    assert error(exc)[1].endswith("because no service control policy allows the sts:GetAccessKeyInfo action")
    # GetCallerIdentity needs no permission: no policy, an SCP neither, can deny it (STS API Reference)
    assert sts.get_caller_identity()["Account"] == member


def test_scp_never_grants(org: Org) -> None:
    """A user with no identity policy gets nothing from FullAWSAccess."""
    member = org.member()
    iam = org.server.client("iam", **org.admin_of(member))
    iam.create_user(UserName="nobody")
    key = iam.create_access_key(UserName="nobody")["AccessKey"]
    nobody = org.server.client(
        "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as exc:
        nobody.list_users()
    assert error(exc)[1].endswith("because no identity-based policy allows the iam:ListUsers action")


def test_disabling_the_type_lifts_every_scp(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    orgs.attach_policy(PolicyId=_policy(org, "NoLists", _doc("Deny", "iam:ListUsers")), TargetId=member)
    iam = org.server.client("iam", **org.admin_of(member))
    with pytest.raises(ClientError):
        iam.list_users()
    orgs.disable_policy_type(RootId=org.root_id, PolicyType=SCP)
    iam.list_users()


def test_removed_account_is_free_of_the_organizations_scps(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    orgs.attach_policy(PolicyId=_policy(org, "NoLists", _doc("Deny", "iam:ListUsers")), TargetId=org.root_id)
    iam = org.server.client("iam", **org.admin_of(member))
    with pytest.raises(ClientError):
        iam.list_users()
    orgs.remove_account_from_organization(AccountId=member)
    iam.list_users()


def test_policy_simulator_evaluates_scps(org: Org) -> None:
    """SimulatePrincipalPolicy of a member account's user evaluates the SCPs (OrganizationsDecisionDetail);
    the management account's users are not subject to them."""
    orgs = org.client("organizations")
    member = org.member()
    iam = org.server.client("iam", **org.admin_of(member))
    user = iam.create_user(UserName="simulated")["User"]["Arn"]
    iam.attach_user_policy(UserName="simulated", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    orgs.attach_policy(PolicyId=_policy(org, "NoUsers", _doc("Deny", "iam:CreateUser")), TargetId=org.root_id)
    results = iam.simulate_principal_policy(PolicySourceArn=user, ActionNames=["iam:CreateUser", "iam:ListUsers"])[
        "EvaluationResults"
    ]
    by_action = {r["EvalActionName"]: r for r in results}
    assert by_action["iam:CreateUser"]["EvalDecision"] == "explicitDeny"
    assert by_action["iam:CreateUser"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}
    assert by_action["iam:ListUsers"]["EvalDecision"] == "allowed"
    assert by_action["iam:ListUsers"]["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    mgmt_iam = org.client("iam")
    mgmt_user = mgmt_iam.create_user(UserName="simulated")["User"]["Arn"]
    mgmt_iam.attach_user_policy(UserName="simulated", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    result = mgmt_iam.simulate_principal_policy(PolicySourceArn=mgmt_user, ActionNames=["iam:CreateUser"])[
        "EvaluationResults"
    ][0]
    assert result["EvalDecision"] == "allowed" and "OrganizationsDecisionDetail" not in result
