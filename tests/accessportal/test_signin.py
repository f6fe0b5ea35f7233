"""The portal's sign-in over HTTP (httpx with cookies): passwords set with the CLI, one-time passwords
changed at the first sign-in, authenticator apps (pyotp) enrolled when the instance requires MFA, lockout,
no user enumeration, CSRF, safe return paths, sign-out."""

from __future__ import annotations

import json
import re
import secrets
import time

import httpx
import pyotp
import pytest

from tests.accessportal.conftest import (
    Person,
    add_user,
    cli,
    form_action,
    hidden_fields,
    portal_user,
    set_password,
    sign_in,
    start_url,
)
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance

NEW_PASSWORD = "Chosen-Passw0rd!"


def session_cookie(instance: Instance) -> str:
    return f"ostiary-portal-{instance.identity_store_id}"


def post_form(web: httpx.Client, server: Server, page: httpx.Response, **values: str) -> httpx.Response:
    fields = hidden_fields(page.text)
    fields.update(values)
    return web.post(server.url + form_action(page.text), data=fields)


def error_of(page: httpx.Response) -> str:
    found = re.search(r'role="alert" id="error">([^<]*)<', page.text)
    return found.group(1) if found else ""


def test_sign_in_with_cli_password(portal: Instance) -> None:
    person = portal_user(portal)
    with httpx.Client() as web:
        done = sign_in(web, portal, person)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"/start/{portal.identity_store_id}"
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith(session_cookie(portal)))
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
        assert web.cookies.get(session_cookie(portal))


def test_security_headers(portal: Instance) -> None:
    page = httpx.get(start_url(portal))
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp  # no scripts at all
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text


def test_unknown_portal_is_not_found(server: Server) -> None:
    for path in ("/start/d-0000000000", "/start/nothing"):
        page = httpx.get(server.url + path)
        assert page.status_code == 404
        assert "There is no AWS access portal at this address." in page.text


def test_wrong_password_and_unknown_user_look_the_same(portal: Instance) -> None:
    person = portal_user(portal)
    with httpx.Client() as web:
        wrong = sign_in(web, portal, person, password="Wrong-Passw0rd!")
        unknown = sign_in(web, portal, Person("nobody-" + secrets.token_hex(3), "", ""), password="Wrong-Passw0rd!")
        no_password = sign_in(web, portal, add_user(portal), password="Wrong-Passw0rd!")
    for answer in (wrong, unknown, no_password):
        assert answer.status_code == 400
        assert error_of(answer) == "Incorrect username or password."


def test_lockout_counts_known_and_unknown_names_alike(portal: Instance) -> None:
    person = portal_user(portal)
    ghost = Person("ghost-" + secrets.token_hex(3), "", "")
    with httpx.Client() as web:
        for subject in (person, ghost):
            errors = [error_of(sign_in(web, portal, subject, password="Wrong-Passw0rd!")) for _ in range(6)]
            assert errors[:4] == ["Incorrect username or password."] * 4
            assert "Too many failed sign-in attempts" in errors[5]
        # locked: even the right password is refused
        locked = sign_in(web, portal, person)
        assert locked.status_code == 400
        assert "Too many failed sign-in attempts" in error_of(locked)


def test_csrf_is_required(portal: Instance) -> None:
    person = portal_user(portal)
    with httpx.Client() as web:
        page = web.get(start_url(portal))
        fields = {"username": person.user_name, "password": person.password}
        refused = web.post(portal.server.url + form_action(page.text), data=fields)
        assert refused.status_code == 403
        assert "The form has expired" in refused.text
        forged = web.post(portal.server.url + form_action(page.text), data={**fields, "_csrf": "0" * 64})
        assert forged.status_code == 403
    with httpx.Client() as other:  # another browser's token (no cookie) is refused too
        stolen = other.post(portal.server.url + form_action(page.text), data={**hidden_fields(page.text), **fields})
        assert stolen.status_code == 403


def test_return_path_stays_on_the_portal(portal: Instance) -> None:
    person = portal_user(portal)
    for target, expected in (
        ("https://evil.example/", f"/start/{portal.identity_store_id}"),
        ("//evil.example/x", f"/start/{portal.identity_store_id}"),
        ("/start/device?user_code=ABCD-EFGH", "/start/device?user_code=ABCD-EFGH"),
    ):
        with httpx.Client() as web:
            page = web.get(start_url(portal), params={"next": target})
            done = post_form(web, portal.server, page, username=person.user_name, password=person.password)
            assert done.status_code == 303
            assert done.headers["location"] == expected


def test_one_time_password_must_be_changed(portal: Instance) -> None:
    person = add_user(portal)
    set_password(portal, person, "--temporary")
    with httpx.Client() as web:
        page = sign_in(web, portal, person)
        assert page.status_code == 200
        assert "Set a new password" in page.text
        assert not web.cookies.get(session_cookie(portal))
        mismatch = post_form(web, portal.server, page, password=NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
        assert error_of(mismatch) == "The passwords do not match."
        weak = post_form(web, portal.server, mismatch, password="alllowercase1!", confirm="alllowercase1!")
        assert error_of(weak) == "The password must contain an uppercase letter."
        done = post_form(web, portal.server, weak, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert done.status_code == 303, done.text
        assert web.cookies.get(session_cookie(portal))
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 400  # the one-time password is gone
        assert sign_in(web, portal, person, password=NEW_PASSWORD).status_code == 303


def test_new_password_page_needs_the_password_step(portal: Instance) -> None:
    with httpx.Client() as web:
        page = web.get(start_url(portal))
        fields = hidden_fields(page.text)
        forged = web.post(
            f"{start_url(portal)}/new-password",
            data={"_csrf": fields["_csrf"], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert forged.status_code == 403 or "Sign-in expired" in forged.text


@pytest.fixture(scope="module")
def mfa_portal(server: Server) -> Instance:
    instance = new_instance(server, "mfa-" + secrets.token_hex(2))
    out = cli(server, "sso", "mfa", "--identity-store-id", instance.identity_store_id, "required")
    assert out.returncode == 0, out.stderr
    return instance


def enrol(web: httpx.Client, instance: Instance, person: Person) -> str:
    page = sign_in(web, instance, person)
    assert page.status_code == 200, page.text
    assert "Register an authenticator app" in page.text
    secret = re.search(r'id="secret">([A-Z2-7 ]+)<', page.text)
    assert secret is not None
    key = secret.group(1).replace(" ", "")
    wrong = post_form(web, instance.server, page, code="000000" if pyotp.TOTP(key).now() != "000000" else "111111")
    assert wrong.status_code == 400
    fresh = re.search(r'id="secret">([A-Z2-7 ]+)<', wrong.text)
    assert fresh is not None
    key = fresh.group(1).replace(" ", "")
    done = post_form(web, instance.server, wrong, code=pyotp.TOTP(key).now())
    assert done.status_code == 303, done.text
    return key


def test_mfa_required_enrols_then_asks_for_codes(mfa_portal: Instance) -> None:
    person = portal_user(mfa_portal)
    with httpx.Client() as web:
        key = enrol(web, mfa_portal, person)
        assert web.cookies.get(session_cookie(mfa_portal))
    totp = pyotp.TOTP(key)
    with httpx.Client() as web:
        page = sign_in(web, mfa_portal, person)
        assert "Verify it&#39;s you" in page.text or "Verify it's you" in page.text
        assert not web.cookies.get(session_cookie(mfa_portal))
        wrong = post_form(web, mfa_portal.server, page, code="12345")
        assert error_of(wrong).startswith("The code is not correct")
        # the enrolment's code is spent: the next step's code (or the one after) signs in
        code = totp.at(int(time.time()) + 30)
        done = post_form(web, mfa_portal.server, wrong, code=code)
        assert done.status_code == 303, done.text
        assert web.cookies.get(session_cookie(mfa_portal))
    with httpx.Client() as web:  # a code is accepted once
        page = sign_in(web, mfa_portal, person)
        reused = post_form(web, mfa_portal.server, page, code=code)
        assert reused.status_code == 400


def test_one_time_password_with_mfa_required(mfa_portal: Instance) -> None:
    person = add_user(mfa_portal)
    set_password(mfa_portal, person, "--temporary")
    with httpx.Client() as web:
        page = sign_in(web, mfa_portal, person)
        assert "Set a new password" in page.text
        setup = post_form(web, mfa_portal.server, page, password=NEW_PASSWORD, confirm=NEW_PASSWORD)
        assert setup.status_code == 200
        assert "Register an authenticator app" in setup.text
        assert not web.cookies.get(session_cookie(mfa_portal))


def test_sign_out_ends_the_session(portal: Instance) -> None:
    person = portal_user(portal)
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 303
        token = web.cookies.get(session_cookie(portal))
        home = web.get(start_url(portal))
        assert "Sign out" in home.text or home.status_code == 501
        page = web.get(start_url(portal))
        csrf = hidden_fields(page.text).get("_csrf", "")
        out = web.post(f"{start_url(portal)}/signout", data={"_csrf": csrf})
        assert out.status_code == 303
        assert out.headers["location"].endswith("?info=signedout")
        assert not web.cookies.get(session_cookie(portal))
    with httpx.Client(cookies={session_cookie(portal): token or ""}) as replay:
        again = replay.get(start_url(portal))
        assert "Sign in" in again.text and 'name="password"' in again.text  # the old token is revoked


def test_another_portals_token_is_refused(server: Server, portal: Instance) -> None:
    other = new_instance(server, "other-" + secrets.token_hex(2))
    person = portal_user(portal)
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 303
        token = web.cookies.get(session_cookie(portal)) or ""
    # the token of portal A presented as portal B's session: B shows its sign-in page
    with httpx.Client(cookies={session_cookie(other): token}) as forged:
        page = forged.get(start_url(other))
        assert page.status_code == 200
        assert 'name="password"' in page.text
    with httpx.Client(cookies={session_cookie(portal): "aoa" + secrets.token_urlsafe(40)}) as guessed:
        assert 'name="password"' in guessed.get(start_url(portal)).text


def test_sign_in_is_audited(server: Server) -> None:
    instance = new_instance(server, "audit-" + secrets.token_hex(2))
    person = portal_user(instance)
    with httpx.Client() as web:
        sign_in(web, instance, person, password="Wrong-Passw0rd!")
        sign_in(web, instance, Person("ghost-" + secrets.token_hex(3), "", ""), password="Wrong-Passw0rd!")
        assert sign_in(web, instance, person).status_code == 303
    trail = instance.client("cloudtrail")
    events = [
        {**e, "Record": json.loads(e["CloudTrailEvent"])}
        for page in trail.get_paginator("lookup_events").paginate()
        for e in page["Events"]
        if e["EventName"] in ("CredentialVerification", "UserAuthentication")
    ]
    trail.close()
    verifications = [e for e in events if e["EventName"] == "CredentialVerification"]
    assert {e["Record"]["eventSource"] for e in events} == {"signin.amazonaws.com"}
    outcomes = sorted(
        (e.get("Username"), e["Record"]["additionalEventData"]["credentialVerification"]) for e in verifications
    )
    assert outcomes == sorted(
        [
            (person.user_name, "Failure"),
            ("HIDDEN_DUE_TO_SECURITY_REASONS", "Failure"),
            (person.user_name, "Success"),
        ]
    )
    assert [e.get("Username") for e in events if e["EventName"] == "UserAuthentication"] == [person.user_name]
    dump = json.dumps([e["Record"] for e in events])
    assert person.password not in dump and "Wrong-Passw0rd!" not in dump


def test_a_disabled_user_cannot_sign_in_and_loses_the_session(portal: Instance) -> None:
    person = portal_user(portal)
    ids = portal.client("identitystore")
    with httpx.Client() as web:
        assert sign_in(web, portal, person).status_code == 303
        ids.update_user(
            IdentityStoreId=portal.identity_store_id,
            UserId=person.user_id,
            Operations=[{"AttributePath": "userStatus", "AttributeValue": "DISABLED"}],
        )
        assert 'name="password"' in web.get(start_url(portal)).text  # the session no longer counts
    with httpx.Client() as web:
        refused = sign_in(web, portal, person)
        assert refused.status_code == 400
        assert error_of(refused) == "Incorrect username or password."
