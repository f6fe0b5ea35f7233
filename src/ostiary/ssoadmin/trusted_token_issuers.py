"""Trusted token issuers (sso-admin): Create/Describe/List/Update/DeleteTrustedTokenIssuer; and, for
CreateTokenWithIAM's JWT bearer grant, ``issuer``.

IAM Identity Center User Guide, "Using applications with a trusted token issuer": an external OAuth 2.0
authorization server whose JWTs the instance accepts (type ``OIDC_JWT``). Its configuration says where
it is (``IssuerUrl``, the tokens' ``iss``; its keys found by OpenID discovery, ``JwksRetrievalOption``
``OPEN_ID_DISCOVERY``) and how a token names a user of the instance's directory: the claim at
``ClaimAttributePath`` (e.g. ``email``) equals the user's attribute at ``IdentityStoreAttributePath``
(``userName``, ``emails.value`` or ``externalIds.id``). The issuer URL cannot change after creation;
one instance trusts an issuer URL once. Tags through ``tagging.py``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from ostiary.audit import recorder as audit
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import instances, paging
from ostiary.ssoadmin.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from ostiary.store import tables as t

OIDC_JWT = "OIDC_JWT"
MAX_ISSUERS = 100  # per instance (Ostiary's bound)
MAX_TAGS = 50
# the directory attributes a token's claim may be matched to (unique per user, or nearly so)
IDENTITY_STORE_PATHS = ("userName", "emails.value", "externalIds.id")

_c = t.sso_trusted_token_issuers.c


@dataclass(frozen=True)
class Issuer:
    """What CreateTokenWithIAM needs of a trusted token issuer."""

    arn: str
    instance_arn: str
    issuer_url: str
    claim_attribute_path: str
    identity_store_attribute_path: str


def _check_identity_path(path: str) -> None:
    if path not in IDENTITY_STORE_PATHS:
        raise ValidationException(
            f"IdentityStoreAttributePath {path} is not supported: use one of {', '.join(IDENTITY_STORE_PATHS)}."
        )


def _shape(row: RowMapping) -> dict[str, Any]:
    return {
        "TrustedTokenIssuerArn": row["issuer_arn"],
        "Name": row["name"],
        "TrustedTokenIssuerType": row["issuer_type"],
        "TrustedTokenIssuerConfiguration": {
            "OidcJwtConfiguration": {
                "IssuerUrl": row["issuer_url"],
                "ClaimAttributePath": row["claim_attribute_path"],
                "IdentityStoreAttributePath": row["identity_store_attribute_path"],
                "JwksRetrievalOption": row["jwks_retrieval_option"],
            }
        },
    }


def _find(conn: Connection, ctx: RequestContext, arn: str) -> RowMapping:
    row = conn.execute(select(t.sso_trusted_token_issuers).where(_c.issuer_arn == arn)).mappings().first()
    if row is None or row["account_id"] != ctx.account_id:
        raise ResourceNotFoundException(f"Trusted token issuer {arn} does not exist.")
    return row


def _resource(ctx: RequestContext, params: Params) -> str:
    return str(params.get("TrustedTokenIssuerArn") or params.get("InstanceArn") or "*")


@operation("sso-admin", "CreateTrustedTokenIssuer", resource=_resource)
def create_trusted_token_issuer(ctx: RequestContext, params: Params) -> Result:
    config = (params["TrustedTokenIssuerConfiguration"] or {}).get("OidcJwtConfiguration")
    if params["TrustedTokenIssuerType"] != OIDC_JWT or not isinstance(config, dict):
        raise ValidationException("TrustedTokenIssuerType OIDC_JWT takes an OidcJwtConfiguration.")
    _check_identity_path(config["IdentityStoreAttributePath"])
    tags = list(params.get("Tags") or [])
    if len(tags) > MAX_TAGS or len({tag["Key"] for tag in tags}) != len(tags):
        raise ValidationException(f"Tags must have distinct keys, at most {MAX_TAGS}.")
    token = params.get("ClientToken")
    issuer_url = config["IssuerUrl"].rstrip("/") if config["IssuerUrl"].count("/") > 2 else config["IssuerUrl"]
    with ctx.store.tx() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        mine = select(t.sso_trusted_token_issuers).where(_c.instance_arn == instance["instance_arn"])
        if token:
            again = conn.execute(mine.where(_c.client_token == token)).mappings().first()
            if again is not None:
                if again["name"] != params["Name"] or again["issuer_url"] != issuer_url:
                    raise ConflictException("The ClientToken was used with other parameters.")
                return {"TrustedTokenIssuerArn": again["issuer_arn"]}
        existing = conn.execute(mine).mappings().all()
        if any(r["issuer_url"] == issuer_url for r in existing):
            raise ConflictException(f"A trusted token issuer with the issuer URL {issuer_url} already exists.")
        if any(r["name"] == params["Name"] for r in existing):
            raise ConflictException(f"A trusted token issuer named {params['Name']} already exists.")
        if len(existing) >= MAX_ISSUERS:
            raise ServiceQuotaExceededException(f"An instance can have at most {MAX_ISSUERS} trusted token issuers.")
        instance_id = instance["instance_arn"].rsplit("/", 1)[1]
        arn = f"arn:aws:sso::{ctx.account_id}:trustedTokenIssuer/{instance_id}/tti-{uuid.uuid4()}"
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(t.sso_trusted_token_issuers).values(
                        issuer_arn=arn,
                        instance_arn=instance["instance_arn"],
                        account_id=ctx.account_id,
                        name=params["Name"],
                        issuer_type=OIDC_JWT,
                        issuer_url=issuer_url,
                        claim_attribute_path=config["ClaimAttributePath"],
                        identity_store_attribute_path=config["IdentityStoreAttributePath"],
                        jwks_retrieval_option=config["JwksRetrievalOption"],
                        client_token=token,
                        created_at=ctx.now,
                    )
                )
        except IntegrityError:  # the same name or URL created at the same moment
            raise ConflictException("A trusted token issuer with this name or issuer URL already exists.") from None
        for tag in tags:
            conn.execute(
                insert(t.tags).values(resource_arn=arn, account_id=ctx.account_id, key=tag["Key"], value=tag["Value"])
            )
        audit.record(conn, ctx, params, resource=("AWS::SSO::TrustedTokenIssuer", arn))
    return {"TrustedTokenIssuerArn": arn}


@operation("sso-admin", "DescribeTrustedTokenIssuer", resource=_resource)
def describe_trusted_token_issuer(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        return _shape(_find(conn, ctx, params["TrustedTokenIssuerArn"]))


@operation("sso-admin", "ListTrustedTokenIssuers", resource=_resource)
def list_trusted_token_issuers(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    with ctx.store.read() as conn:
        instance = instances.find(conn, params["InstanceArn"], ctx.account_id)
        query = select(_c.issuer_arn, _c.name, _c.issuer_type).where(_c.instance_arn == instance["instance_arn"])
        if after:
            query = query.where(_c.issuer_arn > str(after[0]))
        rows = conn.execute(query.order_by(_c.issuer_arn).limit(limit + 1)).all()
    out: dict[str, Any] = {
        "TrustedTokenIssuers": [
            {"TrustedTokenIssuerArn": r.issuer_arn, "Name": r.name, "TrustedTokenIssuerType": r.issuer_type}
            for r in rows[:limit]
        ]
    }
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1].issuer_arn])
    return out


@operation("sso-admin", "UpdateTrustedTokenIssuer", resource=_resource)
def update_trusted_token_issuer(ctx: RequestContext, params: Params) -> Result:
    config = (params.get("TrustedTokenIssuerConfiguration") or {}).get("OidcJwtConfiguration") or {}
    values: dict[str, Any] = {}
    if "Name" in params:
        values["name"] = params["Name"]
    for key, column in (
        ("ClaimAttributePath", "claim_attribute_path"),
        ("IdentityStoreAttributePath", "identity_store_attribute_path"),
        ("JwksRetrievalOption", "jwks_retrieval_option"),
    ):
        if key in config:
            values[column] = config[key]
    if "identity_store_attribute_path" in values:
        _check_identity_path(values["identity_store_attribute_path"])
    with ctx.store.tx() as conn:
        row = _find(conn, ctx, params["TrustedTokenIssuerArn"])
        if "name" in values and values["name"] != row["name"]:
            taken = conn.execute(
                select(_c.issuer_arn).where(_c.instance_arn == row["instance_arn"], _c.name == values["name"])
            ).first()
            if taken is not None:
                raise ConflictException(f"A trusted token issuer named {values['name']} already exists.")
        if values:
            conn.execute(update(t.sso_trusted_token_issuers).where(_c.issuer_arn == row["issuer_arn"]).values(**values))
        audit.record(conn, ctx, params)
    return {}


@operation("sso-admin", "DeleteTrustedTokenIssuer", resource=_resource)
def delete_trusted_token_issuer(ctx: RequestContext, params: Params) -> Result:
    """Deletes the issuer: applications' JWT bearer grants that name it accept its tokens no more."""
    with ctx.store.tx() as conn:
        row = _find(conn, ctx, params["TrustedTokenIssuerArn"])
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == row["issuer_arn"]))
        conn.execute(delete(t.sso_trusted_token_issuers).where(_c.issuer_arn == row["issuer_arn"]))
        audit.record(conn, ctx, params)
    return {}


def issuer(conn: Connection, arn: str) -> Issuer | None:
    """The trusted token issuer ``arn`` (None: deleted or never created)."""
    row = conn.execute(select(t.sso_trusted_token_issuers).where(_c.issuer_arn == arn)).mappings().first()
    if row is None:
        return None
    return Issuer(
        row["issuer_arn"],
        row["instance_arn"],
        row["issuer_url"],
        row["claim_attribute_path"],
        row["identity_store_attribute_path"],
    )
