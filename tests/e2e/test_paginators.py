"""boto3's own paginators (botocore's paginator models) over Ostiary's list operations: pages of
one item walk every item exactly once and stop."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore import xform_name

from tests.conftest import Server
from tests.userpools.conftest import PASSWORD, create_confirmed_user, make_pool


def _walk(client: Any, operation: str, key: str, name: str, **params: Any) -> list[str]:
    seen: list[str] = []
    pages = client.get_paginator(xform_name(operation)).paginate(**params, PaginationConfig={"PageSize": 1})
    for page in pages:
        assert len(page[key]) <= 1
        seen += [str(item[name]) for item in page[key]]
    return seen


def test_cognito_idp_paginators(server: Server) -> None:
    idp = server.client("cognito-idp")
    s = make_pool(idp, {"UserPoolAddOns": {"AdvancedSecurityMode": "AUDIT"}})
    for i in range(3):
        idp.create_group(UserPoolId=s.pool_id, GroupName=f"g{i}")
        create_confirmed_user(s, f"u{i}")
        idp.admin_add_user_to_group(UserPoolId=s.pool_id, Username=f"u{i}", GroupName="g0")
        idp.admin_add_user_to_group(UserPoolId=s.pool_id, Username="u0", GroupName=f"g{i}")
        idp.create_user_pool_client(UserPoolId=s.pool_id, ClientName=f"c{i}")
        idp.create_resource_server(UserPoolId=s.pool_id, Identifier=f"https://api{i}.example.com", Name=f"r{i}")
        idp.create_identity_provider(
            UserPoolId=s.pool_id,
            ProviderName=f"Corp{i}",
            ProviderType="OIDC",
            ProviderDetails={
                "client_id": "c",
                "attributes_request_method": "GET",
                "oidc_issuer": "https://idp.example.com",
                "authorize_scopes": "openid",
                "authorize_url": "https://idp.example.com/authorize",
                "token_url": "https://idp.example.com/token",
                "attributes_url": "https://idp.example.com/userinfo",
                "jwks_uri": "https://idp.example.com/jwks",
            },
        )
        idp.initiate_auth(
            ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "u0", "PASSWORD": PASSWORD}
        )
    p = {"UserPoolId": s.pool_id}
    assert sorted(_walk(idp, "ListGroups", "Groups", "GroupName", **p)) == ["g0", "g1", "g2"]
    assert sorted(_walk(idp, "ListUsers", "Users", "Username", **p)) == ["u0", "u1", "u2"]
    assert sorted(_walk(idp, "ListUsersInGroup", "Users", "Username", GroupName="g0", **p)) == ["u0", "u1", "u2"]
    assert sorted(_walk(idp, "AdminListGroupsForUser", "Groups", "GroupName", Username="u0", **p)) == ["g0", "g1", "g2"]
    assert len(_walk(idp, "ListUserPoolClients", "UserPoolClients", "ClientId", **p)) == 4
    assert len(_walk(idp, "ListResourceServers", "ResourceServers", "Identifier", **p)) == 3
    assert sorted(_walk(idp, "ListIdentityProviders", "Providers", "ProviderName", **p)) == ["Corp0", "Corp1", "Corp2"]
    events = _walk(idp, "AdminListUserAuthEvents", "AuthEvents", "EventId", Username="u0", **p)
    assert len(events) == 3 and len(set(events)) == 3
    pools = _walk(idp, "ListUserPools", "UserPools", "Id")
    assert s.pool_id in pools and len(pools) == len(set(pools))


@pytest.mark.parametrize(
    ("operation", "key", "name", "params"),
    [
        ("ListUsers", "Users", "UserName", {}),
        ("ListRoles", "Roles", "RoleName", {}),
        ("ListGroups", "Groups", "GroupName", {}),
        ("ListPolicies", "Policies", "PolicyName", {"Scope": "Local"}),
        ("ListInstanceProfiles", "InstanceProfiles", "InstanceProfileName", {}),
    ],
)
def test_iam_paginators(server: Server, operation: str, key: str, name: str, params: dict[str, Any]) -> None:
    iam = server.client("iam")
    tag = "pg" + secrets.token_hex(3)
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    for i in range(3):
        if operation == "ListUsers":
            iam.create_user(UserName=f"{tag}{i}", Path=f"/{tag}/")
        elif operation == "ListRoles":
            iam.create_role(RoleName=f"{tag}{i}", Path=f"/{tag}/", AssumeRolePolicyDocument=trust)
        elif operation == "ListGroups":
            iam.create_group(GroupName=f"{tag}{i}", Path=f"/{tag}/")
        elif operation == "ListPolicies":
            iam.create_policy(
                PolicyName=f"{tag}{i}",
                Path=f"/{tag}/",
                PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
                ),
            )
        else:
            iam.create_instance_profile(InstanceProfileName=f"{tag}{i}", Path=f"/{tag}/")
    names = _walk(iam, operation, key, name, PathPrefix=f"/{tag}/", **params)
    assert sorted(names) == [f"{tag}{i}" for i in range(3)]
