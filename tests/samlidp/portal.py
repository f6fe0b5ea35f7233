"""Helpers of the SAML IdP tests: a SAML application of an instance with its SAML settings, a directory
user assigned to it, a portal session for that user (the portal's session cookie, minted as the portal's
sign-in mints it), and a pysaml2 service provider that trusts the instance's IdP metadata."""

from __future__ import annotations

import datetime as dt
import html
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import SPConfig

from ostiary.samlidp import config
from ostiary.ssoadmin import applications
from ostiary.ssooidc import tokens
from ostiary.store.db import Store
from tests.federation.saml_idp import write_key_pair
from tests.ssoadmin.conftest import Instance

CUSTOM_SAML = "arn:aws:sso::aws:applicationProvider/custom-saml"
XMLSEC = "/usr/bin/xmlsec1"


def make_application(inst: Instance, store: Store, settings: dict[str, Any], name: str | None = None) -> str:
    admin = inst.client("sso-admin")
    arn = str(
        admin.create_application(
            InstanceArn=inst.instance_arn,
            ApplicationProviderArn=CUSTOM_SAML,
            Name=name or "app-" + secrets.token_hex(3),
        )["ApplicationArn"]
    )
    with store.tx() as conn:
        row = applications.application(conn, arn)
        assert row is not None
        config.put(conn, row, config.parse(settings), dt.datetime.now(dt.UTC))
    return arn


def assign(inst: Instance, arn: str, principal_id: str, kind: str = "USER") -> None:
    inst.client("sso-admin").create_application_assignment(
        ApplicationArn=arn, PrincipalId=principal_id, PrincipalType=kind
    )


def add_user(inst: Instance, name: str, email: str | None = None) -> str:
    extra: dict[str, Any] = {"Emails": [{"Value": email, "Type": "work", "Primary": True}]} if email else {}
    return str(
        inst.client("identitystore").create_user(
            IdentityStoreId=inst.identity_store_id,
            UserName=name,
            DisplayName=f"{name} Tester",
            Name={"GivenName": name.capitalize(), "FamilyName": "Tester"},
            **extra,
        )["UserId"]
    )


def browser(server_url: str, store: Store, inst: Instance, user_id: str | None) -> httpx.Client:
    """An HTTP client with cookies: signed in to the instance's portal as ``user_id`` (when given)."""
    client = httpx.Client(base_url=server_url, follow_redirects=False, timeout=30)
    if user_id is not None:
        with store.tx() as conn:
            token, _ = tokens.mint_session(conn, inst.identity_store_id, user_id, dt.datetime.now(dt.UTC))
        client.cookies.set(f"ostiary-portal-{inst.identity_store_id}", token)
    return client


def service_provider(
    folder: Path, idp_metadata: str, entity_id: str, acs_url: str, *, sign_requests: bool = False
) -> Saml2Client:
    conf: dict[str, Any] = {
        "entityid": entity_id,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(acs_url, BINDING_HTTP_POST)]},
                "want_response_signed": True,
                "want_assertions_signed": True,
                "allow_unsolicited": True,
                "authn_requests_signed": sign_requests,
            }
        },
        "metadata": {"inline": [idp_metadata]},
        "xmlsec_binary": XMLSEC,
        "allow_unknown_attributes": True,
    }
    if sign_requests:
        key_path, cert_path = write_key_pair(folder, "sp-" + secrets.token_hex(3))
        conf["key_file"], conf["cert_file"] = str(key_path), str(cert_path)
    sp = SPConfig()
    sp.load(conf)
    return Saml2Client(config=sp)


def post_form(page: str) -> tuple[str, dict[str, str]]:
    """The (action, hidden fields) of the IdP's auto-posting form."""
    action = re.search(r'<form method="post" action="([^"]*)"', page)
    assert action is not None, page[:800]
    fields = {
        html.unescape(n): html.unescape(v)
        for n, v in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page)
    }
    return html.unescape(action.group(1)), fields
