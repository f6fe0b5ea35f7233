"""Sign-in through a user pool's identity providers, end to end over HTTP: a real OpenID Connect
issuer (npm oidc-provider) and a real SAML IdP (pysaml2) on loopback, boto3 for the provider and
user operations, PyJWT for the tokens; PreSignUp_ExternalProvider and PostConfirmation run as
Python handlers written the way AWS documents them."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.conftest import POOL_CLIENT_ID, POOL_CLIENT_SECRET, oidc_issuer, sign_in_code_flow  # noqa: F401
from tests.federation.saml_idp import SamlIdp, auto_post_form
from tests.oauth.conftest import CALLBACK, Hosted, make_hosted, pkce_pair, query_of

TRIGGERS = Path(__file__).resolve().parent.parent / "userpools" / "triggers"


def _arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{name.replace('_', '-')}"


@pytest.fixture(scope="module")
def trigger_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("federation-triggers") / "log.jsonl"


@pytest.fixture(scope="module")
def srv(server_factory: Any, trigger_log: Path, oidc_issuer: str) -> Server:  # noqa: F811
    mapping = {_arn(n): f"python:handlers:{n}" for n in ("pre_signup", "post_confirmation", "inbound_federation")}
    s: Server = server_factory(
        env={
            # "Google" is the loopback oidc-provider, as an operator would point it at a test IdP
            "OSTIARY_FEDERATION_ISSUERS": f"accounts.google.com={oidc_issuer}",
            "TRIGGER_LOG": str(trigger_log),
            "LEGACY_USERS": str(trigger_log.parent / "none.json"),
            "OSTIARY_LAMBDA_FUNCTIONS": json.dumps(mapping),
            "OSTIARY_LAMBDA_PATH": str(TRIGGERS),
        },
        args=("--dev",),
    )
    return s


@pytest.fixture(scope="module")
def saml_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-idp"))
    idp.users["carol"] = {"email": ["carol@saml.example.com"], "givenName": ["Carol"]}
    idp.users["dave"] = {"email": ["dave@saml.example.com"], "givenName": ["Dave"]}
    yield idp
    idp.close()


@pytest.fixture(scope="module")
def fed(srv: Server, oidc_issuer: str, saml_idp: SamlIdp) -> Hosted:  # noqa: F811
    h = make_hosted(
        srv,
        LambdaConfig={
            "PreSignUp": _arn("pre_signup"),
            "PostConfirmation": _arn("post_confirmation"),
            "InboundFederation": {"LambdaVersion": "V1_0", "LambdaArn": _arn("inbound_federation")},
        },
    )
    h.idp.create_identity_provider(
        UserPoolId=h.pool_id,
        ProviderName="Corp",
        ProviderType="OIDC",
        ProviderDetails={
            "client_id": POOL_CLIENT_ID,
            "client_secret": POOL_CLIENT_SECRET,
            "attributes_request_method": "GET",
            "oidc_issuer": oidc_issuer,
            "authorize_scopes": "openid email profile",
        },
        AttributeMapping={"email": "email", "email_verified": "email_verified", "given_name": "given_name"},
        IdpIdentifiers=["corp.example.com"],
    )
    h.idp.create_identity_provider(
        UserPoolId=h.pool_id,
        ProviderName="Okta",
        ProviderType="SAML",
        ProviderDetails={"MetadataFile": saml_idp.metadata()},
        # pysaml2 names attributes by their OIDs (urn:oid:…), as many IdPs do
        AttributeMapping={"email": "urn:oid:1.2.840.113549.1.9.1.1", "given_name": "urn:oid:2.5.4.42"},
    )
    h.idp.create_identity_provider(
        UserPoolId=h.pool_id,
        ProviderName="Signed",
        ProviderType="SAML",
        ProviderDetails={"MetadataFile": saml_idp.metadata(), "RequestSigningAlgorithm": "rsa-sha256"},
        AttributeMapping={"email": "urn:oid:1.2.840.113549.1.9.1.1"},
    )
    h.idp.create_identity_provider(
        UserPoolId=h.pool_id,
        ProviderName="Google",
        ProviderType="Google",
        ProviderDetails={
            "client_id": POOL_CLIENT_ID,
            "client_secret": POOL_CLIENT_SECRET,
            "authorize_scopes": "openid email profile",
        },
        AttributeMapping={"email": "email", "name": "name"},
    )
    h.idp.update_user_pool_client(
        UserPoolId=h.pool_id,
        ClientId=h.client_id,
        ClientName="web",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code", "implicit"],
        AllowedOAuthScopes=["openid", "email", "profile", "aws.cognito.signin.user.admin"],
        CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO", "Corp", "Okta", "Signed", "Google"],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return h


def _authorize(h: Hosted, challenge: str, **extra: str) -> str:
    params = {
        "client_id": h.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return str(httpx.URL(f"{h.base}/oauth2/authorize", params=params))


def _absolute(h: Hosted, location: str) -> str:
    return h.server.url + location if location.startswith("/") else location


def _redeem(h: Hosted, code: str, verifier: str) -> dict[str, Any]:
    resp = httpx.post(
        f"{h.base}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": h.client_id,
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert resp.status_code == 200, resp.text
    tokens: dict[str, Any] = resp.json()
    return tokens


def _claims(h: Hosted, token: str) -> dict[str, Any]:
    keys = jwt.PyJWKClient(f"{h.issuer}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    options = {"verify_aud": False}
    claims: dict[str, Any] = jwt.decode(token, key.key, algorithms=["RS256"], issuer=h.issuer, options=options)
    return claims


def _oidc_sign_in(h: Hosted, login: str, **extra: str) -> tuple[httpx.Response, str]:
    """Through Corp (oidc-provider): the response of /oauth2/idpresponse and the PKCE verifier."""
    verifier, challenge = pkce_pair()
    with httpx.Client(follow_redirects=False, timeout=20) as web:
        extra = extra or {"identity_provider": "Corp"}
        back = sign_in_code_flow(web, _authorize(h, challenge, **extra), login)
        location = back.headers["location"]
        assert "/oauth2/idpresponse?" in location, location
        done = web.get(_absolute(h, location))
    return done, verifier


def _trigger_events(log: Path, username: str) -> list[dict[str, Any]]:
    if not log.exists():
        return []
    events = [json.loads(line) for line in log.read_text().splitlines()]
    return [e for e in events if e.get("userName") == username]


def test_oidc_provider_signs_a_user_in(fed: Hosted, trigger_log: Path) -> None:
    done, verifier = _oidc_sign_in(fed, "alice")
    assert done.status_code == 302, done.text[:1000]
    location = done.headers["location"]
    assert location.startswith(CALLBACK)
    tokens = _redeem(fed, query_of(location)["code"], verifier)
    id_claims = _claims(fed, tokens["id_token"])
    assert id_claims["cognito:username"] == "Corp_alice"
    assert id_claims["email"] == "alice@example.com" and id_claims["email_verified"] is True
    assert id_claims["given_name"] == "alice"
    [identity] = id_claims["identities"]
    assert identity["userId"] == "alice" and identity["providerName"] == "Corp"
    assert identity["providerType"] == "OIDC" and identity["primary"] == "true"
    access = _claims(fed, tokens["access_token"])
    assert access["username"] == "Corp_alice" and access["sub"] == id_claims["sub"]

    user = fed.idp.admin_get_user(UserPoolId=fed.pool_id, Username="Corp_alice")
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert json.loads(attributes["identities"])[0]["providerName"] == "Corp"

    sources = [e["triggerSource"] for e in _trigger_events(trigger_log, "Corp_alice")]
    assert sources == [
        "InboundFederation_ExternalProvider",
        "PreSignUp_ExternalProvider",
        "PostConfirmation_ConfirmSignUp",
    ]
    first = _trigger_events(trigger_log, "Corp_alice")[1]
    assert first["request"]["userAttributes"]["email"] == "alice@example.com"
    assert first["callerContext"]["clientId"] == fed.client_id

    # a second sign-in is the same user, and fires no sign-up trigger again
    done, verifier = _oidc_sign_in(fed, "alice")
    again = _claims(fed, _redeem(fed, query_of(done.headers["location"])["code"], verifier)["id_token"])
    assert again["sub"] == id_claims["sub"]
    sources = [e["triggerSource"] for e in _trigger_events(trigger_log, "Corp_alice")]
    assert sources[3:] == ["InboundFederation_ExternalProvider"]

    # a password sign-in as the federated user is impossible
    with pytest.raises(ClientError):
        fed.idp.initiate_auth(
            ClientId=fed.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "Corp_alice", "PASSWORD": "Whatever-1!"},
        )


def test_idp_identifier_and_login_page_buttons(fed: Hosted) -> None:
    _, challenge = pkce_pair()
    page = httpx.get(_authorize(fed, challenge), follow_redirects=True)
    assert page.status_code == 200
    assert "Continue with Corp" in page.text and "Continue with Okta" in page.text
    done, _ = _oidc_sign_in(fed, "erin", idp_identifier="corp.example.com")
    assert done.status_code == 302 and done.headers["location"].startswith(CALLBACK)
    fed.idp.admin_get_user(UserPoolId=fed.pool_id, Username="Corp_erin")


def test_provider_response_is_single_use(fed: Hosted) -> None:
    verifier, challenge = pkce_pair()
    with httpx.Client(follow_redirects=False, timeout=20) as web:
        back = sign_in_code_flow(web, _authorize(fed, challenge, identity_provider="Corp"), "frank")
        url = _absolute(fed, back.headers["location"])
        first = web.get(url)
        assert first.status_code == 302
        replay = web.get(url)
    assert replay.status_code == 400 and "already used" in replay.text
    tampered = httpx.get(url.replace("state=", "state=x"))
    assert tampered.status_code == 400
    del verifier


def test_unknown_or_unsupported_provider_is_refused(fed: Hosted) -> None:
    _, challenge = pkce_pair()
    resp = httpx.get(_authorize(fed, challenge, identity_provider="Nope"))
    assert resp.status_code == 302 and "error=invalid_request" in resp.headers["location"]
    resp = httpx.get(_authorize(fed, challenge, idp_identifier="unknown.example.com"))
    assert resp.status_code == 400


def test_linked_identity_signs_in_as_the_existing_user(fed: Hosted) -> None:
    fed.idp.admin_create_user(UserPoolId=fed.pool_id, Username="gina", MessageAction="SUPPRESS")
    fed.idp.admin_link_provider_for_user(
        UserPoolId=fed.pool_id,
        DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": "gina"},
        SourceUser={
            "ProviderName": "Corp",
            "ProviderAttributeName": "Cognito_Subject",
            "ProviderAttributeValue": "gina",
        },
    )
    attributes = {
        a["Name"]: a["Value"] for a in fed.idp.admin_get_user(UserPoolId=fed.pool_id, Username="gina")["UserAttributes"]
    }
    assert json.loads(attributes["identities"])[0]["userId"] == "gina"
    done, verifier = _oidc_sign_in(fed, "gina")
    claims = _claims(fed, _redeem(fed, query_of(done.headers["location"])["code"], verifier)["id_token"])
    assert claims["cognito:username"] == "gina"

    # an identity that already signed up cannot be linked
    assert _oidc_sign_in(fed, "lina")[0].status_code == 302
    with pytest.raises(ClientError) as err:
        fed.idp.admin_link_provider_for_user(
            UserPoolId=fed.pool_id,
            DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": "gina"},
            SourceUser={
                "ProviderName": "Corp",
                "ProviderAttributeName": "Cognito_Subject",
                "ProviderAttributeValue": "lina",
            },
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterException"


def test_disabled_provider_user_cannot_sign_in(fed: Hosted) -> None:
    done, _ = _oidc_sign_in(fed, "henry")
    assert done.status_code == 302
    fed.idp.admin_disable_provider_for_user(
        UserPoolId=fed.pool_id,
        User={"ProviderName": "Corp", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "henry"},
    )
    user = fed.idp.admin_get_user(UserPoolId=fed.pool_id, Username="Corp_henry")
    assert user["Enabled"] is False
    done, _ = _oidc_sign_in(fed, "henry")
    assert done.status_code == 400 and "disabled" in done.text


def _saml_round_trip(h: Hosted, idp: SamlIdp, user: str, tamper: bool = False) -> httpx.Response:
    _, challenge = pkce_pair()
    idp.next_user = user
    with httpx.Client(follow_redirects=False, timeout=20) as web:
        to_idp = web.get(_authorize(h, challenge, identity_provider="Okta"))
        assert to_idp.status_code == 302
        sso = to_idp.headers["location"]
        assert sso.startswith(idp.base + "/sso?") and "SAMLRequest=" in sso and "RelayState=" in sso
        page = web.get(sso)
        action, fields = auto_post_form(page.text)
        assert action == f"{h.base}/saml2/idpresponse"
        if tamper:
            xml = base64.b64decode(fields["SAMLResponse"]).decode()
            fields["SAMLResponse"] = base64.b64encode(xml.replace(f"{user}@", "mallory@").encode()).decode()
        return web.post(action, data=fields)


def test_saml_provider_signs_a_user_in(fed: Hosted, saml_idp: SamlIdp, trigger_log: Path) -> None:
    verifier, challenge = pkce_pair()
    done = _saml_round_trip(fed, saml_idp, "carol")
    assert done.status_code == 302, done.text[:1000]
    user = fed.idp.list_users(UserPoolId=fed.pool_id, Filter='email = "carol@saml.example.com"')["Users"]
    assert len(user) == 1 and user[0]["UserStatus"] == "EXTERNAL_PROVIDER"
    assert user[0]["Username"].startswith("Okta_")
    attributes = {a["Name"]: a["Value"] for a in user[0]["Attributes"]}
    assert attributes["given_name"] == "Carol"
    assert [e["triggerSource"] for e in _trigger_events(trigger_log, user[0]["Username"])] == [
        "InboundFederation_ExternalProvider",
        "PreSignUp_ExternalProvider",
        "PostConfirmation_ConfirmSignUp",
    ]
    inbound = _trigger_events(trigger_log, user[0]["Username"])[0]["request"]
    assert inbound["providerType"] == "SAML"
    assert inbound["attributes"]["samlResponse"]["urn:oid:1.2.840.113549.1.9.1.1"] == "carol@saml.example.com"
    assert parse_qs(urlsplit(done.headers["location"]).query)["code"]
    del verifier, challenge


def test_tampered_saml_response_is_refused(fed: Hosted, saml_idp: SamlIdp) -> None:
    done = _saml_round_trip(fed, saml_idp, "dave", tamper=True)
    assert done.status_code == 400 and "refused" in done.text
    users = fed.idp.list_users(UserPoolId=fed.pool_id, Filter='email = "dave@saml.example.com"')["Users"]
    assert users == []


def test_saml_without_relay_state_is_refused(fed: Hosted, saml_idp: SamlIdp) -> None:
    resp = httpx.post(f"{fed.base}/saml2/idpresponse", data={"SAMLResponse": saml_idp.response("carol")})
    assert resp.status_code == 400 and "RelayState" in resp.text


def test_idp_initiated_saml_sign_in(fed: Hosted, saml_idp: SamlIdp) -> None:
    """An unsolicited response with the authorization parameters in RelayState (AWS's IdP-initiated
    sign-in): refused until the provider allows it with IDPInit, then single-use."""
    acs = f"{fed.base}/saml2/idpresponse"
    relay = urlencode(
        {
            "response_type": "code",
            "client_id": fed.client_id,
            "redirect_uri": CALLBACK,
            "identity_provider": "Okta",
            "scope": "openid email",
        }
    )

    def post(**extra: Any) -> httpx.Response:
        audience = extra.pop("audience", f"urn:amazon:cognito:sp:{fed.pool_id}")
        response = saml_idp.response_for("carol", audience=audience, acs_url=acs, in_response_to=None, **extra)
        return httpx.post(acs, data={"SAMLResponse": response, "RelayState": relay})

    refused = post()
    assert refused.status_code == 400 and "IDPInit" in refused.text
    fed.idp.update_identity_provider(
        UserPoolId=fed.pool_id,
        ProviderName="Okta",
        ProviderDetails={"MetadataFile": saml_idp.metadata(), "IDPInit": "true"},
    )
    response = saml_idp.response_for(
        "carol", audience=f"urn:amazon:cognito:sp:{fed.pool_id}", acs_url=acs, in_response_to=None
    )
    done = httpx.post(acs, data={"SAMLResponse": response, "RelayState": relay})
    assert done.status_code == 302, done.text[:1000]
    assert done.headers["location"].startswith(CALLBACK) and "code=" in done.headers["location"]
    replay = httpx.post(acs, data={"SAMLResponse": response, "RelayState": relay})
    assert replay.status_code == 400 and "already used" in replay.text
    other_sp = post(audience="urn:amazon:cognito:sp:us-east-1_Other")
    assert other_sp.status_code == 400 and "audience" in other_sp.text
    implicit = httpx.post(
        acs,
        data={
            "SAMLResponse": saml_idp.response_for(
                "carol", audience=f"urn:amazon:cognito:sp:{fed.pool_id}", acs_url=acs, in_response_to=None
            ),
            "RelayState": relay.replace("response_type=code", "response_type=token"),
        },
    )
    assert implicit.status_code == 400


def test_google_sign_in_through_the_operators_issuer(fed: Hosted, oidc_issuer: str) -> None:  # noqa: F811
    described = fed.idp.describe_identity_provider(UserPoolId=fed.pool_id, ProviderName="Google")
    assert described["IdentityProvider"]["ProviderDetails"]["oidc_issuer"] == oidc_issuer
    done, verifier = _oidc_sign_in(fed, "ivan", identity_provider="Google")
    assert done.status_code == 302, done.text[:1000]
    claims = _claims(fed, _redeem(fed, query_of(done.headers["location"])["code"], verifier)["id_token"])
    assert claims["cognito:username"] == "Google_ivan" and claims["name"] == "ivan Example"
    assert claims["identities"][0]["providerType"] == "Google"


def test_signed_authn_request(fed: Hosted, saml_idp: SamlIdp) -> None:
    """RequestSigningAlgorithm rsa-sha256: the HTTP-Redirect AuthnRequest carries SigAlg and a
    Signature that the pool's certificate (GetSigningCertificate) verifies."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    der = base64.b64decode(fed.idp.get_signing_certificate(UserPoolId=fed.pool_id)["Certificate"])
    certificate = x509.load_der_x509_certificate(der)
    assert fed.pool_id in certificate.subject.rfc4514_string()
    _, challenge = pkce_pair()
    saml_idp.next_user = "carol"
    with httpx.Client(follow_redirects=False, timeout=20) as web:
        location = web.get(_authorize(fed, challenge, identity_provider="Signed")).headers["location"]
        query = urlsplit(location).query
        signed, _, signature = query.rpartition("&Signature=")
        assert "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256" in signed
        certificate.public_key().verify(
            base64.b64decode(parse_qs("s=" + signature)["s"][0]), signed.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
        action, fields = auto_post_form(web.get(location).text)
        done = web.post(action, data=fields)
    assert done.status_code == 302 and done.headers["location"].startswith(CALLBACK)
    # the certificate is the pool's own and stays the same
    again = fed.idp.get_signing_certificate(UserPoolId=fed.pool_id)["Certificate"]
    assert base64.b64decode(again) == der


def test_inbound_federation_trigger(fed: Hosted, trigger_log: Path) -> None:
    """InboundFederation sees what the provider sent and chooses the attributes to map."""
    done, _ = _oidc_sign_in(fed, "kim")
    assert done.status_code == 302, done.text[:500]
    user = fed.idp.admin_get_user(UserPoolId=fed.pool_id, Username="Corp_kim")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attributes["nickname"] == "kim-from-Corp" and attributes["email"] == "kim@example.com"
    assert "given_name" not in attributes  # the function's map replaces the AttributeMapping's
    event = _trigger_events(trigger_log, "Corp_kim")[0]
    assert event["triggerSource"] == "InboundFederation_ExternalProvider"
    request = event["request"]
    assert request["providerName"] == "Corp" and request["providerType"] == "OIDC"
    assert request["attributes"]["idToken"]["email"] == "kim@example.com"
    assert request["attributes"]["userInfo"]["sub"] == "kim"
    assert request["attributes"]["tokenResponse"]["token_type"] == "Bearer"
