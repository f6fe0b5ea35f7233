"""IAM identity providers (IAM API Reference): OpenID Connect providers (Create, Get, List, Delete,
Add/RemoveClientID, UpdateThumbprint, Tag/Untag/ListTags) and SAML providers (Create, Get, List,
Update, Delete, Tag/Untag/ListTags).

An OIDC provider's ARN is ``arn:aws:iam::<account>:oidc-provider/<host/path>``; its Url is
returned without the scheme, as IAM does. Ostiary checks tokens against the issuer's JWKS (found by
discovery), not against the thumbprints, which it keeps for compatibility. A SAML provider keeps
its IdP metadata; AssumeRoleWithSAML checks signatures against the certificates listed there.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary import egress
from ostiary.federation import oidc, saml
from ostiary.iam.errors import EntityAlreadyExistsException, InvalidInputException, NoSuchEntityException
from ostiary.iam.paging import page
from ostiary.iam.tagging import merge_tags
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t

MAX_CLIENT_IDS = 100


def _oidc_resource(ctx: RequestContext, params: Params) -> str:
    return str(params.get("OpenIDConnectProviderArn") or f"arn:aws:iam::{ctx.account_id}:oidc-provider/*")


def _saml_resource(ctx: RequestContext, params: Params) -> str:
    arn = params.get("SAMLProviderArn")
    if arn:
        return str(arn)
    return f"arn:aws:iam::{ctx.account_id}:saml-provider/{params.get('Name', '*')}"


def issuer_path(url: str) -> str:
    """``host[:port]/path`` of an issuer URL: the provider's identity in its ARN and in token ``iss``."""
    parts = urlsplit(url if "://" in url else "https://" + url)
    return (parts.netloc + parts.path).rstrip("/")


def oidc_arn(account: str, url: str) -> str:
    return f"arn:aws:iam::{account}:oidc-provider/{issuer_path(url)}"


def _oidc(conn: Connection, ctx: RequestContext, arn: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_oidc_providers).where(
            t.iam_oidc_providers.c.arn == arn, t.iam_oidc_providers.c.account_id == ctx.account_id
        )
    ).first()
    if row is None:
        raise NoSuchEntityException(f"OpenIDConnect Provider not found for arn {arn}")
    return row


def find_oidc_provider(conn: Connection, account: str, issuer: str) -> Row[Any] | None:
    """The account's OIDC provider for a token issuer (``https://host/path`` or ``host/path``)."""
    return conn.execute(
        select(t.iam_oidc_providers).where(t.iam_oidc_providers.c.arn == oidc_arn(account, issuer))
    ).first()


@operation("iam", "CreateOpenIDConnectProvider", resource=_oidc_resource)
def create_oidc_provider(ctx: RequestContext, params: Params) -> Result:
    url = params["Url"]
    try:
        oidc.check_issuer_url(url, egress.policy(ctx.settings))
    except oidc.OidcError:
        raise InvalidInputException("Invalid Url: the provider URL must begin with https://") from None
    client_ids = list(dict.fromkeys(params.get("ClientIDList") or []))
    if len(client_ids) > MAX_CLIENT_IDS:
        raise InvalidInputException(f"A provider can have at most {MAX_CLIENT_IDS} client IDs.")
    arn = oidc_arn(ctx.account_id, url)
    tags = merge_tags([], list(params.get("Tags") or []))
    with ctx.store.tx() as conn:
        if conn.execute(select(t.iam_oidc_providers.c.arn).where(t.iam_oidc_providers.c.arn == arn)).first():
            raise EntityAlreadyExistsException(f"Provider with url {url} already exists.")
        conn.execute(
            insert(t.iam_oidc_providers).values(
                arn=arn,
                account_id=ctx.account_id,
                url=url.rstrip("/"),
                client_ids=client_ids,
                thumbprints=list(params.get("ThumbprintList") or []),
                tags=tags,
                created_at=ctx.now,
            )
        )
    out: dict[str, Any] = {"OpenIDConnectProviderArn": arn}
    if tags:
        out["Tags"] = tags
    return out


@operation("iam", "GetOpenIDConnectProvider", resource=_oidc_resource)
def get_oidc_provider(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _oidc(conn, ctx, params["OpenIDConnectProviderArn"])
    out: dict[str, Any] = {
        "Url": issuer_path(row.url),
        "ClientIDList": list(row.client_ids),
        "ThumbprintList": list(row.thumbprints),
        "CreateDate": row.created_at,
    }
    if row.tags:
        out["Tags"] = row.tags
    return out


@operation("iam", "ListOpenIDConnectProviders", resource=_oidc_resource)
def list_oidc_providers(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_oidc_providers.c.arn)
            .where(t.iam_oidc_providers.c.account_id == ctx.account_id)
            .order_by(t.iam_oidc_providers.c.arn)
        ).all()
    return {"OpenIDConnectProviderList": [{"Arn": r.arn} for r in rows]}


@operation("iam", "DeleteOpenIDConnectProvider", resource=_oidc_resource)
def delete_oidc_provider(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _oidc(conn, ctx, params["OpenIDConnectProviderArn"])
        conn.execute(delete(t.iam_oidc_providers).where(t.iam_oidc_providers.c.arn == row.arn))
    return None


def _update_oidc(ctx: RequestContext, arn: str, **values: Any) -> Row[Any]:
    with ctx.store.tx() as conn:
        row = _oidc(conn, ctx, arn)
        computed = {k: (v(row) if callable(v) else v) for k, v in values.items()}
        conn.execute(update(t.iam_oidc_providers).where(t.iam_oidc_providers.c.arn == row.arn).values(**computed))
    return row


@operation("iam", "AddClientIDToOpenIDConnectProvider", resource=_oidc_resource)
def add_client_id(ctx: RequestContext, params: Params) -> Result:
    def add(row: Row[Any]) -> list[str]:
        ids = list(row.client_ids)
        if params["ClientID"] not in ids:
            if len(ids) >= MAX_CLIENT_IDS:
                raise InvalidInputException(f"A provider can have at most {MAX_CLIENT_IDS} client IDs.")
            ids.append(params["ClientID"])
        return ids

    _update_oidc(ctx, params["OpenIDConnectProviderArn"], client_ids=add)
    return None


@operation("iam", "RemoveClientIDFromOpenIDConnectProvider", resource=_oidc_resource)
def remove_client_id(ctx: RequestContext, params: Params) -> Result:
    _update_oidc(
        ctx,
        params["OpenIDConnectProviderArn"],
        client_ids=lambda row: [c for c in row.client_ids if c != params["ClientID"]],
    )
    return None


@operation("iam", "UpdateOpenIDConnectProviderThumbprint", resource=_oidc_resource)
def update_thumbprint(ctx: RequestContext, params: Params) -> Result:
    _update_oidc(ctx, params["OpenIDConnectProviderArn"], thumbprints=list(params["ThumbprintList"]))
    return None


@operation("iam", "TagOpenIDConnectProvider", resource=_oidc_resource)
def tag_oidc_provider(ctx: RequestContext, params: Params) -> Result:
    _update_oidc(ctx, params["OpenIDConnectProviderArn"], tags=lambda row: merge_tags(list(row.tags), params["Tags"]))
    return None


@operation("iam", "UntagOpenIDConnectProvider", resource=_oidc_resource)
def untag_oidc_provider(ctx: RequestContext, params: Params) -> Result:
    drop = {k.lower() for k in params["TagKeys"]}
    _update_oidc(
        ctx,
        params["OpenIDConnectProviderArn"],
        tags=lambda row: [tag for tag in row.tags if tag["Key"].lower() not in drop],
    )
    return None


@operation("iam", "ListOpenIDConnectProviderTags", resource=_oidc_resource)
def list_oidc_provider_tags(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _oidc(conn, ctx, params["OpenIDConnectProviderArn"])
    chunk, extra = page(list(row.tags), params)
    return {"Tags": chunk, **extra}


# --- SAML providers -----------------------------------------------------------------------------


def _metadata(document: str) -> saml.Metadata:
    try:
        return saml.parse_metadata(document)
    except saml.SamlError as err:
        raise InvalidInputException(f"Could not parse metadata: {err}") from None


def _saml(conn: Connection, ctx: RequestContext, arn: str) -> Row[Any]:
    row = conn.execute(
        select(t.iam_saml_providers).where(
            t.iam_saml_providers.c.arn == arn, t.iam_saml_providers.c.account_id == ctx.account_id
        )
    ).first()
    if row is None:
        raise NoSuchEntityException(f"Manifest not found for arn {arn}")
    return row


def find_saml_provider(conn: Connection, arn: str) -> Row[Any] | None:
    return conn.execute(select(t.iam_saml_providers).where(t.iam_saml_providers.c.arn == arn)).first()


@operation("iam", "CreateSAMLProvider", resource=_saml_resource)
def create_saml_provider(ctx: RequestContext, params: Params) -> Result:
    if params.get("AddPrivateKey") or params.get("AssertionEncryptionMode") == "Required":
        raise InvalidInputException("Ostiary does not support encrypted SAML assertions.")
    meta = _metadata(params["SAMLMetadataDocument"])
    arn = f"arn:aws:iam::{ctx.account_id}:saml-provider/{params['Name']}"
    tags = merge_tags([], list(params.get("Tags") or []))
    with ctx.store.tx() as conn:
        if find_saml_provider(conn, arn) is not None:
            raise EntityAlreadyExistsException(f"SAMLProvider {params['Name']} already exists")
        conn.execute(
            insert(t.iam_saml_providers).values(
                arn=arn,
                account_id=ctx.account_id,
                name=params["Name"],
                metadata_document=params["SAMLMetadataDocument"],
                valid_until=meta.valid_until,
                tags=tags,
                created_at=ctx.now,
            )
        )
    out: dict[str, Any] = {"SAMLProviderArn": arn}
    if tags:
        out["Tags"] = tags
    return out


@operation("iam", "GetSAMLProvider", resource=_saml_resource)
def get_saml_provider(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _saml(conn, ctx, params["SAMLProviderArn"])
    out: dict[str, Any] = {
        "SAMLProviderUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, row.arn)),
        "SAMLMetadataDocument": row.metadata_document,
        "CreateDate": row.created_at,
        "AssertionEncryptionMode": "Allowed",
    }
    if row.valid_until is not None:
        out["ValidUntil"] = row.valid_until
    if row.tags:
        out["Tags"] = row.tags
    return out


@operation("iam", "ListSAMLProviders", resource=_saml_resource)
def list_saml_providers(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_saml_providers)
            .where(t.iam_saml_providers.c.account_id == ctx.account_id)
            .order_by(t.iam_saml_providers.c.arn)
        ).all()
    items = []
    for r in rows:
        item: dict[str, Any] = {"Arn": r.arn, "CreateDate": r.created_at}
        if r.valid_until is not None:
            item["ValidUntil"] = r.valid_until
        items.append(item)
    return {"SAMLProviderList": items}


@operation("iam", "UpdateSAMLProvider", resource=_saml_resource)
def update_saml_provider(ctx: RequestContext, params: Params) -> Result:
    if params.get("AddPrivateKey") or params.get("AssertionEncryptionMode") == "Required":
        raise InvalidInputException("Ostiary does not support encrypted SAML assertions.")
    with ctx.store.tx() as conn:
        row = _saml(conn, ctx, params["SAMLProviderArn"])
        if params.get("SAMLMetadataDocument"):
            meta = _metadata(params["SAMLMetadataDocument"])
            conn.execute(
                update(t.iam_saml_providers)
                .where(t.iam_saml_providers.c.arn == row.arn)
                .values(metadata_document=params["SAMLMetadataDocument"], valid_until=meta.valid_until)
            )
    return {"SAMLProviderArn": row.arn}


@operation("iam", "DeleteSAMLProvider", resource=_saml_resource)
def delete_saml_provider(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _saml(conn, ctx, params["SAMLProviderArn"])
        conn.execute(delete(t.iam_saml_providers).where(t.iam_saml_providers.c.arn == row.arn))
    return None


def _retag_saml(ctx: RequestContext, arn: str, change: Any) -> None:
    with ctx.store.tx() as conn:
        row = _saml(conn, ctx, arn)
        conn.execute(
            update(t.iam_saml_providers).where(t.iam_saml_providers.c.arn == row.arn).values(tags=change(row.tags))
        )


@operation("iam", "TagSAMLProvider", resource=_saml_resource)
def tag_saml_provider(ctx: RequestContext, params: Params) -> Result:
    _retag_saml(ctx, params["SAMLProviderArn"], lambda tags: merge_tags(list(tags), params["Tags"]))
    return None


@operation("iam", "UntagSAMLProvider", resource=_saml_resource)
def untag_saml_provider(ctx: RequestContext, params: Params) -> Result:
    drop = {k.lower() for k in params["TagKeys"]}
    _retag_saml(ctx, params["SAMLProviderArn"], lambda tags: [x for x in tags if x["Key"].lower() not in drop])
    return None


@operation("iam", "ListSAMLProviderTags", resource=_saml_resource)
def list_saml_provider_tags(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _saml(conn, ctx, params["SAMLProviderArn"])
    chunk, extra = page(list(row.tags), params)
    return {"Tags": chunk, **extra}
