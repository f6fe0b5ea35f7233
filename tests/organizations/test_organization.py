"""The organization's lifecycle: CreateOrganization, DescribeOrganization, DeleteOrganization,
LeaveOrganization; who may call what."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, create_account
from tests.organizations.conftest import Org, error, new_org


def test_create_describe_delete(server: Server) -> None:
    creds = create_account(server, "org-life")
    orgs = server.client("organizations", **creds)
    with pytest.raises(ClientError) as exc:
        orgs.describe_organization()
    assert error(exc) == ("AWSOrganizationsNotInUseException", "Your account is not a member of an organization.")
    created = orgs.create_organization()["Organization"]
    assert re.fullmatch(r"o-[a-z0-9]{10}", created["Id"])
    mgmt = created["MasterAccountId"]
    assert created["Arn"] == f"arn:aws:organizations::{mgmt}:organization/{created['Id']}"
    assert created["MasterAccountArn"] == f"arn:aws:organizations::{mgmt}:account/{created['Id']}/{mgmt}"
    assert created["FeatureSet"] == "ALL"
    assert orgs.describe_organization()["Organization"] == created
    root = orgs.list_roots()["Roots"][0]
    assert re.fullmatch(r"r-[a-z0-9]{4}", root["Id"])
    assert root["Arn"] == f"arn:aws:organizations::{mgmt}:root/{created['Id']}/{root['Id']}"
    assert root["Name"] == "Root"
    assert root["PolicyTypes"] == [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
    # the management account is the organization's first account, with FullAWSAccess
    accounts = orgs.list_accounts()["Accounts"]
    assert [a["Id"] for a in accounts] == [mgmt]
    assert accounts[0]["Status"] == "ACTIVE"
    targets = orgs.list_policies_for_target(TargetId=mgmt, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Id"] for p in targets] == ["p-FullAWSAccess"]
    with pytest.raises(ClientError) as exc:
        orgs.create_organization()
    assert error(exc)[0] == "AlreadyInOrganizationException"
    orgs.create_organizational_unit(ParentId=root["Id"], Name="gone-with-it")
    orgs.delete_organization()
    with pytest.raises(ClientError) as exc:
        orgs.describe_organization()
    assert error(exc)[0] == "AWSOrganizationsNotInUseException"
    again = orgs.create_organization()["Organization"]  # free to make another
    assert again["Id"] != created["Id"]


def test_delete_refused_while_members_remain(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    with pytest.raises(ClientError) as exc:
        orgs.delete_organization()
    assert error(exc)[0] == "OrganizationNotEmptyException"
    orgs.remove_account_from_organization(AccountId=member)
    orgs.delete_organization()


def test_consolidated_billing_has_no_policy_types(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    assert orgs.list_roots()["Roots"][0]["PolicyTypes"] == []
    with pytest.raises(ClientError) as exc:
        orgs.enable_policy_type(RootId=org.root_id, PolicyType="SERVICE_CONTROL_POLICY")
    assert error(exc)[0] == "PolicyTypeNotAvailableForOrganizationException"


def test_member_may_describe_but_not_manage(org: Org) -> None:
    member = org.member()
    admin = org.server.client("organizations", **org.admin_of(member))
    described = admin.describe_organization()["Organization"]
    assert described["Id"] == org.org_id and described["MasterAccountId"] == org.account_id
    for call in (admin.list_accounts, admin.list_roots, admin.delete_organization):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc) == ("AccessDeniedException", "You don't have permissions to access this resource.")
    with pytest.raises(ClientError) as exc:
        admin.create_organization()
    assert error(exc)[0] == "AlreadyInOrganizationException"


def test_other_organization_is_invisible(org: Org, server: Server) -> None:
    """Another organization's management account cannot reach this one's accounts, OUs or policies."""
    other = new_org(server).client("organizations")
    ou = org.client("organizations").create_organizational_unit(ParentId=org.root_id, Name="mine")
    with pytest.raises(ClientError) as exc:
        other.describe_account(AccountId=org.account_id)
    assert error(exc)[0] == "AccountNotFoundException"
    with pytest.raises(ClientError) as exc:
        other.describe_organizational_unit(OrganizationalUnitId=ou["OrganizationalUnit"]["Id"])
    assert error(exc)[0] == "OrganizationalUnitNotFoundException"
    with pytest.raises(ClientError) as exc:
        other.list_children(ParentId=org.root_id, ChildType="ACCOUNT")
    assert error(exc)[0] == "ParentNotFoundException"


def test_member_leaves(org: Org) -> None:
    member = org.member()
    admin = org.server.client("organizations", **org.admin_of(member))
    admin.leave_organization()
    with pytest.raises(ClientError) as exc:
        admin.describe_organization()
    assert error(exc)[0] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as exc:
        org.client("organizations").leave_organization()
    assert error(exc)[0] == "MasterCannotLeaveOrganizationException"


def test_iam_policies_name_organizations_resources(org: Org) -> None:
    """An IAM user of the management account is authorized against the ARNs of the OUs, accounts and
    policies it acts on (Service Authorization Reference: AWS Organizations' resource types)."""
    orgs = org.client("organizations")
    mine = orgs.create_organizational_unit(ParentId=org.root_id, Name="mine")["OrganizationalUnit"]
    theirs = orgs.create_organizational_unit(ParentId=org.root_id, Name="theirs")["OrganizationalUnit"]
    iam = org.client("iam")
    iam.create_user(UserName="ou-reader")
    iam.put_user_policy(
        UserName="ou-reader",
        PolicyName="one-ou",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "organizations:DescribeOrganizationalUnit", "Resource": mine["Arn"]},
                    {"Effect": "Allow", "Action": "organizations:DescribeOrganization", "Resource": "*"},
                ],
            }
        ),
    )
    key = iam.create_access_key(UserName="ou-reader")["AccessKey"]
    reader = org.server.client(
        "organizations", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    assert reader.describe_organization()["Organization"]["Id"] == org.org_id
    assert reader.describe_organizational_unit(OrganizationalUnitId=mine["Id"])["OrganizationalUnit"] == mine
    with pytest.raises(ClientError) as exc:
        reader.describe_organizational_unit(OrganizationalUnitId=theirs["Id"])
    code, message = error(exc)
    assert code == "AccessDeniedException"
    assert f"on resource: {theirs['Arn']} because no identity-based policy allows" in message


def test_trusted_service_access(org: Org, server: Server) -> None:
    orgs = org.client("organizations")
    assert orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"] == []
    orgs.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    orgs.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")  # already: nothing changes
    orgs.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    enabled = orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["cloudtrail.amazonaws.com", "sso.amazonaws.com"]
    orgs.disable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
    enabled = orgs.list_aws_service_access_for_organization()["EnabledServicePrincipals"]
    assert [e["ServicePrincipal"] for e in enabled] == ["sso.amazonaws.com"]
    with pytest.raises(ClientError) as exc:
        orgs.enable_aws_service_access(ServicePrincipal="example.com")
    assert exc.value.response["Reason"] == "UNRECOGNIZED_SERVICE_PRINCIPAL"
    billing = new_org(server, "CONSOLIDATED_BILLING").client("organizations")
    with pytest.raises(ClientError) as exc:
        billing.enable_aws_service_access(ServicePrincipal="sso.amazonaws.com")
    assert exc.value.response["Reason"] == "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE"
