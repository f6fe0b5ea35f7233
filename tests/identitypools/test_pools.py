"""Identity pool administration through boto3: CRUD, validation, tags, identities listing,
description, deletion and unlinking."""

from __future__ import annotations

import secrets

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.identitypools.conftest import REGION, err, provider_name, wire
from tests.userpools.conftest import make_pool


def test_pool_lifecycle(server: Server) -> None:
    ci = server.client("cognito-identity")
    idp = server.client("cognito-idp")
    users = make_pool(idp)
    provider = provider_name(users.pool_id)
    name = "crud_" + secrets.token_hex(3)
    created = ci.create_identity_pool(
        IdentityPoolName=name,
        AllowUnauthenticatedIdentities=False,
        AllowClassicFlow=True,
        DeveloperProviderName="login.example.com",
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": users.client_id}],
        IdentityPoolTags={"team": "a"},
    )
    pool_id = created["IdentityPoolId"]
    assert pool_id.startswith(f"{REGION}:") and len(pool_id) == len(REGION) + 37
    assert created["IdentityPoolName"] == name
    assert created["AllowUnauthenticatedIdentities"] is False and created["AllowClassicFlow"] is True
    assert created["CognitoIdentityProviders"] == [
        {"ProviderName": provider, "ClientId": users.client_id, "ServerSideTokenCheck": False}
    ]
    assert created["IdentityPoolTags"] == {"team": "a"}
    assert created["SupportedLoginProviders"] == {} and created["OpenIdConnectProviderARNs"] == []
    described = ci.describe_identity_pool(IdentityPoolId=pool_id)
    assert {k: v for k, v in described.items() if k != "ResponseMetadata"} == {
        k: v for k, v in created.items() if k != "ResponseMetadata"
    }

    updated = ci.update_identity_pool(
        IdentityPoolId=pool_id,
        IdentityPoolName=name + "2",
        AllowUnauthenticatedIdentities=True,
        SupportedLoginProviders={"accounts.google.com": "client.apps.googleusercontent.com"},
    )
    assert updated["IdentityPoolName"] == name + "2" and updated["AllowUnauthenticatedIdentities"] is True
    assert updated["CognitoIdentityProviders"] == [] and updated["AllowClassicFlow"] is False
    assert updated["DeveloperProviderName"] == "login.example.com"  # once set, it stays
    assert updated["IdentityPoolTags"] == {"team": "a"}
    with pytest.raises(ClientError) as exc:
        ci.update_identity_pool(
            IdentityPoolId=pool_id,
            IdentityPoolName=name,
            AllowUnauthenticatedIdentities=True,
            DeveloperProviderName="other.example.com",
        )
    assert err(exc)[0] == "InvalidParameterException"

    arn = f"arn:aws:cognito-identity:{REGION}:{ACCOUNT_ID}:identitypool/{pool_id}"
    ci.tag_resource(ResourceArn=arn, Tags={"env": "dev"})
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "a", "env": "dev"}
    ci.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert ci.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"env": "dev"}
    with pytest.raises(ClientError) as exc:
        ci.list_tags_for_resource(
            ResourceArn=arn.replace(pool_id, "us-east-1:" + "0" * 8 + "-0000-0000-0000-" + "0" * 12)
        )
    assert err(exc)[0] == "ResourceNotFoundException"

    ci.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        ci.describe_identity_pool(IdentityPoolId=pool_id)
    assert err(exc) == ("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")
    with pytest.raises(ClientError) as exc:
        ci.delete_identity_pool(IdentityPoolId=pool_id)
    assert err(exc)[0] == "ResourceNotFoundException"


def test_list_identity_pools_pages(server: Server) -> None:
    ci = server.client("cognito-identity")
    mine = {
        ci.create_identity_pool(IdentityPoolName=f"page_{i}", AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
        for i in range(3)
    }
    seen: list[str] = []
    token = None
    while True:
        kw = {"NextToken": token} if token else {}
        page = ci.list_identity_pools(MaxResults=2, **kw)
        assert len(page["IdentityPools"]) <= 2
        seen += [p["IdentityPoolId"] for p in page["IdentityPools"]]
        token = page.get("NextToken")
        if not token:
            break
    assert mine <= set(seen) and len(seen) == len(set(seen))
    paginated = [
        p["IdentityPoolId"]
        for pg in ci.get_paginator("list_identity_pools").paginate(MaxResults=1)
        for p in pg["IdentityPools"]
    ]
    assert paginated == seen


def test_validation_errors(server: Server) -> None:
    ci = server.client("cognito-identity")
    with pytest.raises(ClientError) as exc:
        ci.create_identity_pool(IdentityPoolName="bad!name", AllowUnauthenticatedIdentities=True)
    assert err(exc)[0] == "ValidationException"  # the model's pattern (tests/identitypools/test_validation.py)
    with pytest.raises(ClientError) as exc:
        ci.create_identity_pool(
            IdentityPoolName="p", AllowUnauthenticatedIdentities=True, SupportedLoginProviders={"example.com": "x"}
        )
    assert err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ci.create_identity_pool(
            IdentityPoolName="p",
            AllowUnauthenticatedIdentities=True,
            CognitoIdentityProviders=[{"ProviderName": "not-a-user-pool", "ClientId": "abc"}],
        )
    assert err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ci.create_identity_pool(
            IdentityPoolName="p",
            AllowUnauthenticatedIdentities=True,
            OpenIdConnectProviderARNs=[f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/nowhere.example.com"],
        )
    assert err(exc)[0] == "InvalidParameterException"
    pool_id = ci.create_identity_pool(IdentityPoolName="roles", AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    with pytest.raises(ClientError) as exc:
        ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"authenticated": "arn:aws:s3:::not-a-role-arn"})
    assert err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ci.set_identity_pool_roles(IdentityPoolId=pool_id, Roles={"admin": f"arn:aws:iam::{ACCOUNT_ID}:role/x"})
    assert err(exc)[0] == "ValidationException"  # the model's pattern of the map's keys
    with pytest.raises(ClientError) as exc:
        ci.list_identities(IdentityPoolId=pool_id, MaxResults=61)
    assert err(exc)[0] == "ValidationException"  # the model's range
    with pytest.raises(ClientError) as exc:
        ci.get_principal_tag_attribute_map(IdentityPoolId=pool_id, IdentityProviderName="accounts.google.com")
    assert err(exc)[0] == "ResourceNotFoundException"
    assert ci.get_identity_pool_roles(IdentityPoolId=pool_id)["Roles"] == {}


def test_identities_list_describe_unlink_delete(server: Server) -> None:
    w = wire(server)
    _, tokens = w.user()
    authenticated = w.identity_for(tokens["IdToken"])
    guests = [w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"] for _ in range(2)]
    listed = w.ci.list_identities(IdentityPoolId=w.pool_id, MaxResults=2)
    assert listed["IdentityPoolId"] == w.pool_id and len(listed["Identities"]) == 2 and "NextToken" in listed
    rest = w.ci.list_identities(IdentityPoolId=w.pool_id, MaxResults=60, NextToken=listed["NextToken"])
    everyone = {i["IdentityId"]: i for i in listed["Identities"] + rest["Identities"]}
    assert set(everyone) == {authenticated, *guests}
    assert everyone[authenticated]["Logins"] == [w.provider] and "Logins" not in everyone[guests[0]]
    described = w.ci.describe_identity(IdentityId=authenticated)
    assert described["CreationDate"] <= described["LastModifiedDate"]

    # UnlinkIdentity (unsigned) needs a login of the identity; the last login gone, the identity is disabled
    with pytest.raises(ClientError) as exc:
        w.anon.unlink_identity(IdentityId=authenticated, Logins={}, LoginsToRemove=[w.provider])
    assert err(exc)[0] == "NotAuthorizedException"
    w.anon.unlink_identity(
        IdentityId=authenticated, Logins={w.provider: tokens["IdToken"]}, LoginsToRemove=[w.provider]
    )
    assert "Logins" not in w.ci.describe_identity(IdentityId=authenticated)
    visible = w.ci.list_identities(IdentityPoolId=w.pool_id, MaxResults=60, HideDisabled=True)["Identities"]
    assert authenticated not in {i["IdentityId"] for i in visible}
    # the login is free again: it gets a new identity
    assert w.identity_for(tokens["IdToken"]) != authenticated

    result = w.ci.delete_identities(IdentityIdsToDelete=guests)
    assert result["UnprocessedIdentityIds"] == []
    with pytest.raises(ClientError) as exc:
        w.ci.describe_identity(IdentityId=guests[0])
    assert err(exc) == ("ResourceNotFoundException", f"Identity '{guests[0]}' not found.")


def test_get_id_sees_a_change_made_through_the_same_process_at_once(server: Server) -> None:
    """GetId keeps pools 2 s per process (cache_pool_seconds); a write through the process drops them:
    guests turned off are refused on the very next call, a deleted pool is gone at once."""
    ci = server.client("cognito-identity")
    anon = ci  # GetId takes signed calls too
    name = "cache_" + secrets.token_hex(3)
    pool_id = ci.create_identity_pool(IdentityPoolName=name, AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    assert anon.get_id(IdentityPoolId=pool_id)["IdentityId"]  # now kept by this process
    ci.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName=name, AllowUnauthenticatedIdentities=False)
    with pytest.raises(ClientError) as off:
        anon.get_id(IdentityPoolId=pool_id)
    assert err(off)[0] == "NotAuthorizedException"
    ci.update_identity_pool(IdentityPoolId=pool_id, IdentityPoolName=name, AllowUnauthenticatedIdentities=True)
    assert anon.get_id(IdentityPoolId=pool_id)["IdentityId"]
    ci.delete_identity_pool(IdentityPoolId=pool_id)
    with pytest.raises(ClientError) as gone:
        anon.get_id(IdentityPoolId=pool_id)
    assert err(gone)[0] == "ResourceNotFoundException"
