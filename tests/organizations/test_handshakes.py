"""Invitations: an existing account joins through InviteAccountToOrganization and AcceptHandshake;
declined, cancelled and others' handshakes; and SCPs binding the invited account's root user."""

from __future__ import annotations

import json
import re
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server, create_account
from tests.organizations.conftest import Org, error, new_org


def _account(server: Server) -> tuple[dict[str, str], str]:
    creds = create_account(server, "invitee-" + secrets.token_hex(3))
    account = server.client("sts", **creds).get_caller_identity()["Account"]
    return creds, str(account)


def test_invite_and_accept(org: Org) -> None:
    orgs = org.client("organizations")
    creds, account = _account(org.server)
    invited = orgs.invite_account_to_organization(
        Target={"Id": account, "Type": "ACCOUNT"}, Notes="join us", Tags=[{"Key": "via", "Value": "invite"}]
    )["Handshake"]
    assert re.fullmatch(r"h-[a-z0-9]{10}", invited["Id"])
    assert invited["Arn"] == f"arn:aws:organizations::{org.account_id}:handshake/{org.org_id}/invite/{invited['Id']}"
    assert invited["State"] == "OPEN" and invited["Action"] == "INVITE"
    assert {"Id": account, "Type": "ACCOUNT"} in invited["Parties"]
    assert (invited["ExpirationTimestamp"] - invited["RequestedTimestamp"]).days == 15
    with pytest.raises(ClientError) as exc:
        orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})
    assert error(exc)[0] == "DuplicateHandshakeException"
    invitee = org.server.client("organizations", **creds)
    mine = invitee.list_handshakes_for_account()["Handshakes"]
    assert [h["Id"] for h in mine] == [invited["Id"]]
    assert [h["Id"] for h in orgs.list_handshakes_for_organization()["Handshakes"]] == [invited["Id"]]
    with pytest.raises(ClientError) as exc:  # the organization's side cannot accept for the account
        orgs.accept_handshake(HandshakeId=invited["Id"])
    assert error(exc)[0] == "InvalidHandshakeTransitionException"
    accepted = invitee.accept_handshake(HandshakeId=invited["Id"])["Handshake"]
    assert accepted["State"] == "ACCEPTED"
    with pytest.raises(ClientError) as exc:
        invitee.accept_handshake(HandshakeId=invited["Id"])
    assert error(exc)[0] == "HandshakeAlreadyInStateException"
    assert invitee.describe_organization()["Organization"]["Id"] == org.org_id
    described = orgs.describe_account(AccountId=account)["Account"]
    assert described["JoinedMethod"] == "INVITED" and described["Status"] == "ACTIVE"
    assert orgs.list_tags_for_resource(ResourceId=account)["Tags"] == [{"Key": "via", "Value": "invite"}]
    policies = orgs.list_policies_for_target(TargetId=account, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    assert [p["Id"] for p in policies] == ["p-FullAWSAccess"]
    with pytest.raises(ClientError) as exc:
        orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})
    assert error(exc)[0] == "HandshakeConstraintViolationException"
    assert exc.value.response["Reason"] == "ALREADY_IN_AN_ORGANIZATION"


def test_scp_binds_the_member_accounts_root(org: Org) -> None:
    """AWS: SCPs apply to the member account's root user too; the management account's root is exempt."""
    orgs = org.client("organizations")
    creds, account = _account(org.server)
    handshake = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})["Handshake"]
    org.server.client("organizations", **creds).accept_handshake(HandshakeId=handshake["Id"])
    deny = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": ["iam:CreateUser", "cognito-idp:ListUserPools"], "Resource": "*"}
            ],
        }
    )
    policy = orgs.create_policy(Content=deny, Description="", Name="NoUsers", Type="SERVICE_CONTROL_POLICY")
    policy_id = policy["Policy"]["PolicySummary"]["Id"]
    orgs.attach_policy(PolicyId=policy_id, TargetId=org.root_id)
    root_iam = org.server.client("iam", **creds)
    with pytest.raises(ClientError) as exc:
        root_iam.create_user(UserName="blocked")
    assert error(exc) == (
        "AccessDenied",
        f"User: arn:aws:iam::{account}:root is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{account}:user/blocked with an explicit deny in a service control policy",
    )
    root_iam.list_users()
    # the root's temporary credentials (GetSessionToken) are bound as well
    session = org.server.client("sts", **creds).get_session_token()["Credentials"]
    pools = org.server.client(
        "cognito-idp",
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
    )
    with pytest.raises(ClientError) as exc:
        pools.list_user_pools(MaxResults=10)
    assert error(exc)[1].endswith("with an explicit deny in a service control policy")
    org.client("cognito-idp").list_user_pools(MaxResults=10)
    org.client("iam").create_user(UserName="mgmt-root-is-exempt")
    # leaving lifts the organization's SCPs
    org.server.client("organizations", **creds).leave_organization()
    root_iam.create_user(UserName="free-again")


def test_decline_cancel_and_strangers(org: Org, server: Server) -> None:
    orgs = org.client("organizations")
    creds, account = _account(org.server)
    invitee = org.server.client("organizations", **creds)
    first = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})["Handshake"]
    assert invitee.decline_handshake(HandshakeId=first["Id"])["Handshake"]["State"] == "DECLINED"
    with pytest.raises(ClientError) as exc:
        invitee.accept_handshake(HandshakeId=first["Id"])
    assert error(exc)[0] == "InvalidHandshakeTransitionException"
    second = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})["Handshake"]
    with pytest.raises(ClientError) as exc:  # the invited account declines; it does not cancel
        invitee.cancel_handshake(HandshakeId=second["Id"])
    assert error(exc)[0] == "InvalidHandshakeTransitionException"
    assert orgs.cancel_handshake(HandshakeId=second["Id"])["Handshake"]["State"] == "CANCELED"
    with pytest.raises(ClientError) as exc:
        invitee.accept_handshake(HandshakeId=second["Id"])
    assert error(exc)[0] == "InvalidHandshakeTransitionException"
    # a third account (another organization's management account) sees none of it
    stranger = new_org(server).client("organizations")
    third = orgs.invite_account_to_organization(Target={"Id": account, "Type": "ACCOUNT"})["Handshake"]
    for call in (stranger.describe_handshake, stranger.accept_handshake, stranger.cancel_handshake):
        with pytest.raises(ClientError) as exc:
            call(HandshakeId=third["Id"])
        assert error(exc)[0] == "HandshakeNotFoundException"
    assert stranger.list_handshakes_for_organization()["Handshakes"] == []
    assert invitee.describe_handshake(HandshakeId=third["Id"])["Handshake"]["State"] == "OPEN"
    # an account already in another organization cannot accept
    other_creds = create_account(server, "taken-" + secrets.token_hex(3))
    other_orgs = server.client("organizations", **other_creds)
    other_orgs.create_organization()
    other_account = server.client("sts", **other_creds).get_caller_identity()["Account"]
    fourth = orgs.invite_account_to_organization(Target={"Id": other_account, "Type": "ACCOUNT"})["Handshake"]
    with pytest.raises(ClientError) as exc:
        other_orgs.accept_handshake(HandshakeId=fourth["Id"])
    assert error(exc)[0] == "HandshakeConstraintViolationException"
    with pytest.raises(ClientError) as exc:
        orgs.invite_account_to_organization(Target={"Id": "someone@example.com", "Type": "EMAIL"})
    assert error(exc)[0] == "InvalidInputException"
