"""AWS's SAML sign-in endpoint ``POST /saml`` with a real SAML IdP (pysaml2's IdP side of
tests/federation, signing with xmlsec1): one role gives its credentials at once; several give the
role-choice page (grouped by account) and the chosen role's credentials; an assertion is spent once (a
replay is refused, at the first post and at the choice); a choice of a role the assertion did not offer
and an altered choice state are refused; SessionDuration is honoured as AssumeRoleWithSAML does."""

from __future__ import annotations

import base64
import datetime as dt
import html
import json
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from ostiary.accessportal import urls
from ostiary.store.db import Store
from tests.conftest import Server, create_account
from tests.federation.saml_idp import SamlIdp
from tests.samlidp.portal import add_user, assign, browser, make_application, post_form
from tests.ssoadmin.conftest import new_instance

A = "https://aws.amazon.com/SAML/Attributes/"


@dataclass
class Setup:
    idp: SamlIdp
    roles: dict[str, str]  # name -> ARN
    providers: dict[str, str]  # account label -> provider ARN
    accounts: dict[str, str]  # label -> account id


def _trust(provider: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithSAML",
                    "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
                }
            ],
        }
    )


@pytest.fixture(scope="module")
def setup(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    idp = SamlIdp(tmp_path_factory.mktemp("saml-signin"))
    metadata = httpx.get(idp.base + "/metadata").text
    roles: dict[str, str] = {}
    providers: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for label, names in (("a", ["Admin", "ReadOnly"]), ("b", ["Billing"])):
        creds = create_account(server, f"saml-signin-{label}-{secrets.token_hex(3)}")
        iam = server.client("iam", **creds)
        provider = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="corp")["SAMLProviderArn"]
        providers[label] = provider
        accounts[label] = provider.split(":")[4]
        for name in names:
            roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(provider))["Role"]["Arn"]
    pair = {name: f"{arn},{providers['a' if name != 'Billing' else 'b']}" for name, arn in roles.items()}
    idp.users["solo"] = {A + "Role": [pair["Admin"]], A + "RoleSessionName": ["solo@corp.example"]}
    idp.users["many"] = {
        A + "Role": [pair["Admin"], pair["ReadOnly"], pair["Billing"]],
        A + "RoleSessionName": ["many@corp.example"],
        A + "SessionDuration": ["900"],
    }
    idp.users["stranger"] = {  # a role of a provider that does not exist
        A + "Role": [f"{roles['Admin']},arn:aws:iam::{accounts['a']}:saml-provider/nope"],
        A + "RoleSessionName": ["stranger"],
    }
    yield Setup(idp, roles, providers, accounts)
    idp.close()


def _response(server: Server, setup: Setup, user: str) -> str:
    """An IdP-initiated response made for AWS (audience ``urn:amazon:webservices``, recipient AWS's
    sign-in endpoint, as IdPs configured for AWS send), posted to Ostiary's ``/saml``."""
    return setup.idp.response(user)


def _credentials(page: str) -> dict[str, str]:
    env = dict(re.findall(r'export (AWS_[A-Z_]+)="([^"]*)"', html.unescape(page)))
    assert set(env) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}, page[:1500]
    return env


def _caller(server: Server, env: dict[str, str]) -> str:
    sts = server.client(
        "sts",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )
    return str(sts.get_caller_identity()["Arn"])


def _choice(page: str) -> tuple[str, list[tuple[str, list[str]]]]:
    state = re.search(r'name="state" value="([^"]*)"', page)
    assert state is not None, page[:1500]
    groups = []
    for account, body in re.findall(r"<legend>Account: (\d{12})</legend>(.*?)</fieldset>", page, re.S):
        groups.append(
            (account, [html.unescape(v) for v in re.findall(r'name="roleIndex" id="[^"]*" value="([^"]*)"', body)])
        )
    return html.unescape(state.group(1)), groups


def test_one_role(server: Server, setup: Setup) -> None:
    page = httpx.post(server.url + "/saml", data={"SAMLResponse": _response(server, setup, "solo")})
    assert page.status_code == 200, page.text
    assert (
        "unsafe-inline" not in page.headers["content-security-policy"] and page.headers["cache-control"] == "no-store"
    )
    env = _credentials(page.text)
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    assert f"[{setup.accounts['a']}_Admin]" in page.text and "aws_session_token=" in page.text
    expiry = re.search(r'datetime="([^"]+)"', page.text)
    assert expiry is not None
    remaining = dt.datetime.fromisoformat(expiry.group(1).replace("Z", "+00:00")) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=55) < remaining <= dt.timedelta(hours=1)
    assert _caller(server, env) == f"arn:aws:sts::{setup.accounts['a']}:assumed-role/Admin/solo@corp.example"


def test_several_roles_choice(server: Server, setup: Setup) -> None:
    page = httpx.post(server.url + "/saml", data={"SAMLResponse": _response(server, setup, "many")})
    assert page.status_code == 200, page.text
    state, groups = _choice(page.text)
    assert groups == sorted(
        [
            (setup.accounts["a"], [setup.roles["Admin"], setup.roles["ReadOnly"]]),
            (setup.accounts["b"], [setup.roles["Billing"]]),
        ]
    )
    chosen = httpx.post(server.url + "/saml", data={"state": state, "roleIndex": setup.roles["Billing"]})
    assert chosen.status_code == 200, chosen.text
    env = _credentials(chosen.text)
    assert _caller(server, env) == f"arn:aws:sts::{setup.accounts['b']}:assumed-role/Billing/many@corp.example"
    expiry = re.search(r'datetime="([^"]+)"', chosen.text)
    assert expiry is not None  # SessionDuration 900
    remaining = dt.datetime.fromisoformat(expiry.group(1).replace("Z", "+00:00")) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=13) < remaining <= dt.timedelta(minutes=15)

    # the choice cannot be made twice: the assertion is spent
    again = httpx.post(server.url + "/saml", data={"state": state, "roleIndex": setup.roles["Admin"]})
    assert again.status_code == 403 and "already used" in again.text and "AWS_SECRET" not in again.text


def test_replay_refused(server: Server, setup: Setup) -> None:
    response = _response(server, setup, "solo")
    first = httpx.post(server.url + "/saml", data={"SAMLResponse": response})
    assert first.status_code == 200
    replay = httpx.post(server.url + "/saml", data={"SAMLResponse": response})
    assert replay.status_code == 403 and "already used" in replay.text and "AWS_SECRET" not in replay.text
    # nor through the API: STS finds it spent too
    many = _response(server, setup, "many")
    choice = httpx.post(server.url + "/saml", data={"SAMLResponse": many})
    assert choice.status_code == 200
    assert httpx.post(server.url + "/saml", data={"SAMLResponse": many}).status_code == 403


def test_tampered_choice_refused(server: Server, setup: Setup) -> None:
    page = httpx.post(server.url + "/saml", data={"SAMLResponse": _response(server, setup, "many")})
    state, _ = _choice(page.text)
    # a role of the account the assertion did not offer
    other = setup.roles["Admin"].replace(":role/Admin", ":role/Other")
    refused = httpx.post(server.url + "/saml", data={"state": state, "roleIndex": other})
    assert refused.status_code == 400 and "not one your identity provider offered" in refused.text
    # an altered state
    raw = bytearray(base64.urlsafe_b64decode(state.split(":", 1)[1]))
    raw[20] ^= 1
    altered = "v1:" + base64.urlsafe_b64encode(bytes(raw)).decode()
    bad = httpx.post(server.url + "/saml", data={"state": altered, "roleIndex": setup.roles["Admin"]})
    assert bad.status_code == 400 and "AWS_SECRET" not in bad.text
    # the untouched state still works once (nothing was spent by the refusals)
    good = httpx.post(server.url + "/saml", data={"state": state, "roleIndex": setup.roles["ReadOnly"]})
    assert good.status_code == 200 and "AWS_SESSION_TOKEN" in good.text


def test_invalid_responses(server: Server, setup: Setup) -> None:
    document = base64.b64decode(_response(server, setup, "solo")).replace(b"solo@corp.example", b"eve@corp.example")
    tampered = httpx.post(server.url + "/saml", data={"SAMLResponse": base64.b64encode(document).decode()})
    assert tampered.status_code == 400 and "invalid SAML response" in tampered.text
    unknown_provider = httpx.post(server.url + "/saml", data={"SAMLResponse": _response(server, setup, "stranger")})
    assert unknown_provider.status_code == 400
    for data in ({}, {"SAMLResponse": "!!!"}, {"SAMLResponse": "x" * (300 * 1024)}):
        answer = httpx.post(server.url + "/saml", data=data)
        assert answer.status_code in (400, 413)
    # the response of another recipient (an application's ACS) is not AWS's
    other = setup.idp.response_for(
        "solo", audience="https://app.example.test", acs_url="https://app.example.test/acs", in_response_to=None
    )
    assert httpx.post(server.url + "/saml", data={"SAMLResponse": other}).status_code == 400


def test_ostiary_idp_to_aws_signin(server: Server, store: Store) -> None:
    """Ostiary's own IdP (a SAML application whose ACS is ``<public URL>/saml``) signs a directory user in
    to a role through ``/saml``: the IAM SAML provider holds the instance's metadata."""
    inst = new_instance(server, "idc-to-aws")
    iam = inst.client("iam")
    metadata = httpx.get(urls.saml_metadata_url(server.url, inst.identity_store_id)).text
    provider = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="ostiary-idc")["SAMLProviderArn"]
    trust = json.loads(_trust(provider))
    trust["Statement"][0]["Condition"]["StringEquals"]["SAML:aud"] = server.url + "/saml"
    role = iam.create_role(RoleName="Workforce", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    arn = make_application(
        inst,
        store,
        {
            "acs_url": server.url + "/saml",
            "sp_entity_id": "urn:amazon:webservices",
            "attributes": [
                {"name": A + "Role", "value": f"{role},{provider}", "format": "uri"},
                {"name": A + "RoleSessionName", "value": "${user:preferredUsername}", "format": "uri"},
                {"name": A + "SessionDuration", "value": "1800", "format": "uri"},
            ],
        },
    )
    user = add_user(inst, "worker-" + secrets.token_hex(3))
    assign(inst, arn, user)
    with browser(server.url, store, inst, user) as web:
        page = web.get(urls.saml_application_url(server.url, inst.identity_store_id, arn.rsplit("/", 1)[-1]))
        action, fields = post_form(page.text)
        assert action == server.url + "/saml"
        landed = web.post(action, data=fields)
    assert landed.status_code == 200, landed.text
    caller = _caller(server, _credentials(landed.text))
    assert re.fullmatch(rf"arn:aws:sts::{inst.account_id}:assumed-role/Workforce/worker-[0-9a-f]{{6}}", caller)
