"""The gateway's configuration file (TOML, read with the standard library's ``tomllib``).

```toml
[gateway]
listen = "127.0.0.1:8080"
api_id = "a1b2c3d4e5"
stage = "prod"
region = "us-east-1"
account_id = "123456789012"
ostiary_url = "http://127.0.0.1:4590"

[authorizers.users]
type = "jwt"
issuer = "http://127.0.0.1:4590/us-east-1_AbCdEf"
audience = ["client-id"]

[[routes]]
route = "GET /pets/{id}"
upstream = "http://127.0.0.1:9000"
authorizer = "users"
authorization_scopes = ["pets/read"]
```

Every key is described in docs/gateway.md. :func:`load` reads the file, builds every authorizer
(each kind's section is read by its own module, ``authorizers.KINDS``) and the route table; any
mistake raises :class:`ConfigError` naming the key, before anything listens.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ostiary.config import Settings, load_settings
from ostiary.gateway import authorizers
from ostiary.gateway.model import Authorizer, GatewayEnv
from ostiary.gateway.routing import Route, RouteTable, parse_route_key
from ostiary.gateway.sections import ConfigError, Section
from ostiary.s3front import config as s3front_config
from ostiary.store.db import Store

__all__ = ["ConfigError", "GatewayConfig", "GatewaySettings", "Listen", "load", "parse"]

_API_ID = re.compile(r"^[a-z0-9]{1,32}$")
_STAGE = re.compile(r"^(\$default|[A-Za-z0-9_-]{1,128})$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class Listen:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(value: str, where: str) -> Listen:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise ConfigError(f"{where}: expected host:port (e.g. 127.0.0.1:8080 or [::1]:8080), got {value!r}")
    return Listen(host.strip("[]"), int(port))


def _upstream(value: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: expected an http:// or https:// URL, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where}: no query or fragment in an upstream URL")
    return value


@dataclass(frozen=True)
class GatewaySettings:
    """The ``[gateway]`` table."""

    listen: Listen = Listen("127.0.0.1", 8080)
    admin_listen: Listen | None = None  # /health and /metrics; none when unset
    api_id: str = "ostiary"
    stage: str = "$default"
    region: str = "us-east-1"
    account_id: str = "000000000000"
    ostiary_url: str = ""
    database_url: str = ""
    max_body_bytes: int = 10 * 1024 * 1024  # API Gateway's payload quota: 10 MB
    timeout_seconds: float = 29.0  # API Gateway's integration timeout
    connect_timeout_seconds: float = 5.0
    trusted_proxies: tuple[IpNetwork, ...] = ()
    upstream_max_connections: int = 100
    upstream_keepalive: int = 20
    upstream_keepalive_seconds: float = 30.0
    log_format: str = "plain"
    log_level: str = "INFO"
    access_log: bool = True

    def trusts(self, peer: str) -> bool:
        """Whether the peer that connected is a proxy whose X-Forwarded-* the gateway extends."""
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in net for net in self.trusted_proxies)


@dataclass
class GatewayConfig:
    gateway: GatewaySettings
    routes: RouteTable
    authorizers: Mapping[str, Authorizer]
    env: GatewayEnv
    s3: s3front_config.S3FrontConfig | None = None  # the [s3] table (ostiary.s3front.config.parse)
    forward_auth: Mapping[str, Any] | None = None  # the raw [forward_auth] table, for gateway.forward_auth
    path: str = ""
    _owned_store: Store | None = field(default=None, repr=False)

    def close(self) -> None:
        """Dispose of what load() opened (the database engine it created, if any)."""
        if self._owned_store is not None:
            self._owned_store.dispose()
            self._owned_store = None


def _gateway_section(section: Section) -> GatewaySettings:
    defaults = GatewaySettings()
    api_id = section.string("api_id", defaults.api_id)
    if not _API_ID.match(api_id):
        raise ConfigError("gateway.api_id: 1 to 32 lower-case letters and digits")
    stage = section.string("stage", defaults.stage)
    if not _STAGE.match(stage):
        raise ConfigError("gateway.stage: $default or 1 to 128 letters, digits, - and _")
    region = section.string("region", defaults.region)
    if not _REGION.match(region):
        raise ConfigError(f"gateway.region: not a region name: {region!r}")
    account_id = section.string("account_id", defaults.account_id)
    if not _ACCOUNT.match(account_id):
        raise ConfigError("gateway.account_id: 12 digits")
    ostiary_url = section.string("ostiary_url", "").rstrip("/")
    if ostiary_url:
        _upstream(ostiary_url, "gateway.ostiary_url")
    networks: list[IpNetwork] = []
    for item in section.strings("trusted_proxies"):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"gateway.trusted_proxies: not an address or network: {item!r}") from None
    admin = section.optional_string("admin_listen")
    log_format = section.string("log_format", defaults.log_format)
    if log_format not in ("plain", "json"):
        raise ConfigError("gateway.log_format: plain or json")
    out = GatewaySettings(
        listen=parse_listen(section.string("listen", str(defaults.listen)), "gateway.listen"),
        admin_listen=parse_listen(admin, "gateway.admin_listen") if admin else None,
        api_id=api_id,
        stage=stage,
        region=region,
        account_id=account_id,
        ostiary_url=ostiary_url,
        database_url=section.string("database_url", ""),
        max_body_bytes=section.integer("max_body_bytes", defaults.max_body_bytes, minimum=0, maximum=2**40),
        timeout_seconds=section.number("timeout_seconds", defaults.timeout_seconds, minimum=0.05, maximum=3600),
        connect_timeout_seconds=section.number(
            "connect_timeout_seconds", defaults.connect_timeout_seconds, minimum=0.05, maximum=600
        ),
        trusted_proxies=tuple(networks),
        upstream_max_connections=section.integer("upstream_max_connections", 100, minimum=1, maximum=10000),
        upstream_keepalive=section.integer("upstream_keepalive", 20, minimum=0, maximum=10000),
        upstream_keepalive_seconds=section.number("upstream_keepalive_seconds", 30.0, minimum=0, maximum=3600),
        log_format=log_format,
        log_level=section.string("log_level", defaults.log_level).upper(),
        access_log=section.boolean("access_log", True),
    )
    section.reject_unknown()
    return out


def _env(gateway: GatewaySettings, settings: Settings | None, store: Store | None) -> tuple[GatewayEnv, Store | None]:
    """Ostiary's settings as the authorizers see them, and the database when one is configured."""
    if settings is None:
        overrides: dict[str, Any] = {"region": gateway.region}
        if gateway.database_url:
            overrides["database_url"] = gateway.database_url
        if gateway.ostiary_url:
            overrides["public_url"] = gateway.ostiary_url
        try:
            settings = load_settings(overrides)
        except ValueError as exc:
            raise ConfigError(f"gateway: {exc}") from None
    owned: Store | None = None
    if store is None and gateway.database_url:
        store = owned = Store(settings.effective_database_url)
    public_url = gateway.ostiary_url or settings.effective_public_url
    return GatewayEnv(settings=settings, store=store, public_url=public_url), owned


def parse(
    data: Mapping[str, Any],
    *,
    settings: Settings | None = None,
    store: Store | None = None,
    path: str = "",
) -> GatewayConfig:
    """A configuration from the parsed TOML document ``data`` (see :func:`load`)."""
    root = Section("", data)
    gateway = _gateway_section(root.table("gateway") or Section("gateway", {}))
    env, owned = _env(gateway, settings, store)
    try:
        built: dict[str, Authorizer] = {}
        for name, raw in (root.table("authorizers") or Section("authorizers", {})).data.items():
            section = Section(f"authorizers.{name}", raw)
            if not re.match(r"^[A-Za-z0-9_-]{1,128}$", name) or name == "none":
                raise ConfigError(f"authorizers.{name}: a name of letters, digits, - and _ (and not 'none')")
            kind = section.string("type")
            builder = authorizers.KINDS.get(kind)
            if builder is None:
                known = ", ".join(sorted(authorizers.KINDS)) or "none available"
                raise ConfigError(f"authorizers.{name}.type: unknown authorizer type {kind!r} ({known})")
            built[name] = builder(name, section.data, env)
        raw_routes = root.raw("routes")
        if raw_routes is None:
            raw_routes = []
        if not isinstance(raw_routes, list):
            raise ConfigError("routes: expected an array of tables ([[routes]])")
        routes: list[Route] = []
        for i, raw in enumerate(raw_routes):
            section = Section(f"routes[{i}]", raw)
            pattern = parse_route_key(section.string("route"), section.key("route"))
            auth_name = section.optional_string("authorizer")
            authorizer: Authorizer | None = None
            if auth_name not in (None, "none", "NONE"):
                authorizer = built.get(str(auth_name))
                if authorizer is None:
                    raise ConfigError(
                        f"{section.key('authorizer')}: no authorizer named {auth_name!r} in [authorizers]"
                    )
            scopes = section.strings("authorization_scopes")
            if scopes and authorizer is None:
                raise ConfigError(f"{section.key('authorization_scopes')}: scopes need an authorizer")
            timeout = section.number("timeout_seconds", 0.0, minimum=0.0, maximum=3600) or None
            upstream = _upstream(section.string("upstream"), section.key("upstream"))
            variables = {s.text for s in pattern.segments if s.kind != 0}
            for placeholder in re.findall(r"\{([^}]*)\}", upstream):
                if placeholder.rstrip("+") not in variables:
                    raise ConfigError(
                        f"{section.key('upstream')}: {{{placeholder}}} is not a path variable of {pattern.key!r}"
                    )
            routes.append(
                Route(
                    pattern=pattern,
                    upstream=upstream,
                    authorizer=authorizer,
                    authorizer_name=None if authorizer is None else str(auth_name),
                    authorization_scopes=scopes,
                    timeout_seconds=timeout,
                )
            )
            section.reject_unknown()
        raw_s3 = root.raw("s3")
        s3: s3front_config.S3FrontConfig | None = None
        if raw_s3 is not None:
            if not isinstance(raw_s3, Mapping):
                raise ConfigError("s3: expected a table")
            if env.store is None:
                raise ConfigError("gateway.database_url: required with [s3] (access keys, policies, bucket policies)")
            try:
                s3 = s3front_config.parse(raw_s3)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        forward_auth = root.raw("forward_auth")
        if forward_auth is not None and not isinstance(forward_auth, Mapping):
            raise ConfigError("forward_auth: expected a table")
        root.reject_unknown()
        if not routes and s3 is None:
            raise ConfigError("routes: no [[routes]] (and no [s3]): nothing to serve")
        return GatewayConfig(
            gateway,
            RouteTable.build(routes),
            built,
            env,
            s3=s3,
            forward_auth=forward_auth,
            path=path,
            _owned_store=owned,
        )
    except BaseException:
        if owned is not None:
            owned.dispose()
        raise


def load(path: str | Path, *, settings: Settings | None = None, store: Store | None = None) -> GatewayConfig:
    """Read and check the configuration file at ``path``; raises ConfigError (naming the key)."""
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the gateway configuration: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse(data, settings=settings, store=store, path=str(path))
