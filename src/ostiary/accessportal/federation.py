"""Sign-in through an external SAML 2.0 identity provider, when it is the instance's identity source
(IAM Identity Center's "external identity provider", with users provisioned by SCIM).

The operator gives the IdP's metadata (``ostiary sso identity-source --saml-metadata FILE``; kept in the
instance's ``settings.identity_source``). The portal is then a SAML service provider: its entity id and
ACS are ``<start URL>/federation`` and ``<start URL>/federation/acs``, its metadata at
``<start URL>/federation/metadata`` (what the IdP is configured with). Signing in sends the browser to
the IdP's SingleSignOnService (HTTP-Redirect binding) with an AuthnRequest; the IdP posts a signed
Response back. The assertion is verified as everywhere in Ostiary (``federation/saml.py``: signature by
a certificate of the metadata, times), and then: issued by the configured IdP, for this SP's audience
and ACS, answering the request this portal sent (its ID travels sealed in the RelayState, with where to
go next; unsolicited responses are refused), its ID spent once (``store/markers.py``). As in AWS, the
NameID names the user: it must equal a directory user's UserName (case ignored). Password sign-in is
off while the identity source is external.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.engine import RowMapping

from ostiary.accessportal import urls
from ostiary.federation import saml
from ostiary.identitystore import directory
from ostiary.protocol.context import Runtime
from ostiary.store import markers

SAML_TYPE = "EXTERNAL_SAML"
REQUEST_SECONDS = 600
_STATE = "accessportal-saml-relay"


class Refused(Exception):
    """A federated sign-in refused, with the sentence the page shows."""


@dataclass(frozen=True)
class Source:
    metadata: saml.Metadata


def source(instance: RowMapping) -> Source | None:
    """The instance's external SAML identity source, or None (its own directory)."""
    config = (instance["settings"] or {}).get("identity_source") or {}
    if config.get("type") != SAML_TYPE or not config.get("metadata"):
        return None
    return Source(saml.parse_metadata(str(config["metadata"])))


def settings_for(metadata_xml: str | None) -> dict[str, Any]:
    """The ``identity_source`` setting for an IdP's metadata (checked: SamlError), or the directory's."""
    if metadata_xml is None:
        return {"type": "IDENTITY_CENTER_DIRECTORY"}
    found = saml.parse_metadata(metadata_xml)
    if not found.sso_redirect_url:
        raise saml.SamlError("The metadata has no SingleSignOnService with the HTTP-Redirect binding")
    return {"type": SAML_TYPE, "metadata": metadata_xml}


def entity_id(public_url: str, store_id: str) -> str:
    return f"{urls.start_url(public_url, store_id)}/federation"


def acs_url(public_url: str, store_id: str) -> str:
    return f"{entity_id(public_url, store_id)}/acs"


def sp_metadata(public_url: str, store_id: str) -> str:
    return (
        '<?xml version="1.0"?>\n'
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f"entityID={quoteattr(entity_id(public_url, store_id))}>"
        '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" '
        'AuthnRequestsSigned="false" WantAssertionsSigned="true">'
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"
        '<md:AssertionConsumerService index="0" isDefault="true" '
        'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
        f"Location={quoteattr(acs_url(public_url, store_id))}/>"
        "</md:SPSSODescriptor></md:EntityDescriptor>\n"
    )


def redirect_to_idp(runtime: Runtime, found: Source, store_id: str, next_path: str) -> str:
    """The IdP's sign-in URL with an AuthnRequest (HTTP-Redirect binding) and the sealed RelayState."""
    public = runtime.settings.effective_public_url
    sso = found.metadata.sso_redirect_url or ""
    request_id = "_" + uuid.uuid4().hex
    instant = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="{instant}" Destination={quoteattr(sso)} '
        f"AssertionConsumerServiceURL={quoteattr(acs_url(public, store_id))} "
        'ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">'
        f"<saml:Issuer>{escape(entity_id(public, store_id))}</saml:Issuer>"
        "</samlp:AuthnRequest>"
    )
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(document.encode()) + compressor.flush()
    state = {"s": store_id, "r": request_id, "n": next_path, "e": time.time() + REQUEST_SECONDS}
    relay = runtime.box.seal(json.dumps(state), _STATE)
    query = urlencode({"SAMLRequest": base64.b64encode(deflated).decode(), "RelayState": relay})
    return f"{sso}{'&' if '?' in sso else '?'}{query}"


def complete(
    runtime: Runtime, instance: RowMapping, found: Source, response: str, relay: str, now: dt.datetime
) -> tuple[str, str, str]:
    """Check the IdP's Response; (user id, user name, where to go next). Refused otherwise."""
    store_id = instance["identity_store_id"]
    public = runtime.settings.effective_public_url
    try:
        state = json.loads(runtime.box.open(relay, _STATE)) if relay and len(relay) < 4096 else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("s") != store_id or float(state.get("e", 0)) < time.time():
        raise Refused("The sign-in took too long or did not start here. Sign in again.")
    if not response or len(response) > 512 * 1024:
        raise Refused("The identity provider's answer is missing.")
    try:
        assertion = saml.verify_response(response, found.metadata.certificates, now)
    except saml.SamlError as err:
        raise Refused(f"The identity provider's answer is not valid: {err}") from None
    if assertion.issuer != found.metadata.entity_id:
        raise Refused("The answer comes from another identity provider.")
    if entity_id(public, store_id) not in assertion.audiences:
        raise Refused("The answer is meant for another service.")
    acs = acs_url(public, store_id)
    if assertion.recipient != acs or (assertion.destination is not None and assertion.destination != acs):
        raise Refused("The answer is meant for another address.")
    if assertion.in_response_to != state.get("r"):
        raise Refused("The answer does not answer this portal's request. Sign in again.")
    expires = assertion.not_on_or_after or now + dt.timedelta(minutes=5)
    with runtime.store.tx() as conn:
        key = runtime.box.mac_key("accessportal-saml-assertion")
        marker = hmac.new(key, f"{store_id}|{assertion.assertion_id}".encode(), hashlib.sha256).hexdigest()
        fresh = markers.spend(conn, runtime.store.is_sqlite, marker, "accessportal-saml", expires)
        user = directory.user_by_name(conn, store_id, assertion.subject) if fresh else None
    if not fresh:
        raise Refused("This answer was already used. Sign in again.")
    if user is None or not directory.enabled(user):
        raise Refused("Your user is not in this portal's directory, or is disabled. Ask your administrator.")
    return str(user["user_id"]), str(user["user_name"]), str(state.get("n") or "")
