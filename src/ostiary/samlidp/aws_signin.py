"""AWS's SAML sign-in endpoint, ``POST /saml`` (AWS: ``https://signin.aws.amazon.com/saml``; IAM User
Guide, "Enabling SAML 2.0 federated users to access the AWS Management Console"): an identity provider
posts a SAMLResponse whose ``https://aws.amazon.com/SAML/Attributes/Role`` values are
``role ARN,provider ARN`` pairs. The user gets the temporary credentials of one of those roles, as
AssumeRoleWithSAML gives them (there is no console to land in yet: the page shows them as environment
variables and a credentials-file block, with their expiry).

The assertion is verified as STS verifies it (``federation/saml.py``: signature by a certificate of the
provider's metadata, issuer = the provider's entity id, audience and recipient AWS's sign-in endpoint or
``<public URL>/saml``, validity) against each provider the pairs name; only pairs whose provider
verified it are offered. It is accepted once: its ID is marked spent at the first post (per issuer, in
the database: every process sees it), so posting it again is refused.

One role: its credentials at once. Several: a page of radio buttons grouped by account, as AWS's; the
choice posts back a sealed state (the assertion and the offered pairs, under the KEK, until the
assertion expires) with the role ARN, which must be one of the offered; then STS's
``AssumeRoleWithSAML`` (the same function, hence its trust-policy, SessionDuration, tags and
single-use checks: a second choice with the same state finds the assertion spent).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ostiary.audit import recorder as audit
from ostiary.federation import saml
from ostiary.iam.providers import find_saml_provider
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.samlidp.pages import Pages
from ostiary.samlidp.sso import Refused
from ostiary.store import markers
from ostiary.sts import federated

PATH = "/saml"
MAX_RESPONSE = 200 * 1024  # base64 characters
MAX_ROLES = 50
STATE_CONTEXT = "aws-saml-signin"
AGAIN = "Sign in again from your identity provider."
ALREADY_USED = "This SAML response was already used. " + AGAIN
INVALID = "Your request included an invalid SAML response. To sign in, go back to your identity provider and try again."


def _audiences(pages: Pages) -> set[str]:
    return {*saml.AWS_AUDIENCES, pages.runtime.settings.effective_public_url + PATH}


def _unverified_pairs(encoded: str) -> list[tuple[str, str]]:
    """The Role pairs as the document states them, before any signature check: only to know which
    providers to verify it against (nothing here is trusted)."""
    try:
        root = saml._parse(base64.b64decode(encoded, validate=False))
    except (saml.SamlError, ValueError):
        raise Refused("Invalid SAML response", INVALID, 400) from None
    values = [
        saml._text(v)
        for attr in root.iter(f"{{{saml.NS['saml']}}}Attribute")
        if attr.get("Name") == saml.ROLE_ATTRIBUTE
        for v in attr.findall("saml:AttributeValue", saml.NS)
    ]
    return _pairs(values)


def _pairs(values: list[str]) -> list[tuple[str, str]]:
    """(role ARN, provider ARN) of each Role value (either order, as AWS accepts)."""
    out: list[tuple[str, str]] = []
    for value in values[: MAX_ROLES * 2]:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 2:
            continue
        roles = [p for p in parts if ":role/" in p]
        providers = [p for p in parts if ":saml-provider/" in p]
        if len(roles) == 1 and len(providers) == 1 and (roles[0], providers[0]) not in out:
            out.append((roles[0], providers[0]))
    return out[:MAX_ROLES]


def verified_roles(pages: Pages, encoded: str, now: dt.datetime) -> tuple[saml.Assertion, list[tuple[str, str]]]:
    """The verified assertion and the role pairs it offers whose provider verified it."""
    candidates = sorted({provider for _, provider in _unverified_pairs(encoded)})
    if not candidates:
        raise Refused("No roles", "Your identity provider offered no AWS role to sign in with.", 400)
    verified: dict[str, saml.Assertion] = {}
    allowed = _audiences(pages)
    for provider_arn in candidates:
        with pages.runtime.store.read() as conn:
            provider = find_saml_provider(conn, provider_arn)
        if provider is None:
            continue
        try:
            meta = saml.parse_metadata(provider.metadata_document)
            assertion = saml.verify_response(encoded, meta.certificates, now)
        except saml.SamlError:
            continue
        if meta.valid_until is not None and meta.valid_until <= now:
            continue
        if assertion.issuer != meta.entity_id or not set(assertion.audiences) & allowed:
            continue
        if assertion.recipient not in allowed or (
            assertion.destination is not None and assertion.destination not in allowed
        ):
            continue
        verified[provider_arn] = assertion
    if not verified:
        raise Refused("Invalid SAML response", INVALID, 400)
    assertion = next(iter(verified.values()))
    # the roles, read again from what the signature covers
    offered = [pair for pair in _pairs(assertion.attributes.get(saml.ROLE_ATTRIBUTE, [])) if pair[1] in verified]
    if not offered:
        raise Refused("No roles", "Your identity provider offered no AWS role to sign in with.", 400)
    return assertion, offered


def _spend(pages: Pages, assertion_key: str, expires: dt.datetime, purpose: str) -> bool:
    """Mark the assertion (its issuer and ID) spent for ``purpose`` until it could no longer be
    accepted; False when it already was."""
    marker = hmac.new(pages.runtime.box.mac_key(purpose), assertion_key.encode(), hashlib.sha256).hexdigest()
    with pages.runtime.store.tx() as conn:
        return markers.spend(conn, pages.runtime.store.is_sqlite, marker, purpose, expires)


def _key_and_expiry(assertion: saml.Assertion) -> tuple[str, dt.datetime]:
    assert assertion.not_on_or_after is not None  # verify_response refuses assertions that never expire
    return (
        f"{assertion.issuer}|{assertion.assertion_id}",
        assertion.not_on_or_after + saml.CLOCK_SKEW + dt.timedelta(minutes=10),
    )


def _context(pages: Pages, request: Request) -> RequestContext:
    return RequestContext(
        runtime=pages.runtime,
        request_id=str(uuid.uuid4()),
        service="sts",
        operation="AssumeRoleWithSAML",
        region=pages.runtime.settings.region,
        principal=None,
        source_ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent"),
    )


def _credentials(pages: Pages, request: Request, encoded: str, role_arn: str, provider_arn: str) -> Response:
    params = {"RoleArn": role_arn, "PrincipalArn": provider_arn, "SAMLAssertion": encoded}
    ctx = _context(pages, request)
    try:
        out = federated.assume_role_with_saml(ctx, params) or {}
    except ServiceError as err:
        audit.record_failure(ctx, params, err)  # as the dispatcher records a refused AssumeRoleWithSAML
        message = err.message or "Your identity provider's assertion does not let you use this role."
        if "already used" in message:
            message = ALREADY_USED
        return pages.error("Sign-in refused", message, 403)
    creds = out["Credentials"]
    expiration: dt.datetime = creds["Expiration"]
    return pages.render(
        "credentials.html",
        role_name=role_arn.rsplit("/", 1)[-1],
        role_arn=role_arn,
        account_id=role_arn.split(":")[4],
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
        expiration=expiration.strftime("%Y-%m-%d %H:%M:%S UTC"),
        expiration_iso=expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        profile=f"{role_arn.split(':')[4]}_{role_arn.rsplit('/', 1)[-1]}",
    )


def _choice_page(pages: Pages, encoded: str, offered: list[tuple[str, str]], assertion: saml.Assertion) -> Response:
    key, _ = _key_and_expiry(assertion)
    assert assertion.not_on_or_after is not None
    doc = {"s": encoded, "p": offered, "k": key, "e": assertion.not_on_or_after.timestamp()}
    state = pages.runtime.box.seal(json.dumps(doc), STATE_CONTEXT)
    accounts: dict[str, list[dict[str, Any]]] = {}
    for role_arn, _ in offered:
        accounts.setdefault(role_arn.split(":")[4], []).append(
            {"index": role_arn, "name": role_arn.split(":", 5)[5].removeprefix("role/"), "checked": False}
        )
    accounts[min(accounts)][0]["checked"] = True
    listed = [{"id": account, "roles": roles} for account, roles in sorted(accounts.items())]
    return pages.render("roles.html", action=PATH, state=state, accounts=listed)


def _chosen(pages: Pages, request: Request, form: dict[str, str]) -> Response:
    try:
        doc = json.loads(pages.runtime.box.open(form["state"], STATE_CONTEXT))
    except Exception:
        raise Refused("Invalid request", "The sign-in form is not valid. " + AGAIN, 400) from None
    if float(doc.get("e", 0)) <= dt.datetime.now(dt.UTC).timestamp():
        raise Refused("Sign-in expired", "Your SAML response has expired. " + AGAIN, 400)
    chosen = form.get("roleIndex", "")
    offered = {str(role): str(provider) for role, provider in doc["p"]}
    if chosen not in offered:
        raise Refused("Invalid role", "The role you selected is not one your identity provider offered.", 400)
    # one choice per assertion (STS spends it per provider: two roles of two providers would both pass)
    expires = dt.datetime.fromtimestamp(float(doc["e"]), dt.UTC) + saml.CLOCK_SKEW + dt.timedelta(minutes=10)
    if not _spend(pages, str(doc["k"]), expires, "aws-saml-signin-choice"):
        return pages.error("Sign-in refused", ALREADY_USED, 403)
    return _credentials(pages, request, str(doc["s"]), chosen, offered[chosen])


def endpoint(pages: Pages, request: Request, form: dict[str, str] | None) -> Response:
    form = form or {}
    if "state" in form:
        return _chosen(pages, request, form)
    encoded = form.get("SAMLResponse", "")
    if not encoded or len(encoded) > MAX_RESPONSE:
        raise Refused("Invalid SAML response", INVALID, 400)
    now = dt.datetime.now(dt.UTC)
    assertion, offered = verified_roles(pages, encoded, now)
    if not _spend(pages, *_key_and_expiry(assertion), "aws-saml-signin"):
        raise Refused("Sign-in refused", ALREADY_USED, 403)
    if len(offered) == 1:
        role_arn, provider_arn = offered[0]
        return _credentials(pages, request, encoded, role_arn, provider_arn)
    return _choice_page(pages, encoded, offered, assertion)
