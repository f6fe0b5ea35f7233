"""`ostiary serve | init | accounts … | outbox | events | users import … | sso … | gateway | compat`."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import uvicorn
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from ostiary import __version__, cli_gateway, cli_risk, cli_samlidp, cli_scim, cli_sso, egress, httpserver, supervisor
from ostiary.access.accounts import bootstrap, create_account, list_accounts
from ostiary.app import build_runtime
from ostiary.audit import recorder as audit
from ostiary.cli_events import show_events
from ostiary.cli_import import import_users, print_errors
from ostiary.compat import counts, render
from ostiary.config import Settings, check_dev_options, load_settings
from ostiary.notify.outbox import purge_expired, where_messages_go
from ostiary.observability import setup_logging
from ostiary.userpools import restore
from ostiary.userpools.messages import outbox_rows

console = Console(stderr=True)


def _settings(**overrides: Any) -> Settings:
    try:
        settings = load_settings(overrides)
        egress.parse_allow(settings.egress_allow)  # a malformed allow-list stops the start, not a fetch
        if settings.egress_max_bytes <= 0 or settings.egress_timeout_seconds <= 0:
            raise ValueError("settings egress_max_bytes and egress_timeout_seconds must be positive")
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return settings


def _common(f: Any) -> Any:
    f = click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML settings file.")(f)
    f = click.option("--database-url", help="SQLAlchemy URL; default: SQLite in the data dir.")(f)
    f = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Default ./.ostiary")(f)
    return f


def _print_key(settings: Settings, akid: str, secret: str, account: str) -> None:
    url = settings.effective_public_url
    region = settings.region
    text = (
        f"[bold]Account[/bold] {account}\n"
        f"[bold]Access key id[/bold]     {akid}\n"
        f"[bold]Secret access key[/bold] {secret}\n"
        f"(shown once; also saved with mode 0600 in {settings.data_dir / 'root-credentials'})\n\n"
        "[bold]boto3[/bold]\n"
        f"  import boto3\n  idp = boto3.client('cognito-idp', endpoint_url='{url}', region_name='{region}',\n"
        f"                     aws_access_key_id='{akid}', aws_secret_access_key='<secret>')\n"
        "  idp.list_user_pools(MaxResults=10)\n\n"
        "[bold]AWS CLI[/bold]\n"
        f"  AWS_ACCESS_KEY_ID={akid} AWS_SECRET_ACCESS_KEY=<secret> \\\n"
        f"  aws --endpoint-url {url} --region {region} sts get-caller-identity"
    )
    console.print(Panel(text, title="Root credentials of the first account", expand=False))


def _bootstrap(settings: Settings) -> None:
    runtime = build_runtime(settings)
    key = bootstrap(
        runtime.store,
        runtime.box,
        settings.data_dir,
        settings.root_access_key_id,
        settings.root_secret_access_key,
        settings.root_account_id,
    )
    if key is not None:
        _print_key(settings, key.access_key_id, key.secret_access_key, key.account_id)
    with runtime.store.tx() as conn:  # messages past outbox_ttl_seconds go at every start
        purge_expired(conn, settings, datetime.now(UTC))
        audit.prune(conn, settings, datetime.now(UTC))  # and audit events past audit_retention_days
        restore.sweep(conn, settings, datetime.now(UTC), orphans=True)  # and user pools' journal past its retention
    runtime.store.dispose()


@click.group()
@click.version_option(__version__, prog_name="ostiary")
def main() -> None:
    """Ostiary: Cognito, STS and IAM wire-compatible identity server."""


@main.command()
@_common
@click.option("--host", help="Listen address (default 127.0.0.1).")
@click.option("--port", type=int, help="Listen port (default 4590).")
@click.option("--workers", type=int, help="Worker processes (default 1).")
@click.option("--dev", is_flag=True, default=None, help="Development conveniences (loudly logged).")
@click.option(
    "--dev-accept-any-key",
    is_flag=True,
    default=None,
    help="With --dev only: accept any unknown access key unverified, as its account's root (loudly logged).",
)
@click.option("--log-format", type=click.Choice(["plain", "json"]), help="Log format.")
def serve(**opts: Any) -> None:
    """Start the server (applies migrations, creates the first account on first start)."""
    settings = _settings(**opts)
    try:
        check_dev_options(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if settings.gateway_config and settings.workers > 1:  # each worker would bind the gateway's ports
        raise click.ClickException("setting gateway_config needs one worker: run `ostiary gateway` beside the workers")
    setup_logging(settings.log_format, settings.log_level)
    _bootstrap(settings)
    for level, sentence in where_messages_go(settings):  # where codes and temporary passwords go
        logging.getLogger("ostiary.notify").log(level, sentence)
    # Workers build their settings from the environment: hand every explicit option over.
    for key, value in opts.items():
        if value is not None:
            os.environ["OSTIARY_" + key.upper()] = str(value)
    if settings.workers > 1:
        # Prometheus counters of all workers are aggregated through files in the data dir.
        metrics_dir = settings.data_dir / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    console.print(f"Ostiary {__version__} listening on {settings.effective_public_url} (workers: {settings.workers})")
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "server_header": False,
        "lifespan": "on",
        **httpserver.uvicorn_options(settings.max_header_bytes, settings.trusted_proxies),
    }
    if settings.workers > 1:  # one listening socket per worker where the kernel spreads connections
        os.environ.setdefault("MALLOC_ARENA_MAX", "1")  # one malloc arena per worker (memory.py)
        supervisor.run(uvicorn.Config("ostiary.app:create_app_from_env", workers=settings.workers, **options))
    else:
        uvicorn.run("ostiary.app:create_app_from_env", **options)


@main.command()
@_common
def init(**opts: Any) -> None:
    """Create the data dir, apply migrations and create the first account's root key, without serving."""
    settings = _settings(**opts)
    setup_logging(settings.log_format, "WARNING")
    _bootstrap(settings)
    console.print(f"Data dir ready: {settings.data_dir.resolve()}")


@main.group()
def accounts() -> None:
    """Manage accounts."""


@accounts.command("create")
@_common
@click.option("--name", required=True, help="A name for the account.")
@click.option("--account-id", default="", help="12 digits; random when omitted.")
def accounts_create(name: str, account_id: str, **opts: Any) -> None:
    """Create an account and print its root access key."""
    settings = _settings(**opts)
    runtime = build_runtime(settings)
    try:
        key = create_account(runtime.store, runtime.box, name, account_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_key(settings, key.access_key_id, key.secret_access_key, key.account_id)


@accounts.command("list")
@_common
def accounts_list(**opts: Any) -> None:
    """List accounts."""
    runtime = build_runtime(_settings(**opts))
    table = Table(title="Accounts")
    for col in ("Account", "Name", "Created", "Access keys"):
        table.add_column(col)
    for acct in list_accounts(runtime.store):
        table.add_row(acct.id, acct.name, acct.created_at, str(acct.access_keys))
    Console().print(table)


@main.command()
@_common
@click.option("--destination", help="Only messages to this email address or phone number.")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def outbox(destination: str | None, limit: int, as_json: bool, **opts: Any) -> None:
    """Show the newest messages kept in the outbox (codes, invitations): those sent while no SMTP
    server or SMS sender is configured, or in --dev; kept sealed for outbox_ttl_seconds (24 h)."""
    settings = _settings(**opts)
    runtime = build_runtime(settings)
    with runtime.store.read() as conn:
        rows = outbox_rows(conn, settings, destination, limit)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Outbox (newest first)")
    for col in ("When", "Pool", "User", "To", "Purpose", "Message"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["createdAt"])[:19],
            str(r["userPoolId"]),
            str(r["username"]),
            str(r["destination"]),
            str(r["purpose"]),
            str(r["body"]),
        )
    Console().print(table)


@main.command()
@_common
@click.option("--pool", help="Only events of this user pool.")
@click.option("--user", help="Only events of this username (a user pool's user, or an IAM caller's name).")
@click.option("--event", help="Only this event name (InitiateAuth, AssumeRole, CreateAccessKey…).")
@click.option("--since", "since_value", help="Only events since: a span (30m, 2h, 7d) or an ISO 8601 time.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print CloudTrail records (JSON) instead of a table.")
def events(
    pool: str | None,
    user: str | None,
    event: str | None,
    since_value: str | None,
    limit: int,
    as_json: bool,
    **opts: Any,
) -> None:
    """Show the audit events (sign-ins, lockout, passwords, MFA, IAM keys and policies, role trust,
    STS and identity-pool credentials), newest first; kept audit_retention_days (90)."""
    runtime = build_runtime(_settings(**opts))
    show_events(runtime.store, pool=pool, user=user, event=event, since_value=since_value, limit=limit, as_json=as_json)


@main.group()
def users() -> None:
    """User-pool users: import from CSV."""


@users.command("import")
@_common
@click.option("--pool", "pool_id", required=True, help="The user pool's id.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job-name", default="", help="The import job's name (default: the file's name).")
@click.option("--cloudwatch-logs-role-arn", "role_arn", default="", help="Kept as the job's CloudWatchLogsRoleArn.")
@click.option("--errors", "show_errors", type=int, default=20, show_default=True, help="Rows not imported to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the job's result as JSON instead of tables.")
def users_import(
    pool_id: str, file: Path, job_name: str, role_arn: str, show_errors: int, as_json: bool, **opts: Any
) -> None:
    """Import users from a CSV file (GetCSVHeader's columns) through an import job, with a progress bar.
    Exit status 0: every row imported; 1: some rows skipped or failed; 2: the job failed or was stopped."""
    runtime = build_runtime(_settings(**opts))
    name = re.sub(r"[^\w\s+=,.@-]", "-", job_name or file.name)[:128] or "import"
    try:
        code = import_users(
            runtime,
            pool_id,
            file,
            job_name=name,
            role_arn=role_arn,
            show_errors=show_errors,
            as_json=as_json,
            console=console,
        )
    finally:
        runtime.store.dispose()
    sys.exit(code)


@users.command("import-errors")
@_common
@click.option("--job", "job_id", required=True, help="The import job's id.")
@click.option("--limit", type=int, default=None, help="At most this many rows (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def users_import_errors(job_id: str, limit: int | None, as_json: bool, **opts: Any) -> None:
    """The rows an import job did not import, as AWS logs them to CloudWatch ([FAILED] Line Number 3 - …)."""
    runtime = build_runtime(_settings(**opts))
    try:
        print_errors(runtime, job_id, limit, as_json, Console())
    finally:
        runtime.store.dispose()


@main.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("docs/compatibility.md"))
@click.option("--check", is_flag=True, help="Exit 1 if the file is stale instead of writing it.")
def compat(output: Path, check: bool) -> None:
    """Regenerate docs/compatibility.md from the operation registry."""
    text = render()
    if check:
        current = output.read_text() if output.exists() else ""
        if current != text:
            console.print(f"[red]{output} is stale: run `ostiary compat`[/red]")
            sys.exit(1)
        console.print(f"{output} is current")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    table = Table(title="Compatibility")
    for col in ("Service", "Implemented", "Operations"):
        table.add_column(col)
    for name, (done, total) in counts().items():
        table.add_row(name, str(done), str(total))
    Console().print(table)


cli_sso.register(main, _common, _settings)  # `ostiary sso …` (cli_sso.py)
cli_scim.register(main, _common, _settings)  # `ostiary scim token …` (cli_scim.py)
cli_samlidp.register(main, _common, _settings)  # `ostiary sso app saml-config | saml-metadata` (cli_samlidp.py)
cli_gateway.register(main, _common, _settings)  # `ostiary gateway --config FILE` (cli_gateway.py)
cli_risk.register(main, _common, _settings)  # `ostiary risk events` (cli_risk.py: adaptive authentication's reasons)

if __name__ == "__main__":
    main()
