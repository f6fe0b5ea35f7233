"""Access portal fixtures: an instance with directory users, passwords set through `ostiary sso
set-password` (the CLI against the server's database), and helpers for the pages over plain HTTP."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from html import unescape
from typing import Any

import pytest

from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance

PASSWORD = "Portal-Passw0rd!"


def cli(server: Server, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`ostiary <args> --data-dir … --database-url …` against the server's store."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ostiary.cli",
            *args,
            "--data-dir",
            str(server.data_dir),
            "--database-url",
            server.database_url,
        ],
        input=stdin,
        capture_output=True,
        text=True,
        # the server's address, as an operator sets public_url for the start URLs the CLI prints
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin", "OSTIARY_PUBLIC_URL": server.url},
        timeout=90,
    )


@dataclass
class Person:
    user_name: str
    user_id: str
    email: str
    password: str = PASSWORD


def add_user(instance: Instance, prefix: str = "user") -> Person:
    name = f"{prefix}-{secrets.token_hex(3)}"
    email = f"{name}@example.com"
    ids = instance.client("identitystore")
    user_id = ids.create_user(
        IdentityStoreId=instance.identity_store_id,
        UserName=name,
        DisplayName=name.title(),
        Name={"GivenName": "Test", "FamilyName": name},
        Emails=[{"Value": email, "Type": "work", "Primary": True}],
    )["UserId"]
    return Person(name, user_id, email)


def set_password(instance: Instance, person: Person, *extra: str, password: str | None = None) -> str:
    out = cli(
        instance.server,
        "sso",
        "set-password",
        "--identity-store-id",
        instance.identity_store_id,
        "--user-name",
        person.user_name,
        "--password-stdin",
        *extra,
        stdin=(password or person.password) + "\n",
    )
    assert out.returncode == 0, out.stderr
    return out.stderr


def portal_user(instance: Instance, prefix: str = "user") -> Person:
    person = add_user(instance, prefix)
    set_password(instance, person)
    return person


@pytest.fixture(scope="module")
def portal(server: Server) -> Instance:
    """An instance of its own for the module (its MFA setting may change)."""
    return new_instance(server, "portal-" + secrets.token_hex(2))


def start_url(instance: Instance) -> str:
    return f"{instance.server.url}/start/{instance.identity_store_id}"


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden fields of a page's forms, as a browser would send them (entities decoded)."""
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: unescape(value) for name, value in found}


def form_action(html: str) -> str:
    found = re.search(r'<form method="post" action="([^"]+)"', html)
    assert found is not None, html[:2000]
    return found.group(1).replace("&amp;", "&")


def sign_in(web: Any, instance: Instance, person: Person, password: str | None = None) -> Any:
    """The password step over HTTP (httpx client with cookies); the response of the POST."""
    page = web.get(start_url(instance))
    assert page.status_code == 200, page.text
    fields = hidden_fields(page.text)
    fields.update(username=person.user_name, password=password or person.password)
    return web.post(instance.server.url + form_action(page.text), data=fields)
