"""The foundation slice through boto3: pools, app clients, custom attributes, MFA config, tags."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION, Server, every_item, make_client


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_describe_defaults(idp: Any, pool: dict[str, Any]) -> None:
    assert re.fullmatch(rf"{REGION}_[0-9a-zA-Z]{{9}}", pool["Id"])
    assert pool["Arn"] == f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/{pool['Id']}"
    described = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    assert described["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 8,
        "RequireUppercase": True,
        "RequireLowercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
        "TemporaryPasswordValidityDays": 7,
    }
    assert described["MfaConfiguration"] == "OFF"
    assert described["DeletionProtection"] == "INACTIVE"
    assert described["EstimatedNumberOfUsers"] == 0
    assert described["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7}
    assert described["VerificationMessageTemplate"] == {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
    assert described["EmailConfiguration"] == {"EmailSendingAccount": "COGNITO_DEFAULT"}
    assert described["UserPoolTier"] == "ESSENTIALS"
    names = [a["Name"] for a in described["SchemaAttributes"]]
    assert names[:3] == ["sub", "name", "given_name"] and "email_verified" in names and "updated_at" in names
    sub = described["SchemaAttributes"][0]
    assert sub == {
        "Name": "sub",
        "AttributeDataType": "String",
        "DeveloperOnlyAttribute": False,
        "Mutable": False,
        "Required": True,
        "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "2048"},
    }
    assert described["CreationDate"] == described["LastModifiedDate"]


def test_schema_custom_attributes_and_add(idp: Any) -> None:
    created = idp.create_user_pool(
        PoolName="schema",
        Schema=[
            {"Name": "email", "Required": True, "Mutable": True},
            {
                "Name": "tenant",
                "AttributeDataType": "String",
                "Mutable": False,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
            },
            {"Name": "level", "AttributeDataType": "Number", "DeveloperOnlyAttribute": True},
        ],
    )["UserPool"]
    attrs = {a["Name"]: a for a in created["SchemaAttributes"]}
    assert attrs["email"]["Required"] is True
    assert attrs["custom:tenant"]["Mutable"] is False
    assert attrs["dev:custom:level"]["DeveloperOnlyAttribute"] is True
    idp.add_custom_attributes(
        UserPoolId=created["Id"], CustomAttributes=[{"Name": "plan", "AttributeDataType": "String"}]
    )
    names = [a["Name"] for a in idp.describe_user_pool(UserPoolId=created["Id"])["UserPool"]["SchemaAttributes"]]
    assert "custom:plan" in names
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(
            UserPoolId=created["Id"], CustomAttributes=[{"Name": "plan", "AttributeDataType": "String"}]
        )
    assert _code(exc) == "InvalidParameterException"
    assert "custom:plan" in exc.value.response["Error"]["Message"]
    idp.delete_user_pool(UserPoolId=created["Id"])


def test_invalid_pool_settings_change_nothing(idp: Any) -> None:
    before = len(every_item(idp, "list_user_pools", "UserPools", MaxResults=60))
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName="bad", UsernameAttributes=["email"], AliasAttributes=["phone_number"])
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName="bad", MfaConfiguration="ON")
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName="bad", Schema=[{"Name": "sub", "Mutable": True}])
    assert _code(exc) == "InvalidParameterException"
    assert len(every_item(idp, "list_user_pools", "UserPools", MaxResults=60)) == before


def test_update_resets_omitted_settings(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    idp.update_user_pool(
        UserPoolId=pid,
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": False}},
        DeletionProtection="ACTIVE",
        EmailVerificationSubject="Welcome",
    )
    d = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert d["AutoVerifiedAttributes"] == ["email"]
    assert d["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    assert d["VerificationMessageTemplate"]["EmailSubject"] == "Welcome"
    assert d["EmailVerificationSubject"] == "Welcome"
    assert d["LastModifiedDate"] >= d["CreationDate"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool(UserPoolId=pid)
    assert _code(exc) == "InvalidParameterException"
    idp.update_user_pool(UserPoolId=pid)  # everything omitted returns to its default
    d = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert "AutoVerifiedAttributes" not in d
    assert d["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert d["DeletionProtection"] == "INACTIVE"


def test_list_user_pools_paginates(idp: Any) -> None:
    ids = [idp.create_user_pool(PoolName=f"page-{i}")["UserPool"]["Id"] for i in range(5)]
    seen: list[str] = []
    listed: dict[str, Any] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = idp.list_user_pools(**kwargs)
        assert len(page["UserPools"]) <= 2
        seen += [p["Id"] for p in page["UserPools"]]
        listed.update((p["Id"], p) for p in page["UserPools"])
        token = page.get("NextToken")
        if not token:
            break
    assert set(ids) <= set(seen) and len(seen) == len(set(seen))
    # the shared test server holds other suites' pools: read the entry from the walk, not one page of 60
    assert set(listed[ids[0]]) >= {"Id", "Name", "LambdaConfig", "CreationDate", "LastModifiedDate"}
    paginator = idp.get_paginator("list_user_pools")
    through_paginator = [p["Id"] for page in paginator.paginate(MaxResults=2) for p in page["UserPools"]]
    assert set(ids) <= set(through_paginator)
    with pytest.raises(ClientError) as exc:
        idp.list_user_pools(MaxResults=2, NextToken="not-a-token")
    assert _code(exc) == "InvalidParameterException"
    for pid in ids:
        idp.delete_user_pool(UserPoolId=pid)


def test_pool_not_found_and_isolation(server: Server, idp: Any, pool: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=f"{REGION}_doesNotEx")
    assert _code(exc) == "ResourceNotFoundException"
    other_region = make_client(server.url, "cognito-idp", region_name="eu-west-1")
    with pytest.raises(ClientError) as exc:
        other_region.describe_user_pool(UserPoolId=pool["Id"])
    assert _code(exc) == "ResourceNotFoundException"
    assert pool["Id"] not in [p["Id"] for p in every_item(other_region, "list_user_pools", "UserPools", MaxResults=60)]


def test_client_defaults_and_secret(idp: Any, pool: dict[str, Any]) -> None:
    c = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="web")["UserPoolClient"]
    assert re.fullmatch(r"[a-z0-9]{26}", c["ClientId"])
    assert "ClientSecret" not in c
    assert c["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH"]
    assert (c["AccessTokenValidity"], c["IdTokenValidity"], c["RefreshTokenValidity"]) == (60, 60, 30)
    assert c["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "days"}
    assert c["AllowedOAuthFlowsUserPoolClient"] is False
    assert c["EnableTokenRevocation"] is True
    assert c["AuthSessionValidity"] == 3
    assert c["PreventUserExistenceErrors"] == "LEGACY"  # the API default ("Defaults to LEGACY")
    s = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="backend", GenerateSecret=True)["UserPoolClient"]
    assert len(s["ClientSecret"]) >= 40
    again = idp.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=s["ClientId"])["UserPoolClient"]
    assert again["ClientSecret"] == s["ClientSecret"]


def test_client_validation(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    bad: list[dict[str, Any]] = [
        {"AccessTokenValidity": 2, "TokenValidityUnits": {"AccessToken": "days"}},
        {"RefreshTokenValidity": 30, "TokenValidityUnits": {"RefreshToken": "minutes"}},
        {"ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "USER_PASSWORD_AUTH"]},
        {"AllowedOAuthFlowsUserPoolClient": True, "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": ["openid"]},
        {
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["client_credentials"],
            "AllowedOAuthScopes": ["api/read"],
        },
        {"CallbackURLs": ["http://example.com/cb"]},
        {"ReadAttributes": ["custom:nope"]},
        {"SupportedIdentityProviders": ["Google"]},
    ]
    codes = set()
    for extra in bad:
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=pid, ClientName="bad", **extra)
        codes.add(_code(exc))
    assert codes <= {"InvalidParameterException", "InvalidOAuthFlowException", "ScopeDoesNotExistException"}
    assert idp.list_user_pool_clients(UserPoolId=pid, MaxResults=60)["UserPoolClients"] == []
    ok = idp.create_user_pool_client(
        UserPoolId=pid,
        ClientName="oauth",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"],
        CallbackURLs=["https://app.example.com/cb", "http://localhost:3000/cb", "myapp://cb"],
        DefaultRedirectURI="https://app.example.com/cb",
        SupportedIdentityProviders=["COGNITO"],
    )["UserPoolClient"]
    assert ok["AllowedOAuthFlows"] == ["code"]


def test_client_update_list_delete(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    ids = [
        idp.create_user_pool_client(UserPoolId=pid, ClientName=f"c{i}")["UserPoolClient"]["ClientId"] for i in range(3)
    ]
    updated = idp.update_user_pool_client(
        UserPoolId=pid,
        ClientId=ids[0],
        ClientName="renamed",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=2,
    )["UserPoolClient"]
    assert updated["ClientName"] == "renamed"
    assert updated["AccessTokenValidity"] == 2 and updated["TokenValidityUnits"]["AccessToken"] == "hours"
    page1 = idp.list_user_pool_clients(UserPoolId=pid, MaxResults=2)
    assert len(page1["UserPoolClients"]) == 2 and page1["NextToken"]
    page2 = idp.list_user_pool_clients(UserPoolId=pid, MaxResults=2, NextToken=page1["NextToken"])
    listed = {c["ClientId"] for c in page1["UserPoolClients"] + page2["UserPoolClients"]}
    assert listed == set(ids)
    assert set(page1["UserPoolClients"][0]) == {"ClientId", "UserPoolId", "ClientName"}
    idp.delete_user_pool_client(UserPoolId=pid, ClientId=ids[1])
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool_client(UserPoolId=pid, ClientId=ids[1])
    assert _code(exc) == "ResourceNotFoundException"


def test_mfa_config(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    assert idp.get_user_pool_mfa_config(UserPoolId=pid)["MfaConfiguration"] == "OFF"
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=pid, MfaConfiguration="ON")
    assert _code(exc) == "InvalidParameterException"
    out = idp.set_user_pool_mfa_config(
        UserPoolId=pid, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL"
    )
    assert out["MfaConfiguration"] == "OPTIONAL" and out["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    got = idp.get_user_pool_mfa_config(UserPoolId=pid)
    assert got["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    assert idp.describe_user_pool(UserPoolId=pid)["UserPool"]["MfaConfiguration"] == "OPTIONAL"


def test_tags(idp: Any) -> None:
    created = idp.create_user_pool(PoolName="tagged", UserPoolTags={"team": "a"})["UserPool"]
    arn = created["Arn"]
    assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "a"}
    idp.tag_resource(ResourceArn=arn, Tags={"env": "dev", "team": "b"})
    assert idp.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "b", "env": "dev"}
    idp.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert idp.describe_user_pool(UserPoolId=created["Id"])["UserPool"]["UserPoolTags"] == {"env": "dev"}
    with pytest.raises(ClientError) as exc:
        idp.list_tags_for_resource(ResourceArn=arn.replace(created["Id"], f"{REGION}_missing00"))
    assert _code(exc) == "ResourceNotFoundException"
    idp.delete_user_pool(UserPoolId=created["Id"])
    with pytest.raises(ClientError):
        idp.list_tags_for_resource(ResourceArn=arn)


def test_restart_keeps_everything(server_factory: Any) -> None:
    srv = server_factory()
    idp = srv.client("cognito-idp")
    p = idp.create_user_pool(PoolName="durable", UserPoolTags={"k": "v"})["UserPool"]
    c = idp.create_user_pool_client(UserPoolId=p["Id"], ClientName="app", GenerateSecret=True)["UserPoolClient"]
    srv.restart()
    idp = srv.client("cognito-idp")
    again = idp.describe_user_pool(UserPoolId=p["Id"])["UserPool"]
    assert again["Name"] == "durable" and again["UserPoolTags"] == {"k": "v"}
    client = idp.describe_user_pool_client(UserPoolId=p["Id"], ClientId=c["ClientId"])["UserPoolClient"]
    assert client["ClientSecret"] == c["ClientSecret"]
