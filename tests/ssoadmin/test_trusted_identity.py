"""sso-admin's trusted identity propagation through boto3: applications' session configuration, access
scopes, IAM authentication methods (the ActorPolicy, checked by IAM's grammar), grants, and trusted
token issuers (with tags); another account's resources are not found."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance

CUSTOM_OAUTH = "arn:aws:sso::aws:applicationProvider/custom"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


# another account's resource: the ARN names its account, so the caller's own policies refuse it first
# (AccessDenied), else the operation does not find it
FOREIGN = ("AccessDeniedException", "ResourceNotFoundException")


@pytest.fixture(scope="module")
def tip(server: Server) -> Instance:
    return new_instance(server, "tip")


def _app(inst: Instance, name: str | None = None) -> str:
    return str(
        inst.client("sso-admin").create_application(
            InstanceArn=inst.instance_arn,
            ApplicationProviderArn=CUSTOM_OAUTH,
            Name=name or "app-" + secrets.token_hex(3),
        )["ApplicationArn"]
    )


def _issuer(inst: Instance, url: str | None = None, **kwargs: Any) -> str:
    return str(
        inst.client("sso-admin").create_trusted_token_issuer(
            InstanceArn=inst.instance_arn,
            Name=kwargs.pop("Name", "tti-" + secrets.token_hex(3)),
            TrustedTokenIssuerType="OIDC_JWT",
            TrustedTokenIssuerConfiguration={
                "OidcJwtConfiguration": {
                    "IssuerUrl": url or f"https://idp-{secrets.token_hex(3)}.example.com",
                    "ClaimAttributePath": "email",
                    "IdentityStoreAttributePath": "emails.value",
                    "JwksRetrievalOption": "OPEN_ID_DISCOVERY",
                }
            },
            **kwargs,
        )["TrustedTokenIssuerArn"]
    )


def test_oauth_provider_listed(tip: Instance) -> None:
    admin = tip.client("sso-admin")
    described = admin.describe_application_provider(ApplicationProviderArn=CUSTOM_OAUTH)
    assert described["FederationProtocol"] == "OAUTH"
    app = _app(tip)
    assert admin.describe_application(ApplicationArn=app)["ApplicationProviderArn"] == CUSTOM_OAUTH


def test_session_configuration(server: Server, tip: Instance) -> None:
    admin = tip.client("sso-admin")
    app = _app(tip)
    get = admin.get_application_session_configuration
    assert get(ApplicationArn=app)["UserBackgroundSessionApplicationStatus"] == "DISABLED"
    admin.put_application_session_configuration(ApplicationArn=app, UserBackgroundSessionApplicationStatus="ENABLED")
    assert get(ApplicationArn=app)["UserBackgroundSessionApplicationStatus"] == "ENABLED"
    admin.put_application_session_configuration(ApplicationArn=app)  # nothing to change
    assert get(ApplicationArn=app)["UserBackgroundSessionApplicationStatus"] == "ENABLED"
    admin.put_application_session_configuration(ApplicationArn=app, UserBackgroundSessionApplicationStatus="DISABLED")
    assert get(ApplicationArn=app)["UserBackgroundSessionApplicationStatus"] == "DISABLED"
    other = new_instance(server).client("sso-admin")
    with pytest.raises(ClientError) as err:
        other.get_application_session_configuration(ApplicationArn=app)
    assert _code(err) in FOREIGN


def test_access_scopes(server: Server, tip: Instance) -> None:
    admin = tip.client("sso-admin")
    app, target = _app(tip), _app(tip)
    admin.put_application_access_scope(ApplicationArn=app, Scope="redshift:connect", AuthorizedTargets=[target])
    admin.put_application_access_scope(ApplicationArn=app, Scope="sso:account:access")
    admin.put_application_access_scope(ApplicationArn=app, Scope="s3:access:read_write", AuthorizedTargets=[target])
    got = admin.get_application_access_scope(ApplicationArn=app, Scope="redshift:connect")
    assert got == {**got, "Scope": "redshift:connect", "AuthorizedTargets": [target]}
    assert "AuthorizedTargets" not in admin.get_application_access_scope(ApplicationArn=app, Scope="sso:account:access")
    pages = admin.get_paginator("list_application_access_scopes").paginate(
        ApplicationArn=app, PaginationConfig={"PageSize": 1}
    )
    listed = [s["Scope"] for page in pages for s in page["Scopes"]]
    assert listed == ["redshift:connect", "s3:access:read_write", "sso:account:access"]
    # put again replaces the targets
    admin.put_application_access_scope(ApplicationArn=app, Scope="redshift:connect", AuthorizedTargets=[app, target])
    assert admin.get_application_access_scope(ApplicationArn=app, Scope="redshift:connect")["AuthorizedTargets"] == [
        app,
        target,
    ]

    # a target must be an application of the same instance
    foreign = _app(new_instance(server))
    with pytest.raises(ClientError) as err:
        admin.put_application_access_scope(ApplicationArn=app, Scope="qapps:access", AuthorizedTargets=[foreign])
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        admin.put_application_access_scope(ApplicationArn=foreign, Scope="qapps:access")
    assert _code(err) in FOREIGN

    admin.delete_application_access_scope(ApplicationArn=app, Scope="redshift:connect")
    for call in (admin.get_application_access_scope, admin.delete_application_access_scope):
        with pytest.raises(ClientError) as err:
            call(ApplicationArn=app, Scope="redshift:connect")
        assert _code(err) == "ResourceNotFoundException"


def _actor_policy(principal: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "sso-oauth:CreateTokenWithIAM",
                "Resource": "*",
            }
        ],
    }


def test_authentication_methods(server: Server, tip: Instance) -> None:
    admin = tip.client("sso-admin")
    app = _app(tip)
    assert admin.list_application_authentication_methods(ApplicationArn=app)["AuthenticationMethods"] == []
    with pytest.raises(ClientError) as err:
        admin.get_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    assert _code(err) == "ResourceNotFoundException"
    document = _actor_policy(f"arn:aws:iam::{tip.account_id}:role/Broker")
    admin.put_application_authentication_method(
        ApplicationArn=app, AuthenticationMethodType="IAM", AuthenticationMethod={"Iam": {"ActorPolicy": document}}
    )
    got = admin.get_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    assert got["AuthenticationMethod"]["Iam"]["ActorPolicy"] == document
    [item] = admin.list_application_authentication_methods(ApplicationArn=app)["AuthenticationMethods"]
    assert item["AuthenticationMethodType"] == "IAM" and item["AuthenticationMethod"]["Iam"]["ActorPolicy"] == document

    bad: list[Any] = [
        {"Version": "2012-10-17", "Statement": [{**document["Statement"][0], "Principal": None}]},
        {
            "Version": "2012-10-17",
            "Statement": [{k: v for k, v in document["Statement"][0].items() if k != "Principal"}],
        },
        {"Version": "2012-10-17", "Statement": [{**document["Statement"][0], "Action": "sso oauth:Create"}]},
        {"Version": "2012-10-17", "Statement": [{**document["Statement"][0], "Effect": "Perhaps"}]},
        {"Version": "2012-10-17", "Statement": [{**document["Statement"][0], "Condition": {"NoSuchOp": {"a": "b"}}}]},
    ]
    for doc in bad:
        with pytest.raises(ClientError) as err:
            admin.put_application_authentication_method(
                ApplicationArn=app, AuthenticationMethodType="IAM", AuthenticationMethod={"Iam": {"ActorPolicy": doc}}
            )
        assert _code(err) == "ValidationException", json.dumps(doc)
    # the stored policy is untouched by the refused ones
    got = admin.get_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    assert got["AuthenticationMethod"]["Iam"]["ActorPolicy"] == document

    other = new_instance(server).client("sso-admin")
    with pytest.raises(ClientError) as err:
        other.get_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    assert _code(err) in FOREIGN
    admin.delete_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    with pytest.raises(ClientError) as err:
        admin.delete_application_authentication_method(ApplicationArn=app, AuthenticationMethodType="IAM")
    assert _code(err) == "ResourceNotFoundException"


def test_grants(server: Server, tip: Instance) -> None:
    admin = tip.client("sso-admin")
    app = _app(tip)
    issuer = _issuer(tip)
    grants: dict[str, Any] = {
        "authorization_code": {
            "AuthorizationCode": {"RedirectUris": ["https://app.example.com/cb", "http://127.0.0.1:8400/cb"]}
        },
        "refresh_token": {"RefreshToken": {}},
        JWT_BEARER: {
            "JwtBearer": {
                "AuthorizedTokenIssuers": [{"TrustedTokenIssuerArn": issuer, "AuthorizedAudiences": ["my-app"]}]
            }
        },
        TOKEN_EXCHANGE: {"TokenExchange": {}},
    }
    for grant_type, grant in grants.items():
        admin.put_application_grant(ApplicationArn=app, GrantType=grant_type, Grant=grant)
    for grant_type, grant in grants.items():
        assert admin.get_application_grant(ApplicationArn=app, GrantType=grant_type)["Grant"] == grant
    listed = {g["GrantType"]: g["Grant"] for g in admin.list_application_grants(ApplicationArn=app)["Grants"]}
    assert listed == grants

    refused: list[tuple[str, dict[str, Any], str]] = [
        ("refresh_token", {"TokenExchange": {}}, "ValidationException"),  # not the type's member
        (
            "authorization_code",
            {"AuthorizationCode": {"RedirectUris": ["http://app.example.com/cb"]}},
            "ValidationException",
        ),
        (
            "authorization_code",
            {"AuthorizationCode": {"RedirectUris": ["https://a.example.com/cb#frag"]}},
            "ValidationException",
        ),
        (
            JWT_BEARER,
            {
                "JwtBearer": {
                    "AuthorizedTokenIssuers": [
                        {"TrustedTokenIssuerArn": issuer[:-12] + "0" * 12, "AuthorizedAudiences": ["a"]}
                    ]
                }
            },
            "ResourceNotFoundException",
        ),
        (
            JWT_BEARER,
            {
                "JwtBearer": {
                    "AuthorizedTokenIssuers": [
                        {"TrustedTokenIssuerArn": _issuer(new_instance(server)), "AuthorizedAudiences": ["a"]}
                    ]
                }
            },
            "ResourceNotFoundException",  # another instance's issuer
        ),
    ]
    for grant_type, grant, code in refused:
        with pytest.raises(ClientError) as err:
            admin.put_application_grant(ApplicationArn=app, GrantType=grant_type, Grant=grant)
        assert _code(err) == code, grant
    assert admin.get_application_grant(ApplicationArn=app, GrantType=JWT_BEARER)["Grant"] == grants[JWT_BEARER]

    admin.delete_application_grant(ApplicationArn=app, GrantType="refresh_token")
    with pytest.raises(ClientError) as err:
        admin.get_application_grant(ApplicationArn=app, GrantType="refresh_token")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        admin.delete_application_grant(ApplicationArn=app, GrantType="refresh_token")
    assert _code(err) == "ResourceNotFoundException"
    assert len(admin.list_application_grants(ApplicationArn=app)["Grants"]) == 3


def test_trusted_token_issuers(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    url = "https://idp.example.com/oauth2/default"
    arn = _issuer(inst, url, Name="Okta", ClientToken="ct-1", Tags=[{"Key": "team", "Value": "data"}])
    instance_id = inst.instance_arn.rsplit("/", 1)[1]
    assert arn.startswith(f"arn:aws:sso::{inst.account_id}:trustedTokenIssuer/{instance_id}/tti-")
    described = admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=arn)
    assert described["Name"] == "Okta" and described["TrustedTokenIssuerType"] == "OIDC_JWT"
    config = described["TrustedTokenIssuerConfiguration"]["OidcJwtConfiguration"]
    assert config == {
        "IssuerUrl": url,
        "ClaimAttributePath": "email",
        "IdentityStoreAttributePath": "emails.value",
        "JwksRetrievalOption": "OPEN_ID_DISCOVERY",
    }
    # an idempotent retry answers the same ARN; the same URL or name again is a conflict
    assert _issuer(inst, url, Name="Okta", ClientToken="ct-1") == arn
    for kwargs in ({"url": url}, {"Name": "Okta"}):
        with pytest.raises(ClientError) as err:
            _issuer(inst, **kwargs)
        assert _code(err) == "ConflictException"
    with pytest.raises(ClientError) as err:
        admin.create_trusted_token_issuer(
            InstanceArn=inst.instance_arn,
            Name="bad",
            TrustedTokenIssuerType="OIDC_JWT",
            TrustedTokenIssuerConfiguration={
                "OidcJwtConfiguration": {
                    "IssuerUrl": "https://other.example.com",
                    "ClaimAttributePath": "email",
                    "IdentityStoreAttributePath": "title",
                    "JwksRetrievalOption": "OPEN_ID_DISCOVERY",
                }
            },
        )
    assert _code(err) == "ValidationException"

    assert admin.list_tags_for_resource(InstanceArn=inst.instance_arn, ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "data"}
    ]
    admin.tag_resource(InstanceArn=inst.instance_arn, ResourceArn=arn, Tags=[{"Key": "env", "Value": "prod"}])
    assert len(admin.list_tags_for_resource(InstanceArn=inst.instance_arn, ResourceArn=arn)["Tags"]) == 2

    second = _issuer(inst)
    pages = admin.get_paginator("list_trusted_token_issuers").paginate(
        InstanceArn=inst.instance_arn, PaginationConfig={"PageSize": 1}
    )
    listed = [i["TrustedTokenIssuerArn"] for page in pages for i in page["TrustedTokenIssuers"]]
    assert sorted(listed) == sorted([arn, second])

    admin.update_trusted_token_issuer(
        TrustedTokenIssuerArn=arn,
        Name="Okta-2",
        TrustedTokenIssuerConfiguration={
            "OidcJwtConfiguration": {
                "ClaimAttributePath": "preferred_username",
                "IdentityStoreAttributePath": "userName",
            }
        },
    )
    described = admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=arn)
    config = described["TrustedTokenIssuerConfiguration"]["OidcJwtConfiguration"]
    assert (
        described["Name"],
        config["ClaimAttributePath"],
        config["IdentityStoreAttributePath"],
        config["IssuerUrl"],
    ) == (
        "Okta-2",
        "preferred_username",
        "userName",
        url,
    )
    second_name = admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=second)["Name"]
    with pytest.raises(ClientError) as err:
        admin.update_trusted_token_issuer(TrustedTokenIssuerArn=arn, Name=second_name)
    assert _code(err) == "ConflictException"

    other = new_instance(server).client("sso-admin")
    for call in (other.describe_trusted_token_issuer, other.delete_trusted_token_issuer):
        with pytest.raises(ClientError) as err:
            call(TrustedTokenIssuerArn=arn)
        assert _code(err) in FOREIGN
    with pytest.raises(ClientError) as err:
        other.list_trusted_token_issuers(InstanceArn=inst.instance_arn)
    assert _code(err) == "ResourceNotFoundException"

    admin.delete_trusted_token_issuer(TrustedTokenIssuerArn=arn)
    with pytest.raises(ClientError) as err:
        admin.describe_trusted_token_issuer(TrustedTokenIssuerArn=arn)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        admin.list_tags_for_resource(InstanceArn=inst.instance_arn, ResourceArn=arn)
    assert _code(err) == "ResourceNotFoundException"
