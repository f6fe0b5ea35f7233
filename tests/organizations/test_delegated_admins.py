"""Delegated administrators: a member account registered for a trusted service may read the
organization (not change it); registration rules; deregistration and what it ends."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.organizations.conftest import Org, error

SSO = "sso.amazonaws.com"


def test_delegated_administrator_reads_the_organization(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member("delegate")
    admin = org.server.client("organizations", **org.admin_of(member))
    with pytest.raises(ClientError) as exc:
        admin.list_accounts()
    assert error(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        orgs.register_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    assert exc.value.response["Reason"] == "SERVICE_ACCESS_NOT_ENABLED"
    orgs.enable_aws_service_access(ServicePrincipal=SSO)
    orgs.register_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    with pytest.raises(ClientError) as exc:
        orgs.register_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    assert error(exc)[0] == "AccountAlreadyRegisteredException"
    with pytest.raises(ClientError) as exc:
        orgs.register_delegated_administrator(AccountId=org.account_id, ServicePrincipal=SSO)
    assert exc.value.response["Reason"] == "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR"
    listed = orgs.list_delegated_administrators(ServicePrincipal=SSO)["DelegatedAdministrators"]
    assert [d["Id"] for d in listed] == [member] and listed[0]["Name"] == "delegate"
    assert "DelegationEnabledDate" in listed[0]
    services = orgs.list_delegated_services_for_account(AccountId=member)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == [SSO]
    # read-only access to the organization's data
    assert {a["Id"] for a in admin.list_accounts()["Accounts"]} == {org.account_id, member}
    assert admin.list_roots()["Roots"][0]["Id"] == org.root_id
    assert admin.describe_account(AccountId=org.account_id)["Account"]["Id"] == org.account_id
    assert [p["Id"] for p in admin.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]] == ["p-FullAWSAccess"]
    assert [d["Id"] for d in admin.list_delegated_administrators()["DelegatedAdministrators"]] == [member]
    # but no changes
    for call in (
        lambda: admin.create_organizational_unit(ParentId=org.root_id, Name="nope"),
        lambda: admin.detach_policy(PolicyId="p-FullAWSAccess", TargetId=org.root_id),
        lambda: admin.register_delegated_administrator(AccountId=member, ServicePrincipal="config.amazonaws.com"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc)[0] == "AccessDeniedException"
    # a delegated administrator stays until deregistered
    with pytest.raises(ClientError) as exc:
        orgs.remove_account_from_organization(AccountId=member)
    assert exc.value.response["Reason"] == "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG"
    orgs.deregister_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    with pytest.raises(ClientError) as exc:
        orgs.deregister_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    assert error(exc)[0] == "AccountNotRegisteredException"
    with pytest.raises(ClientError) as exc:
        admin.list_accounts()
    assert error(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        orgs.list_delegated_services_for_account(AccountId=member)
    assert error(exc)[0] == "AccountNotRegisteredException"


def test_disabling_service_access_deregisters(org: Org) -> None:
    orgs = org.client("organizations")
    member = org.member()
    orgs.enable_aws_service_access(ServicePrincipal=SSO)
    orgs.register_delegated_administrator(AccountId=member, ServicePrincipal=SSO)
    orgs.disable_aws_service_access(ServicePrincipal=SSO)
    assert orgs.list_delegated_administrators()["DelegatedAdministrators"] == []
    orgs.remove_account_from_organization(AccountId=member)
    with pytest.raises(ClientError) as exc:
        orgs.register_delegated_administrator(AccountId="123456789012", ServicePrincipal=SSO)
    assert error(exc)[0] == "AccountNotFoundException"
