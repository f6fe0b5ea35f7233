"""`ostiary scim token create | list | delete`: an identity store's SCIM access tokens (AWS: "Generate
token" in the console's automatic provisioning settings). A token is printed once, with the SCIM
endpoint to give the external IdP; at most two per store, each valid one year; only its sha256 is
kept (``ostiary.identitystore.scim.tokens``).

Registered on the main group by ``register`` (cli.py), which hands over its common options and settings
loader (this module imports nothing of cli.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from ostiary.app import build_runtime
from ostiary.config import Settings
from ostiary.identitystore.scim import tokens
from ostiary.protocol.context import Runtime
from ostiary.ssoadmin import instances
from ostiary.web.scim import base_url

console = Console(stderr=True)


def _check_store(runtime: Runtime, store_id: str) -> None:
    with runtime.store.read() as conn:
        if instances.by_identity_store(conn, store_id) is None:
            raise click.ClickException(f"no instance has the identity store {store_id}")


def register(main: click.Group, common: Callable[[Any], Any], load: Callable[..., Settings]) -> None:
    @main.group()
    def scim() -> None:
        """SCIM provisioning of an identity store (IAM Identity Center)."""

    @scim.group()
    def token() -> None:
        """SCIM access tokens: at most two per identity store, each valid one year."""

    @token.command("create")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    def create(identity_store_id: str, **opts: Any) -> None:
        """Generate a SCIM access token; printed once, with the SCIM endpoint."""
        settings = load(**opts)
        runtime = build_runtime(settings)
        try:
            _check_store(runtime, identity_store_id)
            with runtime.store.tx() as conn:
                made = tokens.create(conn, identity_store_id, dt.datetime.now(dt.UTC))
        except tokens.TokenLimit as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            runtime.store.dispose()
        console.print(
            Panel(
                f"[bold]SCIM endpoint[/bold] {base_url(settings.effective_public_url, identity_store_id)}\n"
                f"[bold]Token id[/bold]      {made.token_id}\n"
                f"[bold]Expires[/bold]       {made.expires_at:%Y-%m-%d %H:%M} UTC\n"
                "(the access token is printed once, on standard output)",
                title="SCIM access token",
                expand=False,
            )
        )
        click.echo(made.token)

    @token.command("list")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    def list_tokens(identity_store_id: str, **opts: Any) -> None:
        """List a store's SCIM tokens (ids and dates; the tokens themselves are not kept)."""
        runtime = build_runtime(load(**opts))
        try:
            _check_store(runtime, identity_store_id)
            with runtime.store.read() as conn:
                rows = tokens.listing(conn, identity_store_id)
        finally:
            runtime.store.dispose()
        table = Table(title=f"SCIM tokens of {identity_store_id}")
        for col in ("Token id", "Created (UTC)", "Expires (UTC)", "Last used (UTC)"):
            table.add_column(col)
        for r in rows:
            last = r["last_used_at"]
            table.add_row(
                str(r["token_id"]),
                f"{r['created_at']:%Y-%m-%d %H:%M}",
                f"{r['expires_at']:%Y-%m-%d %H:%M}",
                f"{last:%Y-%m-%d %H:%M}" if last else "never",
            )
        Console(width=max(Console().width, 120)).print(table)

    @token.command("delete")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    @click.option("--token-id", required=True, help="The token's id (ostiary scim token list).")
    def delete(identity_store_id: str, token_id: str, **opts: Any) -> None:
        """Delete a SCIM token: the IdP using it is refused from then on."""
        runtime = build_runtime(load(**opts))
        try:
            _check_store(runtime, identity_store_id)
            with runtime.store.tx() as conn:
                gone = tokens.remove(conn, identity_store_id, token_id)
        finally:
            runtime.store.dispose()
        if not gone:
            raise click.ClickException(f"no SCIM token {token_id} for {identity_store_id}")
        console.print(f"SCIM token {token_id} deleted.")
