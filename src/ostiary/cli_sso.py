"""`ostiary sso …`: IAM Identity Center's operator commands (AWS does these from its console).

- ``instances``: every instance with its identity store and access-portal start URL;
- ``set-password``: a directory user's password (prompted, read from stdin, or generated and printed
  once), optionally a one-time password to change at the next sign-in;
- ``invite``: an e-mail with a one-time link to choose a password;
- ``identity-source``: this directory (passwords) or an external SAML 2.0 IdP (its metadata);
- ``mfa``: the instance's MFA setting (``required``: authenticator app at every sign-in, enrolled at the
  first; ``optional``); ``reset-mfa``: forget a user's authenticator app.

Registered on the main group by ``register`` (cli.py), which hands over its common options and settings
loader (this module imports nothing of cli.py).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import select, update

from ostiary.accessportal import credentials, federation, invitations, urls
from ostiary.app import build_runtime
from ostiary.config import Settings
from ostiary.identitystore import directory
from ostiary.notify import delivery
from ostiary.protocol.context import Runtime
from ostiary.ssoadmin import instances
from ostiary.store import tables as t

console = Console(stderr=True)


def _find_user(runtime: Runtime, store_id: str, user_name: str) -> Any:
    with runtime.store.read() as conn:
        if instances.by_identity_store(conn, store_id) is None:
            raise click.ClickException(f"no instance has the identity store {store_id}")
        user = directory.user_by_name(conn, store_id, user_name)
    if user is None:
        raise click.ClickException(f"no user {user_name!r} in the identity store {store_id}")
    return user


def register(main: click.Group, common: Callable[[Any], Any], load: Callable[..., Settings]) -> None:
    @main.group()
    def sso() -> None:
        """IAM Identity Center: instances, directory users' passwords and invitations."""

    @sso.command("instances")
    @common
    def sso_instances(**opts: Any) -> None:
        """List instances with their access-portal start URLs."""
        settings = load(**opts)
        runtime = build_runtime(settings)
        try:
            with runtime.store.read() as conn:
                rows = conn.execute(select(t.sso_instances).order_by(t.sso_instances.c.created_at)).mappings().all()
        finally:
            runtime.store.dispose()
        table = Table(title="IAM Identity Center instances")
        for col in ("Instance", "Name", "Account", "Identity store", "Status", "Sign-in", "MFA", "Start URL"):
            table.add_column(col, overflow="fold")
        for row in rows:
            table.add_row(
                row["instance_arn"],
                row["name"] or "",
                row["account_id"],
                row["identity_store_id"],
                row["status"],
                "external SAML IdP" if federation.source(row) is not None else "passwords",
                credentials.mfa_policy(row),
                urls.start_url(settings.effective_public_url, row["identity_store_id"]),
            )
        Console(width=max(Console().width, 200)).print(table)
        click.echo(f"Device approval page: {urls.device_url(settings.effective_public_url)}", err=True)

    @sso.command("set-password")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.option("--user-name", required=True, help="The directory user's UserName.")
    @click.option("--temporary", is_flag=True, help="A one-time password: to be changed at the next sign-in.")
    @click.option("--generate", is_flag=True, help="Generate a one-time password and print it once.")
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def set_password(
        identity_store_id: str, user_name: str, temporary: bool, generate: bool, password_stdin: bool, **opts: Any
    ) -> None:
        """Set a directory user's password (prompted unless --generate or --password-stdin)."""
        runtime = build_runtime(load(**opts))
        try:
            user = _find_user(runtime, identity_store_id, user_name)
            if generate:
                password, temporary = credentials.generate_password(), True
            elif password_stdin:
                password = sys.stdin.readline().rstrip("\r\n")
            else:
                password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
            if not generate:
                problem = credentials.password_problem(password)
                if problem:
                    raise click.ClickException(problem)
            stored = credentials.hash_for(runtime.passwords, password, generated=generate)
            with runtime.store.tx() as conn:
                credentials.store_hash(
                    conn, identity_store_id, user["user_id"], stored, dt.datetime.now(dt.UTC), temporary=temporary
                )
        finally:
            runtime.store.dispose()
        kind = "One-time password" if temporary else "Password"
        if generate:
            console.print(
                Panel(
                    f"[bold]User[/bold] {user['user_name']}\n[bold]One-time password[/bold] {password}\n"
                    "(shown once; the user chooses a new password at the first sign-in)",
                    title="Password set",
                    expand=False,
                )
            )
        else:
            console.print(f"{kind} set for {user['user_name']}.")

    @sso.command("invite")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.option("--user-name", required=True, help="The directory user's UserName.")
    def invite(identity_store_id: str, user_name: str, **opts: Any) -> None:
        """E-mail a user a one-time link (7 days) to choose a password."""
        settings = load(**opts)
        runtime = build_runtime(settings)
        try:
            user = _find_user(runtime, identity_store_id, user_name)
            with runtime.store.tx() as conn:
                address = invitations.send(conn, settings, identity_store_id, user, dt.datetime.now(dt.UTC))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            runtime.store.dispose()
        delivery.drain(15.0)  # the background sender must finish before the process ends
        console.print(f"Invitation sent to {address}.")

    @sso.command("mfa")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.argument("policy", type=click.Choice(credentials.MFA_POLICIES))
    def mfa(identity_store_id: str, policy: str, **opts: Any) -> None:
        """Require an authenticator app at sign-in (required) or let users choose (optional)."""
        runtime = build_runtime(load(**opts))
        try:
            with runtime.store.tx() as conn:
                row = instances.by_identity_store(conn, identity_store_id)
                if row is None:
                    raise click.ClickException(f"no instance has the identity store {identity_store_id}")
                settings = {**(row["settings"] or {}), "mfa": policy}
                i = t.sso_instances
                conn.execute(update(i).where(i.c.instance_arn == row["instance_arn"]).values(settings=settings))
        finally:
            runtime.store.dispose()
        console.print(f"MFA {policy} for {identity_store_id}.")

    @sso.command("identity-source")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.option(
        "--saml-metadata",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="An external SAML 2.0 IdP's metadata file: users sign in there.",
    )
    @click.option("--directory", is_flag=True, help="Back to Identity Center's own directory (passwords).")
    def identity_source(identity_store_id: str, saml_metadata: Path | None, directory: bool, **opts: Any) -> None:
        """Where users sign in: this directory (passwords) or an external SAML 2.0 IdP."""
        if (saml_metadata is None) == (not directory):
            raise click.UsageError("give either --saml-metadata FILE or --directory")
        try:
            source = federation.settings_for(saml_metadata.read_text() if saml_metadata else None)
        except (ValueError, OSError) as exc:
            raise click.ClickException(f"the metadata is not usable: {exc}") from exc
        settings = load(**opts)
        runtime = build_runtime(settings)
        try:
            with runtime.store.tx() as conn:
                row = instances.by_identity_store(conn, identity_store_id)
                if row is None:
                    raise click.ClickException(f"no instance has the identity store {identity_store_id}")
                i = t.sso_instances
                values = {**(row["settings"] or {}), "identity_source": source}
                conn.execute(update(i).where(i.c.instance_arn == row["instance_arn"]).values(settings=values))
        finally:
            runtime.store.dispose()
        if saml_metadata is None:
            console.print(f"{identity_store_id}: users sign in with their passwords.")
            return
        public = settings.effective_public_url
        console.print(
            Panel(
                f"[bold]SP entity id[/bold] {federation.entity_id(public, identity_store_id)}\n"
                f"[bold]ACS URL[/bold]      {federation.acs_url(public, identity_store_id)}\n"
                f"[bold]SP metadata[/bold]  {federation.entity_id(public, identity_store_id)}/metadata\n"
                "NameID: the user's UserName",
                title="Configure the identity provider with",
                expand=False,
            )
        )

    @sso.command("reset-mfa")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.option("--user-name", required=True, help="The directory user's UserName.")
    def reset_mfa(identity_store_id: str, user_name: str, **opts: Any) -> None:
        """Forget a user's authenticator app (a lost device); they enrol a new one."""
        runtime = build_runtime(load(**opts))
        try:
            user = _find_user(runtime, identity_store_id, user_name)
            with runtime.store.tx() as conn:
                credentials.remove_totp(conn, identity_store_id, user["user_id"], dt.datetime.now(dt.UTC))
        finally:
            runtime.store.dispose()
        console.print(f"Authenticator app removed for {user['user_name']}.")
