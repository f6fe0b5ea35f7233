"""Feature sets: an organization of consolidated billing only refuses what needs all features;
EnableAllFeatures' handshake process (invited members approve, created ones are inferred, the
management account finalises); and who may not take part in it."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, create_account
from tests.organizations.conftest import Org, error, new_org

POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}'


def _invited(org: Org) -> Any:
    """A new account invited into ``org`` and accepted: its organizations client."""
    creds = create_account(org.server, "invitee-" + secrets.token_hex(3))
    account = org.server.client("sts", **creds).get_caller_identity()["Account"]
    hs = org.client("organizations").invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})
    client = org.server.client("organizations", **creds)
    client.accept_handshake(HandshakeId=hs["Handshake"]["Id"])
    return client, account


def _code(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return error(exc)[0], str(exc.value.response.get("Reason", ""))


def test_consolidated_billing_refuses_what_needs_all_features(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    member = org.member()
    assert _code(orgs.create_policy, Content=POLICY, Description="", Name="n", Type="SERVICE_CONTROL_POLICY")[0] == (
        "PolicyTypeNotAvailableForOrganizationException"
    )
    assert _code(orgs.enable_policy_type, RootId=org.root_id, PolicyType="TAG_POLICY")[0] == (
        "PolicyTypeNotAvailableForOrganizationException"
    )
    assert _code(orgs.enable_aws_service_access, ServicePrincipal="sso.amazonaws.com") == (
        "ConstraintViolationException",
        "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
    )
    assert _code(orgs.register_delegated_administrator, AccountId=member, ServicePrincipal="sso.amazonaws.com") == (
        "ConstraintViolationException",
        "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE",
    )


def test_enable_all_features_with_created_accounts_only(server: Server) -> None:
    """Created accounts approve implicitly: APPROVE_ALL_FEATURES comes at once; finalising makes the
    feature set ALL, and policy types can then be enabled."""
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    org.member()
    started = orgs.enable_all_features()["Handshake"]
    assert started["Action"] == "ENABLE_ALL_FEATURES" and started["State"] == "OPEN"
    assert {"Id": org.account_id, "Type": "ACCOUNT"} in started["Parties"]
    assert (started["ExpirationTimestamp"] - started["RequestedTimestamp"]).days == 90
    assert _code(orgs.enable_all_features) == (
        "HandshakeConstraintViolationException",
        "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
    )
    mine = orgs.list_handshakes_for_account()["Handshakes"]
    approve = [h for h in mine if h["Action"] == "APPROVE_ALL_FEATURES"]
    assert len(approve) == 1 and {"Type": "PARENT_HANDSHAKE", "Value": started["Id"]} in approve[0]["Resources"]
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    done = orgs.accept_handshake(HandshakeId=started["Id"])["Handshake"]
    assert done["State"] == "ACCEPTED"
    assert orgs.describe_handshake(HandshakeId=approve[0]["Id"])["Handshake"]["State"] == "ACCEPTED"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert orgs.list_roots()["Roots"][0]["PolicyTypes"] == []  # enabled separately, as AWS documents
    orgs.enable_policy_type(RootId=org.root_id, PolicyType="SERVICE_CONTROL_POLICY")
    assert _code(orgs.enable_all_features) == (
        "HandshakeConstraintViolationException",
        "ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
    )


def test_invited_members_must_approve_before_the_management_account_finalises(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    first, first_id = _invited(org)
    second, second_id = _invited(org)
    started = orgs.enable_all_features()["Handshake"]
    asks = {}
    for client, account in ((first, first_id), (second, second_id)):
        own = [h for h in client.list_handshakes_for_account()["Handshakes"] if h["Action"] == "ENABLE_ALL_FEATURES"]
        assert len(own) == 1 and {"Type": "PARENT_HANDSHAKE", "Value": started["Id"]} in own[0]["Resources"]
        assert {"Id": account, "Type": "ACCOUNT"} in own[0]["Parties"]
        asks[account] = own[0]["Id"]
    # no invitation while the change is pending
    outsider = create_account(server, "late-" + secrets.token_hex(3))
    late = org.server.client("sts", **outsider).get_caller_identity()["Account"]
    assert _code(orgs.invite_account_to_organization, Target={"Id": late, "Type": "ACCOUNT"}) == (
        "HandshakeConstraintViolationException",
        "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
    )
    first.accept_handshake(HandshakeId=asks[first_id])
    assert _code(orgs.accept_handshake, HandshakeId=started["Id"])[0] == "InvalidHandshakeTransitionException"
    assert not [h for h in orgs.list_handshakes_for_account()["Handshakes"] if h["Action"] == "APPROVE_ALL_FEATURES"]
    # the organization's side cannot approve for a member; one member cannot approve for another
    assert _code(orgs.accept_handshake, HandshakeId=asks[second_id])[0] == "InvalidHandshakeTransitionException"
    assert _code(first.accept_handshake, HandshakeId=asks[second_id])[0] == "HandshakeNotFoundException"
    second.accept_handshake(HandshakeId=asks[second_id])
    approve = [h for h in orgs.list_handshakes_for_account()["Handshakes"] if h["Action"] == "APPROVE_ALL_FEATURES"]
    assert len(approve) == 1
    orgs.accept_handshake(HandshakeId=approve[0]["Id"])  # finalising through APPROVE_ALL_FEATURES
    assert first.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    assert orgs.describe_handshake(HandshakeId=started["Id"])["Handshake"]["State"] == "ACCEPTED"


def test_a_declining_member_blocks_until_removed(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    member, member_id = _invited(org)
    started = orgs.enable_all_features()["Handshake"]
    ask = member.list_handshakes_for_account(Filter={"ActionType": "ENABLE_ALL_FEATURES"})["Handshakes"][0]
    assert member.decline_handshake(HandshakeId=ask["Id"])["Handshake"]["State"] == "DECLINED"
    assert _code(orgs.accept_handshake, HandshakeId=started["Id"])[0] == "InvalidHandshakeTransitionException"
    orgs.remove_account_from_organization(AccountId=member_id)
    orgs.accept_handshake(HandshakeId=started["Id"])
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"


def test_cancelling_the_process_cancels_the_members_handshakes(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    member, _ = _invited(org)
    started = orgs.enable_all_features()["Handshake"]
    ask = member.list_handshakes_for_account(Filter={"ActionType": "ENABLE_ALL_FEATURES"})["Handshakes"][0]
    assert _code(member.cancel_handshake, HandshakeId=ask["Id"])[0] == "InvalidHandshakeTransitionException"
    assert orgs.cancel_handshake(HandshakeId=started["Id"])["Handshake"]["State"] == "CANCELED"
    assert member.describe_handshake(HandshakeId=ask["Id"])["Handshake"]["State"] == "CANCELED"
    assert _code(member.accept_handshake, HandshakeId=ask["Id"])[0] == "InvalidHandshakeTransitionException"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    again = orgs.enable_all_features()["Handshake"]  # a new process may start
    assert again["Id"] != started["Id"]


def test_an_account_outside_the_organization_cannot_accept(server: Server) -> None:
    """Attack: an account outside the organization (another organization's management account, or a
    lone account) accepting or describing the organization's ENABLE_ALL_FEATURES handshakes."""
    org = new_org(server, "CONSOLIDATED_BILLING")
    orgs = org.client("organizations")
    member, _ = _invited(org)
    started = orgs.enable_all_features()["Handshake"]
    ask = member.list_handshakes_for_account(Filter={"ActionType": "ENABLE_ALL_FEATURES"})["Handshakes"][0]
    other = new_org(server).client("organizations")
    lone = org.server.client("organizations", **create_account(server, "lone-" + secrets.token_hex(3)))
    for client in (other, lone):
        for handshake in (started["Id"], ask["Id"]):
            for call in (client.accept_handshake, client.decline_handshake, client.describe_handshake):
                assert _code(call, HandshakeId=handshake)[0] == "HandshakeNotFoundException"
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "CONSOLIDATED_BILLING"
    # a member that left no longer takes part: its approval does not count
    member.leave_organization()
    assert _code(member.accept_handshake, HandshakeId=ask["Id"])[0] == "InvalidHandshakeTransitionException"


def test_member_cannot_enable_all_features(server: Server) -> None:
    org = new_org(server, "CONSOLIDATED_BILLING")
    member = org.member()
    admin = org.server.client("organizations", **org.admin_of(member))
    assert _code(admin.enable_all_features)[0] == "AccessDeniedException"
