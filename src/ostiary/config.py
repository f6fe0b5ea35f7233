"""Typed settings: defaults < TOML config file < OSTIARY_* environment < command-line flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "OSTIARY_"


@dataclass
class Settings:
    """Every setting Ostiary reads; see docs/configuration.md."""

    host: str = "127.0.0.1"
    port: int = 4590
    data_dir: Path = field(default_factory=lambda: Path(".ostiary"))
    database_url: str = ""
    workers: int = 1
    dev: bool = False
    dev_accept_any_key: bool = False
    region: str = "us-east-1"
    public_url: str = ""
    issuer_style: str = "local"
    log_format: str = "plain"
    log_level: str = "INFO"
    access_log: bool = True
    root_access_key_id: str = ""
    root_secret_access_key: str = ""
    root_account_id: str = ""
    kek: str = ""
    clock_skew_seconds: int = 900
    max_body_bytes: int = 1048576
    max_upload_bytes: int = 104857600
    max_header_bytes: int = 65536
    trusted_proxies: str = ""
    max_form_fields: int = 10000
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    code_failed_attempts_limit: int = 5
    code_issue_limit: int = 5
    code_destination_issue_limit: int = 10
    code_window_seconds: int = 3600
    code_backoff_seconds: int = 900
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "no-reply@ostiary.local"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    sms_webhook_url: str = ""
    federation_issuers: str = ""
    auth_domain_base: str = "amazoncognito.localhost"
    domain_url_style: str = "path"
    hosted_ui_templates: str = ""
    lambda_functions: str = ""
    lambda_path: str = ""
    lambda_timeout_seconds: int = 5
    cognito_streams: str = ""  # Cognito Sync streams: <stream name>=<http(s) URL> entries (else a JSON-lines file)
    egress_allow: str = ""
    egress_max_bytes: int = 1048576
    egress_timeout_seconds: int = 5
    egress_ca_bundle: str = ""  # a PEM file of private CAs egress also trusts (an internal PKI; tests' loopback TLS)
    outbox: bool = False
    outbox_ttl_seconds: int = 86400
    audit_retention_days: int = 90
    switch_interval_us: int = 0  # the interpreter's thread switch interval (sys.setswitchinterval); 0: Python's 5 ms
    audit_spool_ms: int = 50  # events of operations that change nothing else, written in batches (audit/spool.py)
    recovery_retention_days: int = 14  # user pools' change journal (point-in-time recovery, docs/recovery.md)
    recovery_min_age_seconds: int = 900  # a recovery point is at least this old (AWS: 15 minutes)
    cache_max_entries: int = 10000
    cache_pool_seconds: int = 2
    cache_token_client_seconds: int = 5
    cache_domain_seconds: int = 10
    cache_user_count_seconds: int = 30
    cache_signing_key_seconds: int = 30
    cache_oidc_key_seconds: int = 3600
    cache_access_key_seconds: int = 5
    cache_caller_policy_seconds: int = 5
    cache_scp_seconds: int = 5
    cache_parsed_policy_max_entries: int = 1000
    cache_verified_token_max_entries: int = 4096
    pwned_passwords_path: str = ""
    pwned_passwords_min_count: int = 1
    geoip_database_path: str = ""  # a MaxMind-format City database (.mmdb): adaptive authentication's GeoIP signals
    log_delivery_destinations: str = ""
    provisioned_limits: bool = False  # enforce Cognito's per-category request rates (docs/limits.md)
    provisioned_limit_max_factor: int = 10  # UpdateProvisionedLimit's ceiling: this times the category's default
    cache_provisioned_limit_seconds: int = 5
    cimd_max_document_bytes: int = 5120  # a client ID metadata document's size bound (docs/cimd.md)
    cache_cimd_seconds: int = 60  # a fetched metadata document kept per process (the database keeps it longer)
    log_delivery_queue_size: int = 10000
    config_file: str = ""
    gateway_config: str = ""  # a gateway file (docs/gateway.md): serve runs the gateway's listeners too

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ostiary.db').resolve()}"

    def pool_issuer(self, pool_id: str) -> str:
        """A user pool's token issuer: ``<public URL>/<poolId>``, or, with ``issuer_style = "aws"``,
        the issuer AWS would use, for apps that compare it literally."""
        if self.issuer_style == "aws":
            return f"https://cognito-idp.{pool_id.split('_', 1)[0]}.amazonaws.com/{pool_id}"
        return f"{self.effective_public_url}/{pool_id}"

    @property
    def effective_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


_SECRET_FIELDS = frozenset({"root_secret_access_key", "kek", "smtp_password"})


def _coerce(name: str, typ: Any, raw: Any) -> Any:
    if typ is bool or typ == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"setting {name}: expected a boolean, got {raw!r}")
    if typ is int or typ == "int":
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name}: expected an integer, got {raw!r}") from None
    if typ is Path or typ == "Path":
        return Path(str(raw)).expanduser()
    if isinstance(raw, list):  # a TOML list for a comma-separated setting (e.g. egress_allow)
        return ",".join(str(item) for item in raw)
    return str(raw)


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build settings from defaults, the optional TOML file, the environment and explicit overrides."""
    env = dict(os.environ if environ is None else environ)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}

    config_file = overrides.get("config_file") or env.get(ENV_PREFIX + "CONFIG_FILE", "")
    if config_file:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        section = data.get("ostiary", data)
        for f in fields(Settings):
            if f.name in section:
                values[f.name] = _coerce(f.name, hints[f.name], section[f.name])
        unknown = set(section) - {f.name for f in fields(Settings)}
        if unknown:
            raise ValueError(f"unknown settings in {config_file}: {', '.join(sorted(unknown))}")

    for f in fields(Settings):
        key = ENV_PREFIX + f.name.upper()
        if key in env:
            values[f.name] = _coerce(f.name, hints[f.name], env[key])
    for name, raw in overrides.items():
        values[name] = _coerce(name, hints[name], raw)
    return Settings(**values)


def check_dev_options(settings: Settings) -> None:
    """Development-only settings are refused outside development mode (the server does not start)."""
    if settings.dev_accept_any_key and not settings.dev:
        raise ValueError(
            "setting dev_accept_any_key requires dev (--dev): accepting any access key without checking "
            "its signature is for test suites only"
        )


def describe(settings: Settings) -> dict[str, Any]:
    """Settings as a dict safe to log: secrets are masked."""
    out: dict[str, Any] = {}
    for k, v in dataclasses.asdict(settings).items():
        out[k] = ("***" if v else "") if k in _SECRET_FIELDS else str(v) if isinstance(v, Path) else v
    return out
