"""`ostiary sso …`: instances with their start URLs, passwords (stdin, generated), invitations by
e-mail (kept in the outbox: the test server has no SMTP server), the MFA setting."""

from __future__ import annotations

import re

import httpx

from tests.accessportal.conftest import add_user, cli, form_action, hidden_fields, set_password, start_url
from tests.ssoadmin.conftest import Instance


def test_instances_lists_start_urls(portal: Instance) -> None:
    out = cli(portal.server, "sso", "instances")
    assert out.returncode == 0, out.stderr
    assert portal.identity_store_id in out.stdout
    assert start_url(portal) in out.stdout
    assert "/start/device" in out.stderr


def test_set_password_rules_and_unknown_user(portal: Instance) -> None:
    person = add_user(portal)
    weak = cli(
        portal.server,
        "sso",
        "set-password",
        "--identity-store-id",
        portal.identity_store_id,
        "--user-name",
        person.user_name,
        "--password-stdin",
        stdin="short\n",
    )
    assert weak.returncode != 0
    assert "8 to 64 characters" in weak.stderr
    unknown = cli(
        portal.server,
        "sso",
        "set-password",
        "--identity-store-id",
        portal.identity_store_id,
        "--user-name",
        "nobody-here",
        "--generate",
    )
    assert unknown.returncode != 0
    assert "no user" in unknown.stderr
    assert "Password set for" in set_password(portal, person)


def test_generated_password_is_printed_once(portal: Instance) -> None:
    person = add_user(portal)
    out = cli(
        portal.server,
        "sso",
        "set-password",
        "--identity-store-id",
        portal.identity_store_id,
        "--user-name",
        person.user_name,
        "--generate",
    )
    assert out.returncode == 0, out.stderr
    assert "One-time password" in out.stderr
    assert re.search(r"One-time password\s+(\S+)", out.stderr)


def test_invitation_email_sets_a_password_once(portal: Instance) -> None:
    person = add_user(portal)
    out = cli(
        portal.server, "sso", "invite", "--identity-store-id", portal.identity_store_id, "--user-name", person.user_name
    )
    assert out.returncode == 0, out.stderr
    assert person.email in out.stderr
    box = cli(portal.server, "outbox", "--destination", person.email, "--json", "--limit", "1")
    assert box.returncode == 0, box.stderr
    link = re.search(r"(http://\S+/invitation\?token=\S+)", box.stdout)
    assert link is not None, box.stdout
    url = link.group(1).split("\\n")[0].rstrip('"')
    assert url.startswith(start_url(portal) + "/invitation?token=")
    with httpx.Client() as web:
        page = web.get(url)
        assert page.status_code == 200, page.text
        assert person.user_name in page.text
        fields = hidden_fields(page.text)
        fields.update(password="Invited-Passw0rd!", confirm="Invited-Passw0rd!")
        done = web.post(portal.server.url + form_action(page.text), data=fields)
        assert done.status_code == 200, done.text
        assert "Your password is set" in done.text
        again = web.post(portal.server.url + form_action(page.text), data=fields)
        assert again.status_code == 400
        assert "expired or was already used" in again.text or "already used" in again.text


def test_mfa_setting(portal: Instance) -> None:
    for policy in ("required", "optional"):
        out = cli(portal.server, "sso", "mfa", "--identity-store-id", portal.identity_store_id, policy)
        assert out.returncode == 0, out.stderr
        listed = cli(portal.server, "sso", "instances")
        line = next(line for line in listed.stdout.splitlines() if portal.identity_store_id in line)
        assert policy in line


def test_forgot_password_link(portal: Instance) -> None:
    person = add_user(portal)
    set_password(portal, person)
    with httpx.Client() as web:
        page = web.get(f"{start_url(portal)}/forgot")
        assert page.status_code == 200
        answers = []
        for name in (person.user_name, "nobody-" + person.user_name):
            fields = hidden_fields(page.text)
            fields["username"] = name
            answer = web.post(portal.server.url + form_action(page.text), data=fields)
            assert answer.status_code == 200
            answers.append(answer.text.replace(name, "NAME"))
        assert answers[0] == answers[1]  # the same answer for an unknown user
        again = web.post(
            portal.server.url + form_action(page.text), data={**hidden_fields(page.text), "username": person.user_name}
        )
        assert again.status_code == 200
    box = cli(portal.server, "outbox", "--destination", person.email, "--json")
    assert box.returncode == 0, box.stderr
    assert box.stdout.count("Reset your AWS access portal password") == 1  # at most one a minute
    link = re.search(r"(http://\S+/invitation\?token=[\w-]+)", box.stdout)
    assert link is not None, box.stdout
    with httpx.Client() as web:
        page = web.get(link.group(1))
        fields = hidden_fields(page.text)
        fields.update(password="Reset-Passw0rd!", confirm="Reset-Passw0rd!")
        assert web.post(portal.server.url + form_action(page.text), data=fields).status_code == 200
        page = web.get(start_url(portal))
        fields = hidden_fields(page.text)
        fields.update(username=person.user_name, password="Reset-Passw0rd!")
        assert web.post(portal.server.url + form_action(page.text), data=fields).status_code == 303
