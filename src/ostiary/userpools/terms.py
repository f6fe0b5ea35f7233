"""Terms documents of app clients: CreateTerms, DescribeTerms, DescribeTermsByClient, UpdateTerms,
ListTerms, DeleteTerms. Once a client has both a ``terms-of-use`` and a ``privacy-policy`` document,
its hosted sign-up page links to them, in the page's language (``lang``) or ``cognito:default``.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import paging
from ostiary.userpools.errors import InvalidParameterException, ResourceNotFoundException, TermsExistsException
from ostiary.userpools.lookup import client_in_pool, pool_for_caller

DOCUMENTS = ("terms-of-use", "privacy-policy")
# managed login's languages (the ``lang`` parameter) and their keys in Links
LANGUAGES = {
    "en": "cognito:english",
    "fr": "cognito:french",
    "es": "cognito:spanish",
    "de": "cognito:german",
    "id": "cognito:bahasa-indonesia",
    "ja": "cognito:japanese",
    "ko": "cognito:korean",
    "pt-BR": "cognito:portuguese-brazil",
    "zh-CN": "cognito:chinese-(simplified)",
    "zh-TW": "cognito:chinese-(traditional)",
}
LINK_KEYS = frozenset({"cognito:default", *LANGUAGES.values()})


def _check_links(links: dict[str, str]) -> dict[str, str]:
    for key, url in links.items():
        if key not in LINK_KEYS:
            raise InvalidParameterException(f"Invalid language key {key}: expected one of {sorted(LINK_KEYS)}.")
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")):
            raise InvalidParameterException(f"The link for {key} must be an https URL.")
    return dict(links)


def _terms(row: Row[Any]) -> dict[str, Any]:
    return {
        "TermsId": row.terms_id,
        "UserPoolId": row.user_pool_id,
        "ClientId": row.client_id,
        "TermsName": row.name,
        "TermsSource": row.source,
        "Enforcement": row.enforcement,
        "Links": dict(row.links),
        "CreationDate": utc(row.created_at),
        "LastModifiedDate": utc(row.updated_at),
    }


def _row(conn: Connection, pool_id: str, terms_id: str) -> Row[Any]:
    row = conn.execute(select(t.user_pool_terms).where(t.user_pool_terms.c.terms_id == terms_id)).first()
    if row is None or row.user_pool_id != pool_id:
        raise ResourceNotFoundException(f"Terms {terms_id} do not exist.")
    return row


@operation("cognito-idp", "CreateTerms")
def create_terms(ctx: RequestContext, params: Params) -> Result:
    links = _check_links(params.get("Links") or {})
    if not links:
        raise InvalidParameterException("Links must name at least one document URL.")
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        taken = conn.execute(
            select(t.user_pool_terms.c.terms_id).where(
                t.user_pool_terms.c.client_id == client.id, t.user_pool_terms.c.name == params["TermsName"]
            )
        ).first()
        if taken is not None:
            raise TermsExistsException(f"Terms {params['TermsName']} already exist for this app client.")
        terms_id = str(uuid.uuid4())
        conn.execute(
            insert(t.user_pool_terms).values(
                terms_id=terms_id,
                user_pool_id=pool.id,
                client_id=client.id,
                name=params["TermsName"],
                source=params["TermsSource"],
                enforcement=params["Enforcement"],
                links=links,
                created_at=ctx.now,
                updated_at=ctx.now,
            )
        )
        return {"Terms": _terms(_row(conn, pool.id, terms_id))}


@operation("cognito-idp", "DescribeTerms")
def describe_terms(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        return {"Terms": _terms(_row(conn, pool.id, params["TermsId"]))}


@operation("cognito-idp", "DescribeTermsByClient")
def describe_terms_by_client(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        client = client_in_pool(conn, ctx.box, pool, params["ClientId"])
        row = conn.execute(
            select(t.user_pool_terms).where(
                t.user_pool_terms.c.client_id == client.id, t.user_pool_terms.c.name == params["TermsName"]
            )
        ).first()
    if row is None:
        raise ResourceNotFoundException(f"The app client has no {params['TermsName']} terms.")
    return {"Terms": _terms(row)}


@operation("cognito-idp", "UpdateTerms")
def update_terms(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool.id, params["TermsId"])
        values: dict[str, Any] = {"updated_at": ctx.now}
        if params.get("TermsName") and params["TermsName"] != row.name:
            taken = conn.execute(
                select(t.user_pool_terms.c.terms_id).where(
                    t.user_pool_terms.c.client_id == row.client_id, t.user_pool_terms.c.name == params["TermsName"]
                )
            ).first()
            if taken is not None:
                raise TermsExistsException(f"Terms {params['TermsName']} already exist for this app client.")
            values["name"] = params["TermsName"]
        if params.get("TermsSource"):
            values["source"] = params["TermsSource"]
        if params.get("Enforcement"):
            values["enforcement"] = params["Enforcement"]
        if params.get("Links") is not None:
            values["links"] = _check_links(params["Links"])
        conn.execute(update(t.user_pool_terms).where(t.user_pool_terms.c.terms_id == row.terms_id).values(**values))
        return {"Terms": _terms(_row(conn, pool.id, row.terms_id))}


@operation("cognito-idp", "ListTerms")
def list_terms(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        rows = conn.execute(
            select(t.user_pool_terms)
            .where(t.user_pool_terms.c.user_pool_id == pool.id)
            .order_by(t.user_pool_terms.c.created_at, t.user_pool_terms.c.terms_id)
        ).all()
    chunk, token = paging.slice_after(
        list(rows), lambda r: str(r.terms_id), params.get("NextToken"), int(params.get("MaxResults") or 50)
    )
    out: dict[str, Any] = {
        "Terms": [
            {
                "TermsId": r.terms_id,
                "TermsName": r.name,
                "Enforcement": r.enforcement,
                "CreationDate": utc(r.created_at),
                "LastModifiedDate": utc(r.updated_at),
            }
            for r in chunk
        ]
    }
    if token:
        out["NextToken"] = token
    return out


@operation("cognito-idp", "DeleteTerms")
def delete_terms(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        row = _row(conn, pool.id, params["TermsId"])
        conn.execute(delete(t.user_pool_terms).where(t.user_pool_terms.c.terms_id == row.terms_id))
    return {}


def sign_up_links(conn: Connection, client_id: str, lang: str | None) -> dict[str, str] | None:
    """{"terms-of-use": url, "privacy-policy": url} for the hosted sign-up page, when the client has
    both documents (in ``lang`` or by default); else None."""
    rows = conn.execute(
        select(t.user_pool_terms.c.name, t.user_pool_terms.c.links).where(t.user_pool_terms.c.client_id == client_id)
    ).all()
    key = LANGUAGES.get(lang or "", "cognito:default")
    out: dict[str, str] = {}
    for row in rows:
        links = dict(row.links)
        url = links.get(key) or links.get("cognito:default")
        if url:
            out[str(row.name)] = str(url)
    return out if all(d in out for d in DOCUMENTS) else None
