"""Resource control policies bind the roles of member accounts when they are assumed (STS): an RCP's
explicit deny on sts:AssumeRole, at the account or an OU above it, refuses the management account's
own AssumeRole into the member; RCPFullAWSAccess alone changes nothing; the management account's
roles are never bound."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from ostiary.access import policy
from tests.organizations.conftest import Org, error

RCP = "RESOURCE_CONTROL_POLICY"


def _deny_assume_except(account: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sts:AssumeRole",
                    "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account}},
                }
            ],
        }
    )


def _assume(org: Org, account: str, role: str = "OrganizationAccountAccessRole") -> None:
    org.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/{role}", RoleSessionName="rcp-test")


def test_an_rcp_denies_assuming_a_member_role(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    orgs.enable_policy_type(RootId=org.root_id, PolicyType=RCP)
    _assume(org, member)  # RCPFullAWSAccess allows
    policy = orgs.create_policy(Content=_deny_assume_except(member), Description="", Name="no-outsiders", Type=RCP)
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy_id, TargetId=member)
    with pytest.raises(ClientError) as exc:
        _assume(org, member)
    assert error(exc)[0] == "AccessDenied"
    orgs.detach_policy(PolicyId=policy_id, TargetId=member)
    _assume(org, member)
    # at an OU above the account, it binds too
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="locked")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=member, SourceParentId=org.root_id, DestinationParentId=ou)
    orgs.attach_policy(PolicyId=policy_id, TargetId=ou)
    with pytest.raises(ClientError) as exc:
        _assume(org, member)
    assert error(exc)[0] == "AccessDenied"
    # disabling the type lifts every RCP
    orgs.detach_policy(PolicyId=policy_id, TargetId=ou)
    orgs.disable_policy_type(RootId=org.root_id, PolicyType=RCP)
    _assume(org, member)


def test_the_management_accounts_roles_are_not_bound(org: Org) -> None:
    orgs = org.client("organizations")
    iam = org.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{org.account_id}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.create_role(RoleName="own", AssumeRolePolicyDocument=json.dumps(trust))
    orgs.enable_policy_type(RootId=org.root_id, PolicyType=RCP)
    everyone = _deny_assume_except("000000000000")
    policy = orgs.create_policy(Content=everyone, Description="", Name="deny-all", Type=RCP)
    orgs.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=org.root_id)
    _assume(org, org.account_id, "own")
    member = org.member()
    with pytest.raises(ClientError) as exc:
        _assume(org, member)
    assert error(exc)[0] == "AccessDenied"


def test_engine_names_the_resource_control_policy() -> None:
    """In process: an RCP's explicit deny and a level without an allowing RCP, as evaluate_full
    reports them."""

    full = policy.parse(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
            }
        ),
        resource_policy=True,
    )
    deny = policy.parse(_deny_assume_except("111111111111"), resource_policy=True)
    identity = policy.parse(
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    )
    request = policy.RequestContext(
        action="sts:AssumeRole",
        resource="arn:aws:iam::222222222222:role/r",
        principal_arn="arn:aws:iam::222222222222:user/u",
        principal_account="222222222222",
        keys={"aws:PrincipalAccount": ["222222222222"]},
    )
    allowed = policy.evaluate_full(request, identity=[identity], rcps=[[full], [full]])
    assert allowed.decision is policy.Decision.ALLOW
    denied = policy.evaluate_full(request, identity=[identity], rcps=[[full], [full, deny]])
    assert denied.decision is policy.Decision.EXPLICIT_DENY
    assert denied.reason("sts:AssumeRole") == "with an explicit deny in a resource control policy"
    missing = policy.evaluate_full(request, identity=[identity], rcps=[[full], []])
    assert missing.reason("sts:AssumeRole") == "because no resource control policy allows the sts:AssumeRole action"
