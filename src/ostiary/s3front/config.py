"""The S3 front's configuration: the ``[s3]`` section of the gateway's file (docs/gateway.md, "S3 front").

```toml
[s3]
listen = "127.0.0.1:9000"          # its own listener (host:port)
region = "us-east-1"               # the region clients sign for
base_domain = "s3.example.test"    # <bucket>.s3.example.test is virtual-host style (optional)
max_object_bytes = 5368709120      # one PUT / UploadPart body (S3's own limit: 5 GiB)
trusted_proxies = ["10.0.0.0/8"]   # peers whose X-Forwarded-For / -Proto are believed (optional)

[s3.upstream]
endpoint = "http://127.0.0.1:9100" # any S3-compatible store; always addressed path style
region = "us-east-1"
access_key_id = "AKIA..."
secret_access_key_env = "S3_UPSTREAM_SECRET"    # or secret_access_key_file = "/run/secrets/s3"

[s3.buckets]                       # the buckets served, each with the account that owns it
photos = "123456789012"
shared = { account = "210987654321" }
```

A bucket that is not listed does not exist for the front's clients (NoSuchBucket): the owner account of
a bucket decides same-account vs cross-account evaluation and who may manage its bucket policy. The
upstream secret is read from the environment or a file when the configuration is loaded, is never in
the file itself, and is kept out of ``repr`` (so out of logs and tracebacks).

This module imports nothing of ``ostiary.gateway`` (the gateway imports the S3 front, not the other
way round): it reads its section with its own small checks, each error naming its key.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_MAX_OBJECT_BYTES = 5 * 1024**3  # S3: "the largest object that can be uploaded in a single PUT is 5 GB"
MAX_BUCKETS = 10_000
_ACCOUNT = re.compile(r"\d{12}")
# S3's bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -, starting and ending with a
# letter or digit
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_KNOWN = frozenset(
    {"listen", "region", "base_domain", "max_object_bytes", "connect_timeout", "read_timeout", "max_connections",
     "upstream", "buckets", "trusted_proxies"}
)  # fmt: skip
MAX_TRUSTED_PROXIES = 100
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_KNOWN_UPSTREAM = frozenset(
    {"endpoint", "region", "access_key_id", "secret_access_key_env", "secret_access_key_file"}
)  # fmt: skip


class S3ConfigError(ValueError):
    """A mistake in the ``[s3]`` section; the message names the key (``s3.upstream.endpoint: required``)."""


@dataclass(frozen=True)
class Upstream:
    endpoint: str  # scheme://host[:port], no path
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


@dataclass(frozen=True)
class S3FrontConfig:
    host: str
    port: int
    region: str
    upstream: Upstream
    buckets: Mapping[str, str]  # bucket name -> owner account id
    base_domain: str | None = None
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_connections: int = 100
    # peers whose X-Forwarded-For / X-Forwarded-Proto are believed (a load balancer terminating TLS)
    trusted_proxies: tuple[IpNetwork, ...] = ()

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted_proxies)

    def owner(self, bucket: str) -> str | None:
        """The account that owns ``bucket``, or None when the front does not serve it."""
        return self.buckets.get(bucket)


def _string(section: Mapping[str, Any], where: str, name: str, default: str | None = None) -> str:
    value = section.get(name)
    if value is None:
        if default is None:
            raise S3ConfigError(f"{where}.{name}: required")
        return default
    if not isinstance(value, str) or not value:
        raise S3ConfigError(f"{where}.{name}: expected a non-empty string")
    if len(value) > 2048:
        raise S3ConfigError(f"{where}.{name}: longer than 2048 characters")
    return value


def _number(section: Mapping[str, Any], where: str, name: str, default: float, low: float, high: float) -> float:
    value = section.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise S3ConfigError(f"{where}.{name}: expected a number")
    if not low <= float(value) <= high:
        raise S3ConfigError(f"{where}.{name}: must be between {low:g} and {high:g}")
    return float(value)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise S3ConfigError("s3.listen: expected host:port")
    return host, int(port)


def _unknown(section: Mapping[str, Any], where: str, known: frozenset[str]) -> None:
    extra = sorted(set(section) - known)
    if extra:
        raise S3ConfigError(f"{where}: unknown key{'s' if len(extra) > 1 else ''} {', '.join(extra)}")


def _secret(section: Mapping[str, Any], env: Mapping[str, str]) -> str:
    where = "s3.upstream"
    from_env = section.get("secret_access_key_env")
    from_file = section.get("secret_access_key_file")
    if "secret_access_key" in section:
        raise S3ConfigError(f"{where}.secret_access_key: never in the file; use secret_access_key_env or _file")
    if (from_env is None) == (from_file is None):
        raise S3ConfigError(f"{where}: exactly one of secret_access_key_env, secret_access_key_file")
    if from_env is not None:
        name = _string(section, where, "secret_access_key_env")
        secret = env.get(name, "")
        if not secret:
            raise S3ConfigError(f"{where}.secret_access_key_env: the environment variable {name} is not set")
        return secret
    path = Path(_string(section, where, "secret_access_key_file"))
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise S3ConfigError(f"{where}.secret_access_key_file: cannot read {path}: {exc.strerror}") from None
    if not secret:
        raise S3ConfigError(f"{where}.secret_access_key_file: {path} is empty")
    return secret


def _upstream(section: Any, env: Mapping[str, str]) -> Upstream:
    where = "s3.upstream"
    if not isinstance(section, Mapping):
        raise S3ConfigError(f"{where}: required (a table)")
    _unknown(section, where, _KNOWN_UPSTREAM | {"secret_access_key"})
    endpoint = _string(section, where, "endpoint").rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
        raise S3ConfigError(f"{where}.endpoint: expected http(s)://host[:port] without a path")
    region = _string(section, where, "region", "us-east-1")
    if not _REGION.fullmatch(region):
        raise S3ConfigError(f"{where}.region: not a region name")
    return Upstream(
        endpoint=endpoint,
        region=region,
        access_key_id=_string(section, where, "access_key_id"),
        secret_access_key=_secret(section, env),
    )


def _buckets(section: Any) -> dict[str, str]:
    where = "s3.buckets"
    if not isinstance(section, Mapping) or not section:
        raise S3ConfigError(f"{where}: required (a table of bucket = account)")
    if len(section) > MAX_BUCKETS:
        raise S3ConfigError(f"{where}: at most {MAX_BUCKETS} buckets")
    out: dict[str, str] = {}
    for name, value in section.items():
        if not isinstance(name, str) or not _BUCKET.fullmatch(name) or ".." in name:
            raise S3ConfigError(f"{where}.{name}: not a valid S3 bucket name")
        if isinstance(value, Mapping):
            _unknown(value, f"{where}.{name}", frozenset({"account"}))
            value = value.get("account")
        if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
            raise S3ConfigError(f"{where}.{name}: expected the owner's 12-digit account id")
        out[name] = value
    return out


def _networks(value: Any) -> tuple[IpNetwork, ...]:
    where = "s3.trusted_proxies"
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise S3ConfigError(f"{where}: expected a list of addresses or networks")
    if len(value) > MAX_TRUSTED_PROXIES:
        raise S3ConfigError(f"{where}: at most {MAX_TRUSTED_PROXIES} items")
    out = []
    for item in value:
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise S3ConfigError(f"{where}: not an address or network: {item!r}") from None
    return tuple(out)


def parse(section: Mapping[str, Any], env: Mapping[str, str] | None = None) -> S3FrontConfig:
    """The ``[s3]`` section as read from the TOML file (``env``: where ``secret_access_key_env`` is
    looked up, ``os.environ`` by default)."""
    if not isinstance(section, Mapping):
        raise S3ConfigError("s3: expected a table")
    _unknown(section, "s3", _KNOWN)
    host, port = _listen(_string(section, "s3", "listen"))
    region = _string(section, "s3", "region", "us-east-1")
    if not _REGION.fullmatch(region):
        raise S3ConfigError("s3.region: not a region name")
    base_domain = section.get("base_domain")
    if base_domain is not None:
        base_domain = _string(section, "s3", "base_domain").lower().strip(".")
        if not re.fullmatch(r"[a-z0-9\-]+(\.[a-z0-9\-]+)*", base_domain):
            raise S3ConfigError("s3.base_domain: expected a DNS name")
    return S3FrontConfig(
        host=host,
        port=port,
        region=region,
        upstream=_upstream(section.get("upstream"), os.environ if env is None else env),
        buckets=_buckets(section.get("buckets")),
        base_domain=base_domain,
        max_object_bytes=int(
            _number(section, "s3", "max_object_bytes", DEFAULT_MAX_OBJECT_BYTES, 1, DEFAULT_MAX_OBJECT_BYTES)
        ),
        connect_timeout=_number(section, "s3", "connect_timeout", 5.0, 0.1, 300),
        read_timeout=_number(section, "s3", "read_timeout", 60.0, 0.1, 3600),
        max_connections=int(_number(section, "s3", "max_connections", 100, 1, 10_000)),
        trusted_proxies=_networks(section.get("trusted_proxies")),
    )
