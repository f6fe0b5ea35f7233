"""User pool domains: CreateUserPoolDomain, DescribeUserPoolDomain, UpdateUserPoolDomain,
DeleteUserPoolDomain (Cognito API Reference; Developer Guide, "Configuring a user pool domain").

A pool has at most one prefix domain (``myapp``, served at ``myapp.auth.<region>.<auth_domain_base>``)
and one custom domain (a DNS name with ``CustomDomainConfig.CertificateArn``). Domain names are unique
across the whole install, as AWS's are across a partition. Ostiary cannot check an ACM certificate, so
the ARN is stored as given; a custom domain is served at its own name (Host header) once DNS points
it at this server, and ``CloudFrontDistribution`` names this server's public host, the alias target.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.userpools.errors import InvalidParameterException
from ostiary.userpools.lookup import pool_for_caller

# the model's DomainType constraint, which describes prefix domains (the validator leaves it to us)
PREFIX_PATTERN = r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$"
_PREFIX = re.compile(PREFIX_PATTERN)
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$")
_CERTIFICATE = re.compile(r"^arn:aws[a-z\-]*:acm:[a-z0-9\-]+:\d{12}:certificate/[A-Za-z0-9\-]+$")
# "You can't use the text aws, amazon, or cognito in the domain prefix" (Developer Guide)
RESERVED_WORDS = ("aws", "amazon", "cognito")
MANAGED_LOGIN_VERSIONS = (1, 2)

_BY_NAME = select(t.user_pool_domains).where(t.user_pool_domains.c.domain == bindparam("domain"))
_BY_POOL = (
    select(t.user_pool_domains.c.domain, t.user_pool_domains.c.custom)
    .where(t.user_pool_domains.c.user_pool_id == bindparam("pool_id"))
    .order_by(t.user_pool_domains.c.domain)
)


def domain_host(settings: Settings, prefix: str, region: str) -> str:
    """The host a prefix domain is served at: ``<prefix>.auth.<region>.<auth_domain_base>``."""
    return f"{prefix}.auth.{region}.{settings.auth_domain_base}"


def _served_at(settings: Settings, row: Row[Any], region: str) -> str:
    """CloudFrontDistribution / CloudFrontDomain: where DNS for the domain should point."""
    if row.custom:
        return urlsplit(settings.effective_public_url).hostname or settings.host
    return domain_host(settings, row.domain, region)


def _version(row: Row[Any]) -> str:
    """DomainDescription.Version: AWS shows a timestamp-like string that changes on update."""
    return str(row.updated_at.strftime("%Y%m%d%H%M%S"))


def _pattern_error(domain: str) -> InvalidParameterException:
    # the Coral validation message the model's DomainType pattern would give
    return InvalidParameterException(
        f"1 validation error detected: Value '{domain}' at 'domain' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {PREFIX_PATTERN}"
    )


def check_prefix(domain: str) -> None:
    """A prefix domain: lowercase letters, digits and hyphens, 1-63, no hyphen at either end, no
    reserved word."""
    if not _PREFIX.match(domain):
        raise _pattern_error(domain)
    for word in RESERVED_WORDS:
        if word in domain:
            raise InvalidParameterException(f"Domain cannot contain reserved word: {word}")


def check_custom(domain: str) -> None:
    """A custom domain: a fully-qualified DNS name (at least two labels, each a valid DNS label)."""
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InvalidParameterException(f"The custom domain {domain} is not a valid fully-qualified domain name.")
    if labels[-1].isdigit():
        raise InvalidParameterException(f"The custom domain {domain} is not a valid fully-qualified domain name.")


def _check_certificate(config: dict[str, Any]) -> str:
    arn = str(config.get("CertificateArn") or "")
    if not _CERTIFICATE.match(arn):
        raise InvalidParameterException(f"The certificate {arn} is not an ACM certificate ARN.")
    return arn


def _check_managed_login(params: Params) -> int | None:
    version = params.get("ManagedLoginVersion")
    if version is not None and version not in MANAGED_LOGIN_VERSIONS:
        raise InvalidParameterException("ManagedLoginVersion must be 1 (hosted UI classic) or 2 (managed login).")
    return int(version) if version is not None else None


def _refuse_routing(params: Params) -> None:
    if params.get("Routing"):
        raise InvalidParameterException("Routing (multi-Region failover) is not supported by Ostiary.")


def pool_domain_fields(conn: Connection, pool_id: str) -> dict[str, str]:
    """``Domain`` (the prefix) and ``CustomDomain`` of UserPoolType, for DescribeUserPool."""
    out: dict[str, str] = {}
    for row in conn.execute(_BY_POOL, {"pool_id": pool_id}):
        out["CustomDomain" if row.custom else "Domain"] = row.domain
    return out


@operation("cognito-idp", "CreateUserPoolDomain")
def create_user_pool_domain(ctx: RequestContext, params: Params) -> Result:
    domain = str(params["Domain"])
    custom_config: dict[str, Any] | None = params.get("CustomDomainConfig")
    custom = custom_config is not None
    certificate: str | None = None
    if custom_config is not None:
        domain = domain.lower()
        check_custom(domain)
        certificate = _check_certificate(custom_config)
    else:
        check_prefix(domain)
    version = _check_managed_login(params) or 1
    _refuse_routing(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        if conn.execute(_BY_NAME, {"domain": domain}).first() is not None:
            raise InvalidParameterException("Domain already associated with another user pool.")
        existing = conn.execute(_BY_POOL, {"pool_id": pool.id}).all()
        if any(bool(r.custom) == custom for r in existing):
            raise InvalidParameterException(
                f"User pool already has a {'custom' if custom else 'prefix'} domain configured."
            )
        conn.execute(
            insert(t.user_pool_domains).values(
                domain=domain,
                user_pool_id=pool.id,
                custom=custom,
                certificate_arn=certificate,
                managed_login_version=version,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        row = conn.execute(_BY_NAME, {"domain": domain}).one()
    return {"ManagedLoginVersion": version, "CloudFrontDomain": _served_at(ctx.settings, row, pool.region)}


@operation("cognito-idp", "DescribeUserPoolDomain")
def describe_user_pool_domain(ctx: RequestContext, params: Params) -> Result:
    """An unknown domain (or one of another account or Region) answers an empty DomainDescription."""
    with ctx.store.read() as conn:
        row = conn.execute(_BY_NAME, {"domain": str(params["Domain"]).lower()}).first()
        pool = conn.execute(
            select(t.user_pools.c.account_id, t.user_pools.c.region).where(
                t.user_pools.c.id == (row.user_pool_id if row is not None else "")
            )
        ).first()
    if row is None or pool is None or pool.account_id != ctx.account_id or pool.region != ctx.region:
        return {"DomainDescription": {}}
    description: dict[str, Any] = {
        "UserPoolId": row.user_pool_id,
        "AWSAccountId": pool.account_id,
        "Domain": row.domain,
        "CloudFrontDistribution": _served_at(ctx.settings, row, pool.region),
        "Version": _version(row),
        "Status": "ACTIVE",
        "ManagedLoginVersion": row.managed_login_version,
    }
    if row.custom:
        description["CustomDomainConfig"] = {"CertificateArn": row.certificate_arn}
    return {"DomainDescription": description}


def _own_domain(conn: Connection, pool_id: str, domain: str) -> Row[Any]:
    row = conn.execute(_BY_NAME, {"domain": domain.lower()}).first()
    if row is None or row.user_pool_id != pool_id:
        raise InvalidParameterException("No such domain or user pool exists.")
    return row


@operation("cognito-idp", "UpdateUserPoolDomain")
def update_user_pool_domain(ctx: RequestContext, params: Params) -> Result:
    """Changes the managed login version, or a custom domain's certificate."""
    version = _check_managed_login(params)
    _refuse_routing(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _own_domain(conn, pool.id, str(params["Domain"]))
        values: dict[str, Any] = {"updated_at": ctx.now}
        if version is not None:
            values["managed_login_version"] = version
        if params.get("CustomDomainConfig") is not None:
            if not row.custom:
                raise InvalidParameterException("CustomDomainConfig can only be given for a custom domain.")
            values["certificate_arn"] = _check_certificate(params["CustomDomainConfig"])
        conn.execute(update(t.user_pool_domains).where(t.user_pool_domains.c.domain == row.domain).values(**values))
        row = conn.execute(_BY_NAME, {"domain": row.domain}).one()
    return {
        "ManagedLoginVersion": row.managed_login_version,
        "CloudFrontDomain": _served_at(ctx.settings, row, pool.region),
    }


@operation("cognito-idp", "DeleteUserPoolDomain")
def delete_user_pool_domain(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _own_domain(conn, pool.id, str(params["Domain"]))
        conn.execute(delete(t.user_pool_domains).where(t.user_pool_domains.c.domain == row.domain))
    return {}
