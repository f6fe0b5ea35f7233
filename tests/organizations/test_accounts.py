"""Accounts: CreateAccount (a new Ostiary account with OrganizationAccountAccessRole, used through
AssumeRole from the management account), create-account statuses, listings, moves, removal, closure."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error, new_org


def test_create_account_and_its_role(org: Org) -> None:
    orgs = org.client("organizations")
    email = f"{secrets.token_hex(4)}@example.com"
    status = orgs.create_account(Email=email, AccountName="Workloads", Tags=[{"Key": "team", "Value": "blue"}])[
        "CreateAccountStatus"
    ]
    assert re.fullmatch(r"car-[a-z0-9]{32}", status["Id"])
    assert status["State"] == "SUCCEEDED" and status["AccountName"] == "Workloads"
    assert isinstance(status["CompletedTimestamp"], dt.datetime)
    account = status["AccountId"]
    assert re.fullmatch(r"\d{12}", account)
    assert orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"] == status
    listed = orgs.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
    assert [s["Id"] for s in listed] == [status["Id"]]
    assert orgs.list_create_account_status(States=["FAILED"])["CreateAccountStatuses"] == []
    described = orgs.describe_account(AccountId=account)["Account"]
    assert described["Arn"] == f"arn:aws:organizations::{org.account_id}:account/{org.org_id}/{account}"
    assert described["Email"] == email and described["Name"] == "Workloads"
    assert described["JoinedMethod"] == "CREATED" and described["Status"] == "ACTIVE"
    assert orgs.list_tags_for_resource(ResourceId=account)["Tags"] == [{"Key": "team", "Value": "blue"}]
    # the management account reaches the new account through OrganizationAccountAccessRole
    creds = org.admin_of(account)
    who = org.server.client("sts", **creds).get_caller_identity()
    assert who["Account"] == account
    assert who["Arn"] == f"arn:aws:sts::{account}:assumed-role/OrganizationAccountAccessRole/admin"
    iam = org.server.client("iam", **creds)
    role = iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{org.account_id}:root"
    }
    attached = iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    iam.create_user(UserName="made-by-admin")  # AdministratorAccess: the account is the admin's
    # the new account's listing and its FullAWSAccess
    ids = [a["Id"] for a in orgs.list_accounts()["Accounts"]]
    assert sorted(ids) == sorted([org.account_id, account])
    policies = orgs.list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Id"] for p in policies] == ["p-FullAWSAccess"]


def test_role_name_and_duplicate_email(org: Org) -> None:
    orgs = org.client("organizations")
    email = f"{secrets.token_hex(4)}@example.com"
    account = orgs.create_account(Email=email, AccountName="a", RoleName="Breakglass")["CreateAccountStatus"][
        "AccountId"
    ]
    assert org.server.client("sts", **org.admin_of(account, "Breakglass")).get_caller_identity()["Account"] == account
    failed = orgs.create_account(Email=email.upper(), AccountName="b")["CreateAccountStatus"]
    assert failed["State"] == "FAILED" and failed["FailureReason"] == "EMAIL_ALREADY_EXISTS"
    assert "AccountId" not in failed
    with pytest.raises(ClientError) as exc:
        orgs.describe_create_account_status(CreateAccountRequestId="car-" + "0" * 32)
    assert error(exc)[0] == "CreateAccountStatusNotFoundException"


def test_role_trusts_only_the_management_account(org: Org) -> None:
    """Another account (not the management account) cannot assume the member's access role."""
    account = org.member()
    stranger = new_org(org.server)
    with pytest.raises(ClientError) as exc:
        stranger.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="stranger"
        )
    assert error(exc)[0] == "AccessDenied"


def test_move_and_list_for_parent(org: Org) -> None:
    orgs = org.client("organizations")
    account = org.member()
    ou = orgs.create_organizational_unit(ParentId=org.root_id, Name="prod")["OrganizationalUnit"]["Id"]
    orgs.move_account(AccountId=account, SourceParentId=org.root_id, DestinationParentId=ou)
    assert [a["Id"] for a in orgs.list_accounts_for_parent(ParentId=ou)["Accounts"]] == [account]
    assert [a["Id"] for a in orgs.list_accounts_for_parent(ParentId=org.root_id)["Accounts"]] == [org.account_id]
    assert orgs.list_parents(ChildId=account)["Parents"] == [{"Id": ou, "Type": "ORGANIZATIONAL_UNIT"}]
    with pytest.raises(ClientError) as exc:
        orgs.move_account(AccountId=account, SourceParentId=ou, DestinationParentId=ou)
    assert error(exc)[0] == "DuplicateAccountException"
    with pytest.raises(ClientError) as exc:
        orgs.move_account(AccountId=account, SourceParentId="ou-zzzz-zzzzzzzz", DestinationParentId=org.root_id)
    assert error(exc)[0] == "SourceParentNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.move_account(AccountId=account, SourceParentId=ou, DestinationParentId="ou-zzzz-zzzzzzzz")
    assert error(exc)[0] == "DestinationParentNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.move_account(AccountId="123456789012", SourceParentId=ou, DestinationParentId=org.root_id)
    assert error(exc)[0] == "AccountNotFoundException"
    with pytest.raises(ClientError) as exc:
        orgs.list_accounts_for_parent(ParentId="ou-zzzz-zzzzzzzz")
    assert error(exc)[0] == "ParentNotFoundException"


def test_remove_and_close(org: Org) -> None:
    orgs = org.client("organizations")
    leaving, closing = org.member(), org.member()
    leaving_admin = org.admin_of(leaving)
    orgs.remove_account_from_organization(AccountId=leaving)
    with pytest.raises(ClientError) as exc:
        orgs.describe_account(AccountId=leaving)
    assert error(exc) == ("AccountNotFoundException", "You specified an account that doesn't exist.")
    # a removed account is its own again: no organization, its role still works
    with pytest.raises(ClientError) as exc:
        org.server.client("organizations", **leaving_admin).describe_organization()
    assert error(exc)[0] == "AWSOrganizationsNotInUseException"
    with pytest.raises(ClientError) as exc:
        orgs.remove_account_from_organization(AccountId=org.account_id)
    assert error(exc)[0] == "MasterCannotLeaveOrganizationException"
    # CloseAccount suspends the account: nothing is allowed to its principals any more
    closing_admin = org.server.client("iam", **org.admin_of(closing))
    closing_admin.list_users()
    orgs.close_account(AccountId=closing)
    assert orgs.describe_account(AccountId=closing)["Account"]["Status"] == "SUSPENDED"
    with pytest.raises(ClientError) as exc:
        closing_admin.list_users()
    assert error(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        orgs.close_account(AccountId=closing)
    assert error(exc)[0] == "AccountAlreadyClosedException"
    with pytest.raises(ClientError) as exc:
        orgs.close_account(AccountId=org.account_id)
    assert error(exc)[0] == "ConstraintViolationException"
    assert exc.value.response["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT"


def test_paging(org: Org) -> None:
    orgs = org.client("organizations")
    for _ in range(2):
        org.member()
    first = orgs.list_accounts(MaxResults=2)
    assert len(first["Accounts"]) == 2 and first["NextToken"]
    second = orgs.list_accounts(MaxResults=2, NextToken=first["NextToken"])
    assert len(second["Accounts"]) == 1 and "NextToken" not in second
    everyone = [a["Id"] for a in first["Accounts"] + second["Accounts"]]
    assert len(set(everyone)) == 3
    with pytest.raises(ClientError) as exc:
        orgs.list_accounts(NextToken="not-a-token")
    assert error(exc)[0] == "InvalidInputException"
    assert exc.value.response["Reason"] == "INVALID_NEXT_TOKEN"
