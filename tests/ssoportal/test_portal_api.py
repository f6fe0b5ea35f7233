"""The portal API through boto3's ``sso`` client (bearer token in ``x-amz-sso_bearer_token``):
ListAccounts, ListAccountRoles, GetRoleCredentials (the provisioned role's credentials, enforced by the
policy engine), Logout; a token of another instance's user, a revoked or forged token."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.ssooidc import tokens
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_group, add_user
from tests.ssooidc.helpers import ACCOUNT_ACCESS, code_of, device_tokens, now

ROLES_READ = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}
)


def _assign(inst: Instance, name: str, principal_type: str, principal_id: str, **extra: Any) -> str:
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name=name, **extra)["PermissionSet"][
        "PermissionSetArn"
    ]
    admin.put_inline_policy_to_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps, InlinePolicy=ROLES_READ
    )
    status = admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId=inst.account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType=principal_type,
        PrincipalId=principal_id,
    )["AccountAssignmentCreationStatus"]
    assert status["Status"] == "SUCCEEDED", status
    return str(ps)


@pytest.fixture(scope="module")
def world(server: Server) -> dict[str, Any]:
    """An instance of its own whose user ``alice`` has two permission sets (one through a group)."""
    inst = new_instance(server, "portal-api")
    alice = add_user(inst, "alice.smith@example.com")
    team = add_group(inst, "team", [alice])
    _assign(inst, "ReadRoles", "USER", alice, SessionDuration="PT2H")
    _assign(inst, "Auditor", "GROUP", team)
    return {"inst": inst, "alice": alice}


def _token(oidc: Any, server: Server, inst: Instance, store: Store, user_id: str) -> str:
    _, got = device_tokens(oidc, server, inst, store, user_id, scopes=[ACCOUNT_ACCESS])
    return str(got["accessToken"])


def test_accounts_roles_and_credentials(oidc: Any, server: Server, store: Store, world: dict[str, Any]) -> None:
    inst: Instance = world["inst"]
    sso = server.client("sso")
    token = _token(oidc, server, inst, store, world["alice"])
    accounts = sso.list_accounts(accessToken=token)["accountList"]
    assert [a["accountId"] for a in accounts] == [inst.account_id]
    assert accounts[0]["accountName"]
    roles = sso.list_account_roles(accessToken=token, accountId=inst.account_id)["roleList"]
    assert roles == [
        {"roleName": "Auditor", "accountId": inst.account_id},
        {"roleName": "ReadRoles", "accountId": inst.account_id},
    ]
    first = sso.list_account_roles(accessToken=token, accountId=inst.account_id, maxResults=1)
    assert [r["roleName"] for r in first["roleList"]] == ["Auditor"] and first["nextToken"]
    rest = sso.list_account_roles(
        accessToken=token, accountId=inst.account_id, maxResults=1, nextToken=first["nextToken"]
    )
    assert [r["roleName"] for r in rest["roleList"]] == ["ReadRoles"] and "nextToken" not in rest
    assert sso.list_account_roles(accessToken=token, accountId="999999999999")["roleList"] == []

    before = time.time()
    creds = sso.get_role_credentials(accessToken=token, accountId=inst.account_id, roleName="ReadRoles")[
        "roleCredentials"
    ]
    assert creds["accessKeyId"].startswith("ASIA")
    # epoch milliseconds, the permission set's two hours
    assert before * 1000 + 2 * 3600 * 1000 - 5000 <= creds["expiration"] <= time.time() * 1000 + 2 * 3600 * 1000 + 1000
    keys = {
        "aws_access_key_id": creds["accessKeyId"],
        "aws_secret_access_key": creds["secretAccessKey"],
        "aws_session_token": creds["sessionToken"],
    }
    who = server.client("sts", **keys).get_caller_identity()
    assert who["Account"] == inst.account_id
    assert who["Arn"].startswith(f"arn:aws:sts::{inst.account_id}:assumed-role/AWSReservedSSO_ReadRoles_")
    assert who["Arn"].endswith("/alice.smith@example.com")
    iam = server.client("iam", **keys)
    iam.list_roles()  # the permission set allows it
    with pytest.raises(ClientError) as err:  # and nothing else
        iam.list_users()
    assert code_of(err.value) == "AccessDenied"

    for kwargs in ({"roleName": "NotMine"}, {"roleName": "ReadRoles", "accountId": "999999999999"}):
        args = {"accessToken": token, "accountId": inst.account_id, **kwargs}
        with pytest.raises(ClientError) as err:
            sso.get_role_credentials(**args)
        assert code_of(err.value) == "ResourceNotFoundException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404

    # both are CloudTrail events of the instance owner's account, named by the user, without secrets
    trail = inst.client("cloudtrail")
    events = {}
    for name in ("CreateToken", "GetRoleCredentials"):
        found = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
        events[name] = [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]
    issued = [e for e in events["GetRoleCredentials"] if creds["accessKeyId"] in json.dumps(e)]
    assert len(issued) == 1 and issued[0]["eventSource"] == "sso.amazonaws.com"
    assert creds["secretAccessKey"] not in json.dumps(events) and creds["sessionToken"] not in json.dumps(events)
    signed_in = [e for e in events["CreateToken"] if world["alice"] in json.dumps(e)]
    assert signed_in and signed_in[0]["eventSource"] == "sso-oauth.amazonaws.com"
    assert token not in json.dumps(events)


def test_unauthorized_tokens_and_logout(oidc: Any, server: Server, store: Store, world: dict[str, Any]) -> None:
    inst: Instance = world["inst"]
    sso = server.client("sso")
    for bad in ("", "aoa" + "x" * 40, "y" * 5000):
        with pytest.raises(ClientError) as err:
            sso.list_accounts(accessToken=bad)
        assert code_of(err.value) in ("UnauthorizedException", "ValidationException", "InvalidRequestException")
        if bad:
            assert code_of(err.value) == "UnauthorizedException"
            assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 401
    # a token without the sso:account:access scope is refused; a legacy client's (it registered no
    # scopes at all) reaches the portal API, as AWS's did
    _, openid_only = device_tokens(oidc, server, inst, store, world["alice"], scopes=["openid"])
    with pytest.raises(ClientError) as err:
        sso.list_accounts(accessToken=openid_only["accessToken"])
    assert code_of(err.value) == "UnauthorizedException"
    _, legacy = device_tokens(oidc, server, inst, store, world["alice"])
    assert sso.list_accounts(accessToken=legacy["accessToken"])["accountList"]
    # Logout ends the session: its access token and its refresh token
    client, got = device_tokens(oidc, server, inst, store, world["alice"], scopes=[ACCOUNT_ACCESS])
    assert sso.list_accounts(accessToken=got["accessToken"])["accountList"]
    sso.logout(accessToken=got["accessToken"])
    with pytest.raises(ClientError) as err:
        sso.list_accounts(accessToken=got["accessToken"])
    assert code_of(err.value) == "UnauthorizedException"
    with pytest.raises(ClientError) as err:
        sso.logout(accessToken=got["accessToken"])
    assert code_of(err.value) == "UnauthorizedException"
    with pytest.raises(ClientError) as err:
        oidc.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=got["refreshToken"],
        )
    assert code_of(err.value) == "InvalidGrantException"


def test_portal_session_token_and_other_instance(
    oidc: Any, server: Server, store: Store, world: dict[str, Any]
) -> None:
    inst: Instance = world["inst"]
    sso = server.client("sso")
    # the web portal's session token works the same (the portal calls these operations with it)
    with store.tx() as conn:
        web, _ = tokens.mint_session(conn, inst.identity_store_id, world["alice"], now())
    assert [a["accountId"] for a in sso.list_accounts(accessToken=web)["accountList"]] == [inst.account_id]
    # a user of another instance sees only that instance's assignments, and cannot get this one's roles
    other = new_instance(server, "portal-other")
    mallory = add_user(other, "mallory")
    token = _token(oidc, server, other, store, mallory)
    assert sso.list_accounts(accessToken=token)["accountList"] == []
    with pytest.raises(ClientError) as err:
        sso.get_role_credentials(accessToken=token, accountId=inst.account_id, roleName="ReadRoles")
    assert code_of(err.value) == "ResourceNotFoundException"
    # a user disabled since the token was issued is refused (and allowed again once enabled)
    carol = add_user(inst, "carol")
    carol_token = _token(oidc, server, inst, store, carol)
    ids = inst.client("identitystore")

    def status(value: str) -> None:
        ids.update_user(
            IdentityStoreId=inst.identity_store_id,
            UserId=carol,
            Operations=[{"AttributePath": "userStatus", "AttributeValue": value}],
        )

    status("DISABLED")
    with pytest.raises(ClientError) as err:
        sso.list_accounts(accessToken=carol_token)
    assert code_of(err.value) == "UnauthorizedException"
    status("ENABLED")
    assert sso.list_accounts(accessToken=carol_token)["accountList"] == []
    # a user deleted since the token was issued is signed out
    bob = add_user(inst, "bob")
    bob_token = _token(oidc, server, inst, store, bob)
    inst.client("identitystore").delete_user(IdentityStoreId=inst.identity_store_id, UserId=bob)
    with pytest.raises(ClientError) as err:
        sso.list_accounts(accessToken=bob_token)
    assert code_of(err.value) == "UnauthorizedException"
