"""User pool identity providers through boto3: OIDC (a real oidc-provider on loopback), SAML (pysaml2's
IdP metadata, as a file and by URL), Google with AWS's endpoints or an operator's issuer, errors, and
app clients naming the providers."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from tests.conftest import REGION, Server
from tests.federation.conftest import oidc_issuer  # noqa: F401
from tests.federation.saml_idp import SamlIdp


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _message(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Message"])


def _oidc_details(issuer: str, **extra: str) -> dict[str, str]:
    return {
        "client_id": "ostiary-pool",
        "client_secret": "top-secret-value",
        "attributes_request_method": "GET",
        "oidc_issuer": issuer,
        "authorize_scopes": "openid email profile",
        **extra,
    }


GOOGLE = {"client_id": "1example.apps.googleusercontent.com", "client_secret": "g-secret", "authorize_scopes": "openid"}


@pytest.fixture
def saml_idp(tmp_path: Path) -> Iterator[SamlIdp]:
    idp = SamlIdp(tmp_path)
    yield idp
    idp.close()


def _row(server: Server, pool_id: str, name: str) -> Any:
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT details, sealed_secrets FROM user_pool_identity_providers "
                    "WHERE user_pool_id = :p AND provider_name = :n"
                ),
                {"p": pool_id, "n": name},
            ).one()
    finally:
        engine.dispose()


def test_oidc_lifecycle(idp: Any, server: Server, pool: dict[str, Any], oidc_issuer: str) -> None:  # noqa: F811
    pid = pool["Id"]
    discovery = httpx.get(oidc_issuer + "/.well-known/openid-configuration").json()
    created = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="MyOIDC",
        ProviderType="OIDC",
        ProviderDetails=_oidc_details(oidc_issuer),
        AttributeMapping={"email": "email"},
        IdpIdentifiers=["example.com", "corp"],
    )["IdentityProvider"]
    assert created["UserPoolId"] == pid and created["ProviderName"] == "MyOIDC" and created["ProviderType"] == "OIDC"
    assert created["ProviderDetails"] == {
        **_oidc_details(oidc_issuer),
        "authorize_url": discovery["authorization_endpoint"],
        "token_url": discovery["token_endpoint"],
        "attributes_url": discovery["userinfo_endpoint"],
        "jwks_uri": discovery["jwks_uri"],
        "attributes_url_add_attributes": "false",
    }
    assert created["AttributeMapping"] == {"email": "email", "username": "sub"}
    assert created["IdpIdentifiers"] == ["example.com", "corp"]
    assert isinstance(created["CreationDate"], dt.datetime) and created["LastModifiedDate"] == created["CreationDate"]
    described = idp.describe_identity_provider(UserPoolId=pid, ProviderName="MyOIDC")["IdentityProvider"]
    assert described == created
    assert idp.get_identity_provider_by_identifier(UserPoolId=pid, IdpIdentifier="corp")["IdentityProvider"] == created

    # the secret round-trips through Describe but is sealed at rest
    row = _row(server, pid, "MyOIDC")
    details = row.details if isinstance(row.details, dict) else json.loads(row.details)
    assert "client_secret" not in details and "top-secret-value" not in str(row.details)
    assert row.sealed_secrets and "top-secret-value" not in row.sealed_secrets

    # endpoints given explicitly are kept; the others are discovered
    updated = idp.update_identity_provider(
        UserPoolId=pid,
        ProviderName="MyOIDC",
        ProviderDetails=_oidc_details(oidc_issuer, authorize_url="https://login.example.com/authorize"),
        AttributeMapping={"email": "email", "name": "name"},
        IdpIdentifiers=["corp2"],
    )["IdentityProvider"]
    assert updated["ProviderDetails"]["authorize_url"] == "https://login.example.com/authorize"
    assert updated["ProviderDetails"]["token_url"] == discovery["token_endpoint"]
    assert updated["AttributeMapping"] == {"email": "email", "name": "name", "username": "sub"}
    assert updated["IdpIdentifiers"] == ["corp2"]
    assert updated["CreationDate"] == created["CreationDate"]
    assert updated["LastModifiedDate"] >= created["LastModifiedDate"]
    # the secret stays when new details leave it out; omitted parts stay as they were
    kept = idp.update_identity_provider(
        UserPoolId=pid,
        ProviderName="MyOIDC",
        ProviderDetails={k: v for k, v in _oidc_details(oidc_issuer).items() if k != "client_secret"},
    )["IdentityProvider"]
    assert kept["ProviderDetails"]["client_secret"] == "top-secret-value"
    assert kept["IdpIdentifiers"] == ["corp2"] and kept["AttributeMapping"]["name"] == "name"
    with pytest.raises(ClientError) as exc:
        idp.get_identity_provider_by_identifier(UserPoolId=pid, IdpIdentifier="corp")
    assert _code(exc) == "ResourceNotFoundException"

    idp.delete_identity_provider(UserPoolId=pid, ProviderName="MyOIDC")
    for call in (idp.describe_identity_provider, idp.delete_identity_provider):
        with pytest.raises(ClientError) as exc:
            call(UserPoolId=pid, ProviderName="MyOIDC")
        assert _code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        idp.update_identity_provider(UserPoolId=pid, ProviderName="MyOIDC", IdpIdentifiers=[])
    assert _code(exc) == "ResourceNotFoundException"


def test_oidc_errors(idp: Any, pool: dict[str, Any], oidc_issuer: str) -> None:  # noqa: F811
    pid = pool["Id"]
    idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="First",
        ProviderType="OIDC",
        ProviderDetails=_oidc_details(oidc_issuer),
        IdpIdentifiers=["taken"],
    )
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"ProviderName": "First"}, "DuplicateProviderException", "First already exists"),
        ({"IdpIdentifiers": ["taken"]}, "DuplicateProviderException", "taken"),
        ({"IdpIdentifiers": ["a", "a"]}, "InvalidParameterException", "Duplicate identifier"),
        (
            {"ProviderDetails": {k: v for k, v in _oidc_details(oidc_issuer).items() if k != "client_id"}},
            "InvalidParameterException",
            "client_id is required",
        ),
        (
            {"ProviderDetails": _oidc_details(oidc_issuer, attributes_request_method="PUT")},
            "InvalidParameterException",
            "attributes_request_method",
        ),
        (
            {"ProviderDetails": _oidc_details("http://idp.example.com")},
            "InvalidParameterException",
            "https",
        ),
        (
            {"ProviderDetails": _oidc_details("http://127.0.0.1:1")},
            "InvalidParameterException",
            "Unable to retrieve",
        ),
        (
            {"ProviderDetails": _oidc_details(oidc_issuer + "/elsewhere")},
            "InvalidParameterException",
            "",
        ),
        ({"AttributeMapping": {"custom:missing": "x"}}, "InvalidParameterException", "invalid mapping"),
        ({"AttributeMapping": {"username": "email"}}, "InvalidParameterException", "username"),
        ({"ProviderName": "Google"}, "InvalidParameterException", "reserved"),
        ({"ProviderName": "cognito"}, "InvalidParameterException", "reserved"),
        ({"AcrMapping": {"Level1": "urn:acr:1"}, "ProviderType": "SAML"}, "InvalidParameterException", ""),
    ]
    for change, code, text in cases:
        args = {
            "UserPoolId": pid,
            "ProviderName": "Second",
            "ProviderType": "OIDC",
            "ProviderDetails": _oidc_details(oidc_issuer),
            **change,
        }
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(**args)
        assert _code(exc) == code, change
        assert text in _message(exc), (change, _message(exc))
    with pytest.raises(ClientError) as exc:
        idp.create_identity_provider(
            UserPoolId=f"{REGION}_doesNotEx", ProviderName="Xyz", ProviderType="OIDC", ProviderDetails={}
        )
    assert _code(exc) == "ResourceNotFoundException"
    for call in (idp.list_identity_providers, idp.describe_identity_provider):
        with pytest.raises(ClientError) as exc:
            call(
                UserPoolId=f"{REGION}_doesNotEx",
                **({"ProviderName": "First"} if call != idp.list_identity_providers else {}),
            )
        assert _code(exc) == "ResourceNotFoundException"
    # an OIDC provider with an AcrMapping shows it
    acr = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="WithAcr",
        ProviderType="OIDC",
        ProviderDetails=_oidc_details(oidc_issuer),
        AcrMapping={"Level1": "urn:acr:pwd", "Level2": "urn:acr:mfa"},
    )["IdentityProvider"]
    assert acr["AcrMapping"] == {"Level1": "urn:acr:pwd", "Level2": "urn:acr:mfa"}
    # the mapping may name the pool's custom attributes
    idp.add_custom_attributes(UserPoolId=pid, CustomAttributes=[{"Name": "dept", "AttributeDataType": "String"}])
    mapped = idp.update_identity_provider(UserPoolId=pid, ProviderName="First", AttributeMapping={"custom:dept": "d"})
    assert mapped["IdentityProvider"]["AttributeMapping"] == {"custom:dept": "d", "username": "sub"}


def test_saml_metadata_file_and_url(idp: Any, server: Server, pool: dict[str, Any], saml_idp: SamlIdp) -> None:
    pid = pool["Id"]
    by_file = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="CorpFile",
        ProviderType="SAML",
        ProviderDetails={"MetadataFile": saml_idp.metadata(), "IDPSignout": "true"},
        AttributeMapping={"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"},
    )["IdentityProvider"]
    assert by_file["ProviderDetails"] == {
        "MetadataFile": saml_idp.metadata(),
        "IDPSignout": "true",
        "SSORedirectBindingURI": saml_idp.base + "/sso",
    }
    assert by_file["AttributeMapping"] == {
        "email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
    }

    by_url = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="CorpURL",
        ProviderType="SAML",
        ProviderDetails={"MetadataURL": saml_idp.base + "/metadata", "IDPInit": "true"},
        IdpIdentifiers=["corp.example.com"],
    )["IdentityProvider"]
    # the fetched document is kept for sign-in but not shown
    assert by_url["ProviderDetails"] == {
        "MetadataURL": saml_idp.base + "/metadata",
        "IDPInit": "true",
        "SSORedirectBindingURI": saml_idp.base + "/sso",
    }
    assert by_url["AttributeMapping"] == {}
    row = _row(server, pid, "CorpURL")
    assert "EntityDescriptor" in str(row.details) and row.sealed_secrets is None
    found = idp.get_identity_provider_by_identifier(UserPoolId=pid, IdpIdentifier="corp.example.com")
    assert found["IdentityProvider"]["ProviderName"] == "CorpURL"
    # Describe's output can be sent back as is
    again = idp.update_identity_provider(
        UserPoolId=pid, ProviderName="CorpURL", ProviderDetails=by_url["ProviderDetails"]
    )["IdentityProvider"]
    assert again["ProviderDetails"] == by_url["ProviderDetails"]

    bad: list[dict[str, str]] = [
        {"MetadataFile": "<not-xml"},
        {"MetadataFile": '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>'},
        {"MetadataURL": saml_idp.base + "/nothing-here"},
        {"MetadataURL": "http://idp.example.com/metadata"},
        {},
        {"MetadataURL": saml_idp.base + "/metadata", "MetadataFile": saml_idp.metadata()},
        {"MetadataFile": saml_idp.metadata(), "IDPSignout": "yes"},
        {"MetadataFile": saml_idp.metadata(), "RequestSigningAlgorithm": "rsa-sha1"},
        {"MetadataFile": saml_idp.metadata(), "EncryptedResponses": "true"},
    ]
    for details in bad:
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(
                UserPoolId=pid, ProviderName="Broken", ProviderType="SAML", ProviderDetails=details
            )
        assert _code(exc) == "InvalidParameterException", details
    with pytest.raises(ClientError) as exc:
        idp.update_identity_provider(UserPoolId=pid, ProviderName="CorpFile", ProviderDetails={"MetadataFile": "<x/>"})
    assert _code(exc) == "InvalidParameterException"


def test_google_defaults(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    google = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="Google",
        ProviderType="Google",
        ProviderDetails={**GOOGLE, "authorize_url": "https://evil.example.com/"},
        AttributeMapping={"email": "email"},
    )["IdentityProvider"]
    assert google["ProviderDetails"] == {
        **GOOGLE,
        "attributes_url": "https://people.googleapis.com/v1/people/me?personFields=",
        "attributes_url_add_attributes": "true",
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "oidc_issuer": "https://accounts.google.com",
        "token_request_method": "POST",
        "token_url": "https://www.googleapis.com/oauth2/v4/token",
    }
    assert google["AttributeMapping"] == {"email": "email", "username": "sub"}
    facebook = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="Facebook",
        ProviderType="Facebook",
        ProviderDetails={"client_id": "1", "client_secret": "s", "authorize_scopes": "email", "api_version": "v18.0"},
    )["IdentityProvider"]
    assert facebook["ProviderDetails"]["authorize_url"] == "https://www.facebook.com/v18.0/dialog/oauth"
    assert facebook["ProviderDetails"]["token_request_method"] == "GET"
    assert facebook["AttributeMapping"] == {"username": "id"}
    amazon = idp.create_identity_provider(
        UserPoolId=pid,
        ProviderName="LoginWithAmazon",
        ProviderType="LoginWithAmazon",
        ProviderDetails={"client_id": "amzn1.x", "client_secret": "s", "authorize_scopes": "profile"},
    )["IdentityProvider"]
    assert amazon["ProviderDetails"]["token_url"] == "https://api.amazon.com/auth/o2/token"
    assert amazon["AttributeMapping"] == {"username": "user_id"}
    apple_details = {
        "client_id": "com.example",
        "team_id": "TEAM",
        "key_id": "KEY",
        "private_key": "-----BEGIN PRIVATE KEY-----x",
        "authorize_scopes": "email name",
    }
    apple = idp.create_identity_provider(
        UserPoolId=pid, ProviderName="SignInWithApple", ProviderType="SignInWithApple", ProviderDetails=apple_details
    )["IdentityProvider"]
    # as in AWS, Describe never shows the private key
    assert "private_key" not in apple["ProviderDetails"]
    assert apple["ProviderDetails"]["oidc_issuer"] == "https://appleid.apple.com"

    listed = idp.list_identity_providers(UserPoolId=pid, MaxResults=2)
    assert [p["ProviderName"] for p in listed["Providers"]] == ["Facebook", "Google"]
    assert set(listed["Providers"][0]) == {"ProviderName", "ProviderType", "LastModifiedDate", "CreationDate"}
    rest = idp.list_identity_providers(UserPoolId=pid, MaxResults=2, NextToken=listed["NextToken"])
    assert [p["ProviderName"] for p in rest["Providers"]] == ["LoginWithAmazon", "SignInWithApple"]
    assert "NextToken" not in rest
    pages = idp.get_paginator("list_identity_providers").paginate(UserPoolId=pid, PaginationConfig={"PageSize": 1})
    assert [p["ProviderType"] for page in pages for p in page["Providers"]] == [
        "Facebook",
        "Google",
        "LoginWithAmazon",
        "SignInWithApple",
    ]

    for name, ptype, details in (
        ("MyGoogle", "Google", GOOGLE),
        ("Google", "Google", GOOGLE),
        ("Facebook2", "Facebook", GOOGLE),
    ):
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(UserPoolId=pid, ProviderName=name, ProviderType=ptype, ProviderDetails=details)
        assert _code(exc) in ("InvalidParameterException", "DuplicateProviderException")
    # a secret left out of new details is kept; a missing client_id is refused
    renewed = idp.update_identity_provider(
        UserPoolId=pid, ProviderName="Google", ProviderDetails={"client_id": "x", "authorize_scopes": "openid"}
    )["IdentityProvider"]
    assert renewed["ProviderDetails"]["client_id"] == "x" and renewed["ProviderDetails"]["client_secret"] == "g-secret"
    with pytest.raises(ClientError) as exc:
        idp.update_identity_provider(
            UserPoolId=pid, ProviderName="Google", ProviderDetails={"authorize_scopes": "openid"}
        )
    assert _code(exc) == "InvalidParameterException" and "client_id" in _message(exc)


def test_google_at_an_operator_issuer(server_factory: Any, oidc_issuer: str) -> None:  # noqa: F811
    srv = server_factory(env={"OSTIARY_FEDERATION_ISSUERS": f"accounts.google.com={oidc_issuer}"})
    client = srv.client("cognito-idp")
    pid = client.create_user_pool(PoolName="google-override")["UserPool"]["Id"]
    discovery = httpx.get(oidc_issuer + "/.well-known/openid-configuration").json()
    google = client.create_identity_provider(
        UserPoolId=pid, ProviderName="Google", ProviderType="Google", ProviderDetails=GOOGLE
    )["IdentityProvider"]
    assert google["ProviderDetails"] == {
        **GOOGLE,
        "authorize_url": discovery["authorization_endpoint"],
        "token_url": discovery["token_endpoint"],
        "attributes_url": discovery["userinfo_endpoint"],
        "jwks_uri": discovery["jwks_uri"],
        "oidc_issuer": oidc_issuer,
        "attributes_url_add_attributes": "false",
        "token_request_method": "POST",
    }


def test_app_clients_name_providers(idp: Any, pool: dict[str, Any], saml_idp: SamlIdp) -> None:
    pid = pool["Id"]
    idp.create_identity_provider(
        UserPoolId=pid, ProviderName="Corp", ProviderType="SAML", ProviderDetails={"MetadataFile": saml_idp.metadata()}
    )
    idp.create_identity_provider(UserPoolId=pid, ProviderName="Google", ProviderType="Google", ProviderDetails=GOOGLE)
    client = idp.create_user_pool_client(
        UserPoolId=pid, ClientName="web", SupportedIdentityProviders=["COGNITO", "Corp", "Google"]
    )["UserPoolClient"]
    assert client["SupportedIdentityProviders"] == ["COGNITO", "Corp", "Google"]
    for providers in (["Unknown"], ["COGNITO", "Facebook"]):
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=pid, ClientName="web2", SupportedIdentityProviders=providers)
        assert _code(exc) == "InvalidParameterException"
        assert "does not exist for User Pool" in _message(exc)
    # deleting a provider leaves the clients that name it as they are
    idp.delete_identity_provider(UserPoolId=pid, ProviderName="Corp")
    described = idp.describe_user_pool_client(UserPoolId=pid, ClientId=client["ClientId"])["UserPoolClient"]
    assert described["SupportedIdentityProviders"] == ["COGNITO", "Corp", "Google"]
    # a provider of another pool is not one of this pool's
    other = idp.create_user_pool(PoolName="other-pool")["UserPool"]["Id"]
    try:
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=other, ClientName="x", SupportedIdentityProviders=["Google"])
        assert _code(exc) == "InvalidParameterException"
    finally:
        idp.delete_user_pool(UserPoolId=other)
