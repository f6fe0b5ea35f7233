"""Passkeys with boto3 and a software authenticator written from the W3C WebAuthn spec (an ES256
key, "none" attestation): StartWebAuthnRegistration / CompleteWebAuthnRegistration, sign-in with the
WEB_AUTHN challenge of USER_AUTH, the signature counter, List/DeleteWebAuthnCredential."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
from typing import Any

import cbor2
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import Server
from tests.userpools.conftest import PoolSetup, create_confirmed_user, make_pool

RP_ID = "login.example.com"
ORIGIN = f"https://{RP_ID}"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """A platform authenticator holding one ES256 credential (user present and verified)."""

    def __init__(self, rp_id: str = RP_ID, origin: str = ORIGIN) -> None:
        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = 0
        self.user_handle = b""

    def _auth_data(self, flags: int, attested: bytes = b"") -> bytes:
        return (
            hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter) + attested
        )

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        assert options["rp"]["id"] == self.rp_id
        self.user_handle = unb64url(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + cose
        auth_data = self._auth_data(0x45, attested)  # UP | UV | AT
        client_data = json.dumps(
            {"type": "webauthn.create", "challenge": options["challenge"], "origin": self.origin, "crossOrigin": False}
        ).encode()
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(self, options: dict[str, Any], challenge: str | None = None) -> dict[str, Any]:
        assert options["rpId"] == self.rp_id
        self.counter += 1
        auth_data = self._auth_data(0x05)  # UP | UV
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": challenge or options["challenge"], "origin": self.origin}
        ).encode()
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }


def _pool(srv: Server) -> PoolSetup:
    s = make_pool(
        srv.client("cognito-idp"),
        {"Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "WEB_AUTHN"]}}},
        {"ExplicitAuthFlows": ["ALLOW_USER_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]},
    )
    s.idp.set_user_pool_mfa_config(
        UserPoolId=s.pool_id, WebAuthnConfiguration={"RelyingPartyId": RP_ID, "UserVerification": "preferred"}
    )
    return s


def _access_token(s: PoolSetup, username: str) -> str:
    out = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": "Corr3ct-Horse-Battery!"},
    )
    return str(out["AuthenticationResult"]["AccessToken"])


def _register(s: PoolSetup, token: str, device: Authenticator) -> None:
    options = s.idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    assert options["rp"] == {"id": RP_ID, "name": s.idp.describe_user_pool(UserPoolId=s.pool_id)["UserPool"]["Name"]}
    s.idp.complete_web_authn_registration(AccessToken=token, Credential=device.create(options))


def _passkey_sign_in(s: PoolSetup, username: str, device: Authenticator, **tamper: str) -> dict[str, Any]:
    challenge = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_AUTH",
        AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "WEB_AUTHN"},
    )
    assert challenge["ChallengeName"] == "WEB_AUTHN"
    options = json.loads(challenge["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    assertion = device.get(options, **tamper)
    out: dict[str, Any] = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="WEB_AUTHN",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "CREDENTIAL": json.dumps(assertion)},
    )
    return out


def test_register_and_sign_in_with_a_passkey(server: Server) -> None:
    s = _pool(server)
    create_confirmed_user(s, "rosa", password="Corr3ct-Horse-Battery!")
    token = _access_token(s, "rosa")
    device = Authenticator()
    _register(s, token, device)
    listed = s.idp.list_web_authn_credentials(AccessToken=token)["Credentials"]
    assert [c["CredentialId"] for c in listed] == [b64url(device.credential_id)]
    assert listed[0]["RelyingPartyId"] == RP_ID and listed[0]["AuthenticatorAttachment"] == "platform"
    assert listed[0]["AuthenticatorTransports"] == ["internal"]

    start = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="USER_AUTH", AuthParameters={"USERNAME": "rosa"})
    assert start["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "WEB_AUTHN"]
    factors = s.idp.get_user_auth_factors(AccessToken=token)["ConfiguredUserAuthFactors"]
    assert factors == ["PASSWORD", "WEB_AUTHN"]

    done = _passkey_sign_in(s, "rosa", device)
    assert done["AuthenticationResult"]["AccessToken"]
    assert _passkey_sign_in(s, "rosa", device)["AuthenticationResult"]["IdToken"]  # the counter moves on

    # an assertion for another challenge, or from a cloned authenticator (counter going back), fails
    with pytest.raises(ClientError) as exc:
        _passkey_sign_in(s, "rosa", device, challenge=b64url(secrets.token_bytes(32)))
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    device.counter = 0
    with pytest.raises(ClientError) as exc:
        _passkey_sign_in(s, "rosa", device)
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"

    s.idp.delete_web_authn_credential(AccessToken=token, CredentialId=b64url(device.credential_id))
    assert s.idp.list_web_authn_credentials(AccessToken=token)["Credentials"] == []
    with pytest.raises(ClientError) as exc:
        s.idp.delete_web_authn_credential(AccessToken=token, CredentialId=b64url(device.credential_id))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_registration_checks(server: Server) -> None:
    s = _pool(server)
    create_confirmed_user(s, "sven", password="Corr3ct-Horse-Battery!")
    token = _access_token(s, "sven")
    # no registration started
    with pytest.raises(ClientError) as exc:
        s.idp.complete_web_authn_registration(
            AccessToken=token,
            Credential=Authenticator().create({"rp": {"id": RP_ID}, "user": {"id": "eA"}, "challenge": "x"}),
        )
    assert exc.value.response["Error"]["Code"] == "WebAuthnChallengeNotFoundException"
    # an origin outside the relying party
    options = s.idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    with pytest.raises(ClientError) as exc:
        s.idp.complete_web_authn_registration(
            AccessToken=token, Credential=Authenticator(origin="https://evil.example.net").create(options)
        )
    assert exc.value.response["Error"]["Code"] == "WebAuthnOriginNotAllowedException"
    # a credential made for another relying party
    options = s.idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    other = Authenticator(rp_id="other.example.com", origin=ORIGIN)
    options["rp"]["id"] = "other.example.com"
    with pytest.raises(ClientError) as exc:
        s.idp.complete_web_authn_registration(AccessToken=token, Credential=other.create(options))
    assert exc.value.response["Error"]["Code"] == "WebAuthnRelyingPartyMismatchException"
    # a pool without WEB_AUTHN in its SignInPolicy
    plain = make_pool(server.client("cognito-idp"), {}, {"ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"]})
    create_confirmed_user(plain, "tova", password="Corr3ct-Horse-Battery!")
    with pytest.raises(ClientError) as exc:
        plain.idp.start_web_authn_registration(AccessToken=_access_token(plain, "tova"))
    assert exc.value.response["Error"]["Code"] == "WebAuthnNotEnabledException"
