"""SAML, attacked from outside (issue 10, item 5): the user pool's assertion consumer service
(``POST /saml2/idpresponse``) and STS AssumeRoleWithSAML against a real pysaml2 IdP on loopback.

Responses are either the IdP's own (pysaml2, signed with xmlsec1) or forged here with lxml and
signed by signxml with the IdP's own key, where an attack needs a valid signature on part of the
document. What must hold:

- every value the server uses (InResponseTo, Recipient, Destination, NotOnOrAfter, Audience, NameID,
  attributes) comes from the element the signature covers, never from the unsigned envelope;
- XML signature wrapping (an unsigned assertion beside, around or instead of the signed one) fails;
- an assertion ID is accepted once until it expires, across processes (the marker is in the
  database), for the hosted sign-in and for AssumeRoleWithSAML;
- an IdP-initiated response (no InResponseTo) needs the provider's IDPInit and is still checked for
  signature, freshness, audience and recipient;
- the hosted error page is generic and never echoes the posted XML.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape, quoteattr

import httpx
import pytest
from botocore.exceptions import ClientError
from lxml import etree

from tests.conftest import ACCOUNT_ID, Server
from tests.federation.saml_idp import SamlIdp
from tests.oauth.conftest import CALLBACK, Hosted, make_hosted, pkce_pair

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml": SAML, "samlp": SAMLP, "ds": DS}
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
AWS_ACS = "https://signin.aws.amazon.com/saml"
A = "https://aws.amazon.com/SAML/Attributes/"
ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/saml-security"
PROVIDER = f"arn:aws:iam::{ACCOUNT_ID}:saml-provider/security-idp"
EMAIL_OID = "urn:oid:1.2.840.113549.1.9.1.1"
UNSET: Any = object()


# --- forging responses ----------------------------------------------------------------------------


def _instant(seconds: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def forge_assertion(
    idp: SamlIdp,
    *,
    audience: str,
    recipient: str | None,
    in_response_to: str | None = None,
    name_id: str = "carol-persistent-id",
    attributes: dict[str, list[str]] | None = None,
    not_before: str | None = UNSET,
    not_on_or_after: str | None = UNSET,
    confirmation_not_on_or_after: str | None = UNSET,
    assertion_id: str | None = None,
) -> Any:
    """An (unsigned) Assertion as an IdP would write it; ``None`` leaves an attribute out."""
    nb = _instant(-60) if not_before is UNSET else not_before
    noa = _instant(600) if not_on_or_after is UNSET else not_on_or_after
    cnoa = _instant(600) if confirmation_not_on_or_after is UNSET else confirmation_not_on_or_after

    def attr(name: str, value: str | None) -> str:
        return f" {name}={quoteattr(value)}" if value is not None else ""

    confirmation = (
        f"<saml:SubjectConfirmationData{attr('NotOnOrAfter', cnoa)}{attr('Recipient', recipient)}"
        f"{attr('InResponseTo', in_response_to)}/>"
    )
    statements = "".join(
        f"<saml:Attribute Name={quoteattr(name)}>"
        + "".join(f"<saml:AttributeValue>{escape(v)}</saml:AttributeValue>" for v in values)
        + "</saml:Attribute>"
        for name, values in (attributes or {}).items()
    )
    document = (
        f'<saml:Assertion xmlns:saml="{SAML}" ID="{assertion_id or "_a" + secrets.token_hex(12)}" '
        f'Version="2.0" IssueInstant="{_instant(0)}">'
        f"<saml:Issuer>{escape(idp.base + '/metadata')}</saml:Issuer>"
        f"<saml:Subject><saml:NameID Format={quoteattr(PERSISTENT)}>{escape(name_id)}</saml:NameID>"
        f'<saml:SubjectConfirmation Method="{BEARER}">{confirmation}</saml:SubjectConfirmation></saml:Subject>'
        f"<saml:Conditions{attr('NotBefore', nb)}{attr('NotOnOrAfter', noa)}>"
        f"<saml:AudienceRestriction><saml:Audience>{escape(audience)}</saml:Audience></saml:AudienceRestriction>"
        "</saml:Conditions>"
        f'<saml:AuthnStatement AuthnInstant="{_instant(0)}"><saml:AuthnContext><saml:AuthnContextClassRef>'
        "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
        "</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>"
        f"<saml:AttributeStatement>{statements}</saml:AttributeStatement>"
        "</saml:Assertion>"
    )
    return etree.fromstring(document)


def sign(idp: SamlIdp, element: Any) -> Any:
    """``element`` signed (enveloped, exclusive c14n, RSA-SHA256) with the IdP's own key."""
    from signxml import XMLSigner, methods
    from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod

    if element.find("ds:Signature", NS) is None:  # a placeholder right after the Issuer
        placeholder = etree.Element(f"{{{DS}}}Signature", Id="placeholder", nsmap={"ds": DS})
        element.insert(1, placeholder)
    signer = XMLSigner(
        method=methods.enveloped,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    key = Path(idp.config.key_file).read_bytes()
    cert = Path(idp.config.cert_file).read_text()
    return signer.sign(element, key=key, cert=cert, reference_uri=element.get("ID"))


def envelope(idp: SamlIdp, *assertions: Any, in_response_to: str | None = None, destination: str | None = None) -> Any:
    """A samlp:Response around ``assertions`` (unsigned unless signed afterwards)."""
    attrs = f' InResponseTo="{in_response_to}"' if in_response_to else ""
    attrs += f" Destination={quoteattr(destination)}" if destination else ""
    root = etree.fromstring(
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_r{secrets.token_hex(12)}" '
        f'Version="2.0" IssueInstant="{_instant(0)}"{attrs}>'
        f"<saml:Issuer>{escape(idp.base + '/metadata')}</saml:Issuer>"
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        "</samlp:Response>"
    )
    for assertion in assertions:
        root.append(assertion)
    return root


def encode(element: Any) -> str:
    return base64.b64encode(etree.tostring(element)).decode()


def decode(response: str) -> Any:
    return etree.fromstring(base64.b64decode(response))


def strip_signatures(element: Any) -> Any:
    copy = etree.fromstring(etree.tostring(element))
    for sig in copy.findall(".//ds:Signature", NS):
        sig.getparent().remove(sig)
    return copy


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    s: Server = server_factory()
    return s


@pytest.fixture(scope="module")
def twin(server_factory: Any, srv: Server) -> Server:
    """A second process on the same database (replay markers must hold across processes)."""
    s: Server = server_factory(share_with=srv)
    return s


@pytest.fixture(scope="module")
def saml_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamlIdp]:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-security"))
    idp.users["carol"] = {"email": ["carol@saml.example.com"]}
    idp.users["alice"] = {A + "Role": [f"{ROLE},{PROVIDER}"], A + "RoleSessionName": ["alice"]}
    yield idp
    idp.close()


@pytest.fixture(scope="module")
def hosted(srv: Server, saml_idp: SamlIdp) -> Hosted:
    h = make_hosted(srv)
    metadata = saml_idp.metadata()
    mapping = {"email": EMAIL_OID}
    for name, details in (
        ("Okta", {"MetadataFile": metadata}),
        ("OktaInit", {"MetadataFile": metadata, "IDPInit": "true"}),
    ):
        h.idp.create_identity_provider(
            UserPoolId=h.pool_id,
            ProviderName=name,
            ProviderType="SAML",
            ProviderDetails=details,
            AttributeMapping=mapping,
        )
    h.idp.update_user_pool_client(
        UserPoolId=h.pool_id,
        ClientId=h.client_id,
        ClientName="web",
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email"],
        CallbackURLs=[CALLBACK],
        SupportedIdentityProviders=["COGNITO", "Okta", "OktaInit"],
    )
    return h


@pytest.fixture(scope="module")
def role(srv: Server, saml_idp: SamlIdp) -> str:
    iam = srv.client("iam")
    arn = iam.create_saml_provider(SAMLMetadataDocument=saml_idp.metadata(), Name="security-idp")["SAMLProviderArn"]
    assert arn == PROVIDER
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithSAML"}],
    }
    iam.create_role(RoleName="saml-security", AssumeRolePolicyDocument=json.dumps(trust))
    return ROLE


# --- helpers -----------------------------------------------------------------------------------------


def acs(h: Hosted) -> str:
    return f"{h.base}/saml2/idpresponse"


def audience(h: Hosted) -> str:
    return f"urn:amazon:cognito:sp:{h.pool_id}"


def sp_start(h: Hosted, provider: str = "Okta") -> tuple[str, str]:
    """Start an SP-initiated sign-in: (RelayState, the AuthnRequest's ID)."""
    _, challenge = pkce_pair()
    params = {
        "client_id": h.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "identity_provider": provider,
    }
    to_idp = httpx.get(f"{h.base}/oauth2/authorize", params=params, follow_redirects=False)
    assert to_idp.status_code == 302, to_idp.text[:500]
    query = parse_qs(urlsplit(to_idp.headers["location"]).query)
    request = etree.fromstring(zlib.decompress(base64.b64decode(query["SAMLRequest"][0]), -15))
    return query["RelayState"][0], str(request.get("ID"))


def unsolicited_relay(h: Hosted, provider: str = "OktaInit") -> str:
    return urlencode(
        {
            "response_type": "code",
            "client_id": h.client_id,
            "redirect_uri": CALLBACK,
            "identity_provider": provider,
            "scope": "openid email",
        }
    )


def post_acs(h: Hosted, response: str, relay: str, via: Server | None = None) -> httpx.Response:
    """POST to the pool's ACS; ``via`` another process, addressed by the same host name (so the ACS
    URL, which the Recipient must name, is the same)."""
    if via is None:
        return httpx.post(acs(h), data={"SAMLResponse": response, "RelayState": relay}, follow_redirects=False)
    return httpx.post(
        f"{via.url}/_domain/{h.domain}/saml2/idpresponse",
        data={"SAMLResponse": response, "RelayState": relay},
        headers={"Host": urlsplit(h.server.url).netloc},
        follow_redirects=False,
    )


def signed_in(resp: httpx.Response) -> bool:
    return (
        resp.status_code == 302
        and resp.headers["location"].startswith(CALLBACK)
        and "code=" in resp.headers["location"]
    )


def refused(resp: httpx.Response) -> bool:
    return resp.status_code == 400 and "code=" not in resp.headers.get("location", "")


def idp_initiated(h: Hosted, idp: SamlIdp, **forge: Any) -> Any:
    """A signed IdP-initiated assertion for the pool (forge's keywords override)."""
    args: dict[str, Any] = {
        "audience": audience(h),
        "recipient": acs(h),
        "attributes": {EMAIL_OID: ["carol@saml.example.com"]},
    }
    args.update(forge)
    return sign(idp, forge_assertion(idp, **args))


def assume(srv: Server, response: str, server: Server | None = None) -> dict[str, Any]:
    out: dict[str, Any] = (
        (server or srv).client("sts").assume_role_with_saml(RoleArn=ROLE, PrincipalArn=PROVIDER, SAMLAssertion=response)
    )
    return out


def sts_refused(srv: Server, response: str, server: Server | None = None) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        assume(srv, response, server)
    error = exc.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def for_sts(idp: SamlIdp, **forge: Any) -> Any:
    args: dict[str, Any] = {
        "audience": "urn:amazon:webservices",
        "recipient": AWS_ACS,
        "name_id": "alice-persistent-id",
        "attributes": {A + "Role": [f"{ROLE},{PROVIDER}"], A + "RoleSessionName": ["alice"]},
    }
    args.update(forge)
    return forge_assertion(idp, **args)


# --- InResponseTo comes from what is signed ---------------------------------------------------------------


def test_envelope_in_response_to_does_not_answer_a_request(hosted: Hosted, saml_idp: SamlIdp) -> None:
    """An unsolicited signed assertion (no InResponseTo inside) in an envelope that claims to answer
    the attacker's own AuthnRequest: the unsigned envelope's InResponseTo must not count, or any
    captured IdP-initiated assertion signs in through a provider without IDPInit."""
    relay, request_id = sp_start(hosted, "Okta")
    unsolicited = decode(
        saml_idp.response_for("carol", audience=audience(hosted), acs_url=acs(hosted), in_response_to=None)
    )
    unsolicited.set("InResponseTo", request_id)
    resp = post_acs(hosted, encode(unsolicited), relay)
    assert refused(resp), (resp.status_code, resp.headers.get("location"))
    # the same request answered by the IdP inside the signed assertion signs in
    relay, request_id = sp_start(hosted, "Okta")
    answer = idp_initiated(hosted, saml_idp, in_response_to=request_id)
    assert signed_in(post_acs(hosted, encode(envelope(saml_idp, answer)), relay))


def test_in_response_to_of_a_signed_response_counts(hosted: Hosted, saml_idp: SamlIdp) -> None:
    """When the Response itself is what is signed, its InResponseTo (and Destination) are signed too."""
    relay, request_id = sp_start(hosted, "Okta")
    inner = forge_assertion(
        saml_idp, audience=audience(hosted), recipient=acs(hosted), attributes={EMAIL_OID: ["carol@saml.example.com"]}
    )
    signed = sign(saml_idp, envelope(saml_idp, inner, in_response_to=request_id, destination=acs(hosted)))
    assert signed_in(post_acs(hosted, encode(signed), relay))
    # the signed InResponseTo names another request
    relay, request_id = sp_start(hosted, "Okta")
    inner = forge_assertion(saml_idp, audience=audience(hosted), recipient=acs(hosted))
    other = sign(saml_idp, envelope(saml_idp, inner, in_response_to="_other", destination=acs(hosted)))
    assert refused(post_acs(hosted, encode(other), relay))


def test_signed_destination_must_be_this_acs(hosted: Hosted, saml_idp: SamlIdp) -> None:
    """A Response signed for another service's ACS (Destination) is not accepted here."""
    relay, request_id = sp_start(hosted, "Okta")
    inner = forge_assertion(saml_idp, audience=audience(hosted), recipient=acs(hosted), in_response_to=request_id)
    signed = sign(saml_idp, envelope(saml_idp, inner, destination="https://elsewhere.example.com/acs"))
    assert refused(post_acs(hosted, encode(signed), relay))


# --- IdP-initiated ------------------------------------------------------------------------------------------


def test_idp_initiated_needs_idpinit(hosted: Hosted, saml_idp: SamlIdp) -> None:
    response = encode(envelope(saml_idp, idp_initiated(hosted, saml_idp)))
    resp = post_acs(hosted, response, unsolicited_relay(hosted, "Okta"))
    assert refused(resp) and "IDPInit" in resp.text
    # an SP-initiated answer (signed InResponseTo) is no unsolicited response either
    answer = encode(envelope(saml_idp, idp_initiated(hosted, saml_idp, in_response_to="_someone-elses")))
    assert refused(post_acs(hosted, answer, unsolicited_relay(hosted)))


@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "wrong-audience",
        "wrong-recipient",
        "no-recipient",
        "expired",
        "expired-confirmation",
        "not-yet-valid",
        "never-expires",
        "other-idp",
    ],
)
def test_idp_initiated_response_is_still_checked(hosted: Hosted, saml_idp: SamlIdp, case: str) -> None:
    forge: dict[str, Any] = {
        "wrong-audience": {"audience": "urn:amazon:cognito:sp:us-east-1_Other"},
        "wrong-recipient": {"recipient": "https://elsewhere.example.com/saml2/idpresponse"},
        "no-recipient": {"recipient": None},
        "expired": {"not_on_or_after": _instant(-3600), "not_before": _instant(-7200)},
        "expired-confirmation": {"confirmation_not_on_or_after": _instant(-3600)},
        "not-yet-valid": {"not_before": _instant(3600)},
        "never-expires": {"not_on_or_after": None, "confirmation_not_on_or_after": None},
    }.get(case, {})
    if case == "unsigned":
        assertion = strip_signatures(idp_initiated(hosted, saml_idp))
    elif case == "other-idp":
        other = SamlIdp(Path(saml_idp.config.key_file).parent, name="intruder")
        try:
            other.users = saml_idp.users
            assertion = sign(other, forge_assertion(other, audience=audience(hosted), recipient=acs(hosted)))
        finally:
            other.close()
    else:
        assertion = idp_initiated(hosted, saml_idp, **forge)
    resp = post_acs(hosted, encode(envelope(saml_idp, assertion)), unsolicited_relay(hosted))
    assert refused(resp), (case, resp.status_code, resp.text[:300])


def test_idp_initiated_assertion_is_single_use_across_processes(
    hosted: Hosted, saml_idp: SamlIdp, twin: Server
) -> None:
    response = encode(envelope(saml_idp, idp_initiated(hosted, saml_idp)))
    assert signed_in(post_acs(hosted, response, unsolicited_relay(hosted)))
    replay = post_acs(hosted, response, unsolicited_relay(hosted), via=twin)
    assert refused(replay) and "already used" in replay.text
    # a fresh envelope around the same signed assertion is the same assertion
    again = decode(response)
    again.set("ID", "_fresh" + secrets.token_hex(8))
    assert refused(post_acs(hosted, encode(again), unsolicited_relay(hosted)))


def test_sp_initiated_assertion_is_single_use(hosted: Hosted, saml_idp: SamlIdp) -> None:
    """The assertion of an SP-initiated sign-in is spent too: it cannot come back unsolicited."""
    relay, request_id = sp_start(hosted, "OktaInit")
    assertion = idp_initiated(hosted, saml_idp, in_response_to=request_id)
    response = encode(envelope(saml_idp, assertion))
    assert signed_in(post_acs(hosted, response, relay))
    assert refused(post_acs(hosted, response, relay))
    assert refused(post_acs(hosted, response, unsolicited_relay(hosted)))


# --- signature wrapping -------------------------------------------------------------------------------------


def _evil_copy(signed: Any, email: str) -> Any:
    evil = strip_signatures(signed)
    evil.set("ID", "_evil" + secrets.token_hex(6))
    for value in evil.iter(f"{{{SAML}}}AttributeValue"):
        value.text = email
    for name_id in evil.iter(f"{{{SAML}}}NameID"):
        name_id.text = "mallory-persistent-id"
    return evil


@pytest.mark.parametrize(
    "wrap",
    [
        "evil-beside-signed",
        "signed-beside-evil",
        "signed-in-extensions",
        "signed-inside-evil-advice",
        "evil-inside-signed-response",
        "signed-response-inside-evil-response",
        "duplicate-id",
    ],
)
def test_signature_wrapping_is_refused(hosted: Hosted, saml_idp: SamlIdp, wrap: str) -> None:
    email = "victim@saml.example.com"
    signed = idp_initiated(hosted, saml_idp)
    evil = _evil_copy(signed, email)
    if wrap == "evil-beside-signed":
        root = envelope(saml_idp, evil, signed)
    elif wrap == "signed-beside-evil":
        root = envelope(saml_idp, signed, evil)
    elif wrap == "signed-in-extensions":
        root = envelope(saml_idp, evil)
        extensions = etree.Element(f"{{{SAMLP}}}Extensions")
        extensions.append(signed)
        root.insert(1, extensions)
    elif wrap == "signed-inside-evil-advice":
        advice = etree.SubElement(evil, f"{{{SAML}}}Advice")
        advice.append(signed)
        root = envelope(saml_idp, evil)
    elif wrap == "evil-inside-signed-response":
        inner = forge_assertion(saml_idp, audience=audience(hosted), recipient=acs(hosted))
        root = sign(saml_idp, envelope(saml_idp, inner, destination=acs(hosted)))
        root.append(_evil_copy(inner, email))
    elif wrap == "signed-response-inside-evil-response":
        inner = forge_assertion(saml_idp, audience=audience(hosted), recipient=acs(hosted))
        original = sign(saml_idp, envelope(saml_idp, inner, destination=acs(hosted)))
        root = envelope(saml_idp, _evil_copy(inner, email))
        extensions = etree.Element(f"{{{SAMLP}}}Extensions")
        extensions.append(original)
        root.insert(1, extensions)
    else:  # the evil assertion takes the signed one's ID, the signed one hides in the signature
        evil.set("ID", signed.get("ID"))
        root = envelope(saml_idp, evil)
        signature = signed.find("ds:Signature", NS)
        obj = etree.SubElement(signature, f"{{{DS}}}Object")
        obj.append(strip_signatures(signed))
        evil.insert(1, signature)
    resp = post_acs(hosted, encode(root), unsolicited_relay(hosted))
    assert refused(resp), (wrap, resp.status_code, resp.headers.get("location"))
    users = hosted.idp.list_users(UserPoolId=hosted.pool_id, Filter=f'email = "{email}"')["Users"]
    assert users == []


def test_comment_in_name_id_does_not_truncate_it(srv: Server, saml_idp: SamlIdp, role: str) -> None:
    """A comment slipped into a signed NameID (exclusive c14n leaves comments out of the digest)
    must not cut the value short: the signed value is the whole text."""
    signed = sign(saml_idp, for_sts(saml_idp, name_id="admin.attacker.example"))
    xml = etree.tostring(envelope(saml_idp, signed))
    tampered = xml.replace(b">admin.attacker.example<", b">admin<!---->.attacker.example<")
    assert tampered != xml
    out = assume(srv, base64.b64encode(tampered).decode())
    assert out["Subject"] == "admin.attacker.example"
    # and in an attribute value (RoleSessionName)
    signed = sign(
        saml_idp,
        for_sts(
            saml_idp,
            attributes={A + "Role": [f"{ROLE},{PROVIDER}"], A + "RoleSessionName": ["admin.attacker.example"]},
        ),
    )
    xml = etree.tostring(envelope(saml_idp, signed))
    tampered = xml.replace(b">admin.attacker.example<", b">admin<!-- x -->.attacker.example<")
    out = assume(srv, base64.b64encode(tampered).decode())
    assert out["AssumedRoleUser"]["Arn"].endswith("/admin.attacker.example")


# --- the error page ------------------------------------------------------------------------------------------


def test_error_page_does_not_echo_the_response(hosted: Hosted, saml_idp: SamlIdp) -> None:
    marker = "ECHO" + secrets.token_hex(6)
    malformed = base64.b64encode(f"<samlp:Response xmlns:samlp='{SAMLP}'><{marker}".encode()).decode()
    signed_bad_time = encode(envelope(saml_idp, idp_initiated(hosted, saml_idp, not_before=f"<b>{marker}</b>")))
    unsigned = encode(envelope(saml_idp, strip_signatures(idp_initiated(hosted, saml_idp, name_id=marker))))
    for response in (malformed, signed_bad_time, unsigned):
        resp = post_acs(hosted, response, unsolicited_relay(hosted))
        assert refused(resp)
        assert marker not in resp.text and marker.lower() not in resp.text.lower()


# --- AssumeRoleWithSAML -----------------------------------------------------------------------------------------


def test_sts_assertion_is_single_use_across_processes(srv: Server, twin: Server, saml_idp: SamlIdp, role: str) -> None:
    response = saml_idp.response("alice")
    assert assume(srv, response)["Subject"] == "alice-persistent-id"
    code, _ = sts_refused(srv, response)
    assert code == "InvalidIdentityToken"
    assert sts_refused(srv, response, twin)[0] == "InvalidIdentityToken"
    # the same signed assertion in a fresh envelope is still the same assertion
    again = decode(response)
    again.set("ID", "_fresh" + secrets.token_hex(8))
    assert sts_refused(srv, encode(again))[0] == "InvalidIdentityToken"


@pytest.mark.parametrize("case", ["no-recipient", "wrong-recipient", "never-expires", "wrong-destination"])
def test_sts_assertion_must_be_addressed_and_expire(srv: Server, saml_idp: SamlIdp, role: str, case: str) -> None:
    if case == "no-recipient":
        response = envelope(saml_idp, sign(saml_idp, for_sts(saml_idp, recipient=None)))
    elif case == "wrong-recipient":
        response = envelope(saml_idp, sign(saml_idp, for_sts(saml_idp, recipient="https://elsewhere.example.com/")))
    elif case == "never-expires":
        assertion = for_sts(saml_idp, not_on_or_after=None, confirmation_not_on_or_after=None)
        response = envelope(saml_idp, sign(saml_idp, assertion))
    else:
        response = sign(saml_idp, envelope(saml_idp, for_sts(saml_idp), destination="https://elsewhere.example.com/"))
    code, _ = sts_refused(srv, encode(response))
    assert code in ("InvalidIdentityToken", "ExpiredTokenException"), case
    # the forged shape itself is accepted when addressed properly
    assert assume(srv, encode(envelope(saml_idp, sign(saml_idp, for_sts(saml_idp)))))["Subject"]


def test_sts_signature_wrapping_is_refused(srv: Server, saml_idp: SamlIdp, role: str) -> None:
    signed = sign(saml_idp, for_sts(saml_idp))
    evil = strip_signatures(signed)
    evil.set("ID", "_evil")
    for value in evil.iter(f"{{{SAML}}}AttributeValue"):
        if value.text == "alice":
            value.text = "root"
    for root in (envelope(saml_idp, evil, signed), envelope(saml_idp, signed, evil)):
        assert sts_refused(srv, encode(root))[0] == "InvalidIdentityToken"
    # unsigned
    assert sts_refused(srv, encode(envelope(saml_idp, evil)))[0] == "InvalidIdentityToken"
