"""`ostiary sso app saml-config | saml-metadata`: a SAML application's settings and the instance's IdP
metadata (AWS sets these in its console: "Application metadata", "Attribute mappings", and offers
"IAM Identity Center SAML metadata file" to download).

``saml-config APPLICATION_ARN`` sets the application's ACS URL, SAML audience, NameID format, subject
and attribute mappings and relay state, from options and/or the service provider's metadata file
(``--sp-metadata``; options win); without options it prints the current settings. ``saml-metadata``
prints the instance's IdP metadata XML (what the SP imports), with its URL.

Registered on the ``sso`` group of cli_sso.py by ``register`` (cli.py); imports nothing of cli.py.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ostiary.accessportal import urls
from ostiary.app import build_runtime
from ostiary.config import Settings
from ostiary.samlidp import config, identity
from ostiary.ssoadmin import applications, instances

console = Console(stderr=True)


def _attribute(value: str) -> dict[str, str]:
    """``NAME=VALUE`` or ``NAME=VALUE;FORMAT``."""
    name, sep, rest = value.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{value!r}: expected NAME=VALUE or NAME=VALUE;FORMAT")
    mapped, _, form = rest.rpartition(";") if rest.rsplit(";", 1)[-1] in config.ATTRIBUTE_FORMATS else (rest, "", "")
    return {"name": name, "value": mapped, "format": form or "unspecified"}


def register(main: click.Group, common: Callable[[Any], Any], load: Callable[..., Settings]) -> None:
    sso = main.commands.get("sso")
    if not isinstance(sso, click.Group):
        raise RuntimeError("cli_sso must be registered first")

    @sso.group("app")
    def app() -> None:
        """SAML applications: their SAML settings, the instance's IdP metadata."""

    @app.command("saml-config")
    @common
    @click.argument("application_arn")
    @click.option("--acs-url", help="The application's Assertion Consumer Service URL (HTTP-POST).")
    @click.option("--audience", "sp_entity_id", help="The application's SAML audience (its SP entity id).")
    @click.option("--name-id-format", type=click.Choice(sorted(config.NAME_ID_FORMATS)), help="The Subject's format.")
    @click.option("--subject", help="The Subject's value for emailAddress/unspecified, e.g. '${user:email}'.")
    @click.option(
        "--attribute",
        "mapped",
        multiple=True,
        help="An attribute mapping NAME=VALUE[;unspecified|uri|basic], e.g. 'email=${user:email}' (repeatable).",
    )
    @click.option("--relay-state", help="The RelayState of IdP-initiated sign-in (the application's start URL).")
    @click.option(
        "--sp-metadata",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The application's SAML metadata file (entity id, ACS URL, NameID format, signing certificates).",
    )
    def saml_config(
        application_arn: str,
        acs_url: str | None,
        sp_entity_id: str | None,
        name_id_format: str | None,
        subject: str | None,
        mapped: tuple[str, ...],
        relay_state: str | None,
        sp_metadata: Path | None,
        **opts: Any,
    ) -> None:
        """Set (or, without options, show) a SAML application's settings."""
        runtime = build_runtime(load(**opts))
        try:
            with runtime.store.read() as conn:
                row = applications.application(conn, application_arn)
                current = config.get(conn, application_arn) if row is not None else None
            if row is None:
                raise click.ClickException(f"no application {application_arn}")
            doc: dict[str, Any] = current.document() if current is not None else {}
            changes: dict[str, Any] = {}
            if sp_metadata is not None:
                changes.update(config.from_sp_metadata(sp_metadata.read_text()))
            given = {
                "acs_url": acs_url,
                "sp_entity_id": sp_entity_id,
                "name_id_format": name_id_format,
                "subject": subject,
                "relay_state": relay_state,
            }
            changes.update({k: v for k, v in given.items() if v is not None})
            if mapped:
                changes["attributes"] = [_attribute(m) for m in mapped]
            if changes:
                try:
                    checked = config.parse({**doc, **changes})
                    with runtime.store.tx() as conn:
                        config.put(conn, row, checked, dt.datetime.now(dt.UTC))
                except config.ConfigError as exc:
                    raise click.ClickException(str(exc)) from exc
                doc = checked.document()
                console.print(f"SAML settings of {row['name']} saved.")
            elif not doc:
                raise click.ClickException("the application has no SAML settings yet: give --acs-url and --audience")
        finally:
            runtime.store.dispose()
        click.echo(json.dumps(doc, indent=2))

    @app.command("saml-metadata")
    @common
    @click.option("--identity-store-id", required=True, help="The instance's identity store (d-…).")
    def saml_metadata(identity_store_id: str, **opts: Any) -> None:
        """Print the instance's SAML IdP metadata (for the application to import)."""
        settings = load(**opts)
        runtime = build_runtime(settings)
        try:
            with runtime.store.read() as conn:
                instance = instances.by_identity_store(conn, identity_store_id)
            if instance is None:
                raise click.ClickException(f"no instance has the identity store {identity_store_id}")
            with runtime.store.tx() as conn:
                document = identity.idp_metadata(conn, runtime.box, settings, instance)
        finally:
            runtime.store.dispose()
        console.print(f"IdP metadata URL: {urls.saml_metadata_url(settings.effective_public_url, identity_store_id)}")
        click.echo(document)
