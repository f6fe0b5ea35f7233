"""Which user pool a request to the OAuth endpoints and hosted pages is for.

A pool's domain is served two ways (both always on):
- by Host header, for production behind DNS: a prefix domain ``myapp`` of a pool in ``us-east-1``
  answers at ``myapp.auth.us-east-1.<auth_domain_base>``, a custom domain at its own name;
- under a path of the main endpoint, for local development without DNS:
  ``<public_url>/_domain/<domain>/oauth2/authorize`` and so on.

The front door (app.py) turns the first form into the second, so the endpoints see one path shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select

from ostiary.caching import TtlCache
from ostiary.config import Settings
from ostiary.protocol.context import Runtime
from ostiary.store import tables as t
from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import pool_by_id

PATH_PREFIX = "/_domain/"
TOKEN_PATH = "oauth2/token"


@dataclass(frozen=True)
class Domain:
    name: str
    custom: bool
    pool: PoolView
    managed_login_version: int = 1  # 2: the hosted pages are drawn from the client's managed login style


def prefix_host(settings: Settings, prefix: str, region: str) -> str:
    return f"{prefix}.auth.{region}.{settings.auth_domain_base}"


def token_endpoint_domain(path: str) -> str | None:
    """The domain of a ``/_domain/<domain>/oauth2/token`` path (the token endpoint, which the front
    door serves without the router), else None."""
    if not path.startswith(PATH_PREFIX):
        return None
    name, sep, rest = path[len(PATH_PREFIX) :].partition("/")
    return name if sep and rest == TOKEN_PATH else None


def base_url(settings: Settings, domain: Domain) -> str:
    """Where the domain's endpoints are, as discovery documents and redirects name them."""
    if settings.domain_url_style == "host":
        public = urlsplit(settings.effective_public_url)
        if domain.custom:
            return f"https://{domain.name}"
        port = f":{public.port}" if public.port and public.port not in (80, 443) else ""
        return f"{public.scheme}://{prefix_host(settings, domain.name, domain.pool.region)}{port}"
    return f"{settings.effective_public_url}{PATH_PREFIX}{domain.name}"


_BY_NAME = select(t.user_pool_domains).where(t.user_pool_domains.c.domain == bindparam("domain"))
_BY_POOL = select(t.user_pool_domains).where(t.user_pool_domains.c.user_pool_id == bindparam("pool_id"))


class DomainResolver:
    """Domain lookups with a short per-process cache (a new or deleted domain shows within
    ``cache_domain_seconds``, 10 s)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._cache: TtlCache[str, Domain | None] = TtlCache("domains", ttl=10)

    def get(self, name: str) -> Domain | None:
        name = name.lower()

        def load() -> Domain | None:
            with self.runtime.store.read() as conn:
                row = conn.execute(_BY_NAME, {"domain": name}).first()
                pool = pool_by_id(conn, row.user_pool_id) if row is not None else None
            if row is None or pool is None:
                return None
            return Domain(row.domain, bool(row.custom), pool, int(row.managed_login_version or 1))

        return self._cache.get_or_load(name, load)

    def for_pool(self, pool_id: str) -> Domain | None:
        """The pool's domain for its discovery document (the prefix domain first)."""
        with self.runtime.store.read() as conn:
            rows = conn.execute(_BY_POOL, {"pool_id": pool_id}).all()
            pool = pool_by_id(conn, pool_id)
        if not rows or pool is None:
            return None
        row = sorted(rows, key=lambda r: bool(r.custom))[0]
        return Domain(row.domain, bool(row.custom), pool, int(row.managed_login_version or 1))

    def from_host(self, host: str) -> str | None:
        """The domain a Host header names (a prefix host or a custom domain), or None."""
        name = host.rsplit(":", 1)[0].lower() if not host.startswith("[") else ""
        if not name:
            return None
        suffix = "." + self.runtime.settings.auth_domain_base
        if name.endswith(suffix):
            labels = name[: -len(suffix)].split(".")
            if len(labels) == 3 and labels[1] == "auth":
                return labels[0]
            return None
        if "." not in name or name.replace(".", "").isdigit():
            return None  # localhost, an IP address: the main endpoint
        found = self.get(name)
        return found.name if found is not None and found.custom else None
