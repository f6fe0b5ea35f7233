"""IAM Identity Center instances (sso-admin): CreateInstance, DescribeInstance, ListInstances,
UpdateInstance, DeleteInstance.

An instance belongs to the account that created it and owns one identity store (the workforce
directory, ``ostiary.identitystore``). AWS allows one instance per account ("You can create only one
instance per account and across all AWS Regions"); a second CreateInstance is a ConflictException.
Instance ARNs are global (``arn:aws:sso:::instance/ssoins-<16 hex>``); identity store ids are
``d-<10 hex>``.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import botocore.loaders
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from ostiary.crypto.keys import delete_keys
from ostiary.iam import roles
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import paging
from ostiary.ssoadmin.errors import ConflictException, ResourceNotFoundException, ValidationException
from ostiary.store import tables as t

INSTANCE_ARN_PREFIX = "arn:aws:sso:::instance/"


def _shape(row: RowMapping) -> dict[str, Any]:
    out: dict[str, Any] = {
        "InstanceArn": row["instance_arn"],
        "IdentityStoreId": row["identity_store_id"],
        "OwnerAccountId": row["account_id"],
        "CreatedDate": row["created_at"],
        "Status": row["status"],
    }
    if row["name"]:
        out["Name"] = row["name"]
    return out


def key_owner(instance_arn: str) -> str:
    """The owner of the instance's signing keys (``crypto/keys``: CreateTokenWithIAM's ID tokens)."""
    return "sso-instance:" + instance_arn.rsplit("/", 1)[-1]


def find(conn: Connection, instance_arn: str, account_id: str) -> RowMapping:
    """The caller's instance by ARN; another account's or an unknown one is not found."""
    row = (
        conn.execute(
            select(t.sso_instances).where(
                t.sso_instances.c.instance_arn == instance_arn, t.sso_instances.c.account_id == account_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise ResourceNotFoundException("Instance not found.")
    return row


def by_identity_store(conn: Connection, identity_store_id: str) -> RowMapping | None:
    return (
        conn.execute(select(t.sso_instances).where(t.sso_instances.c.identity_store_id == identity_store_id))
        .mappings()
        .first()
    )


@operation("sso-admin", "CreateInstance", resource=lambda ctx, p: "*")
def create_instance(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        existing = (
            conn.execute(select(t.sso_instances).where(t.sso_instances.c.account_id == ctx.account_id))
            .mappings()
            .first()
        )
        if existing is not None:
            token = params.get("ClientToken")
            if token and existing["client_token"] == token and existing["name"] == params.get("Name"):
                return {"InstanceArn": existing["instance_arn"]}  # an idempotent retry
            raise ConflictException("An instance of IAM Identity Center already exists for this account.")
        arn = INSTANCE_ARN_PREFIX + "ssoins-" + secrets.token_hex(8)
        conn.execute(
            insert(t.sso_instances).values(
                instance_arn=arn,
                identity_store_id="d-" + secrets.token_hex(5),
                account_id=ctx.account_id,
                name=params.get("Name"),
                status="ACTIVE",
                client_token=params.get("ClientToken"),
                created_at=ctx.now,
                settings={},
            )
        )
        _write_tags(conn, arn, ctx.account_id, params.get("Tags") or [])
    return {"InstanceArn": arn}


def _write_tags(conn: Connection, arn: str, account_id: str, tags: list[dict[str, str]]) -> None:
    for tag in tags:
        conn.execute(
            insert(t.tags).values(resource_arn=arn, account_id=account_id, key=tag["Key"], value=tag.get("Value", ""))
        )


@operation("sso-admin", "DescribeInstance", resource=lambda ctx, p: str(p["InstanceArn"]))
def describe_instance(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        return _shape(find(conn, params["InstanceArn"], ctx.account_id))


@operation("sso-admin", "ListInstances", resource=lambda ctx, p: "*")
def list_instances(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    query = select(t.sso_instances).where(t.sso_instances.c.account_id == ctx.account_id)
    if after:
        query = query.where(t.sso_instances.c.instance_arn > str(after[0]))
    with ctx.store.read() as conn:
        rows = conn.execute(query.order_by(t.sso_instances.c.instance_arn).limit(limit + 1)).mappings().all()
    out: dict[str, Any] = {"Instances": [_shape(r) for r in rows[:limit]]}
    if len(rows) > limit:
        out["NextToken"] = paging.encode([rows[limit - 1]["instance_arn"]])
    return out


@operation("sso-admin", "UpdateInstance", resource=lambda ctx, p: str(p["InstanceArn"]))
def update_instance(ctx: RequestContext, params: Params) -> Result:
    if "Name" not in params and "EncryptionConfiguration" not in params:
        raise ValidationException("Either Name or EncryptionConfiguration must be provided.")
    encryption = params.get("EncryptionConfiguration")
    if encryption and encryption.get("KeyType") != "AWS_OWNED_KMS_KEY":
        raise ValidationException("Ostiary encrypts the instance's data with its own keys: KeyType AWS_OWNED_KMS_KEY.")
    with ctx.store.tx() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        if "Name" in params:
            conn.execute(
                update(t.sso_instances)
                .where(t.sso_instances.c.instance_arn == row["instance_arn"])
                .values(name=params["Name"])
            )
    return {}


@operation("sso-admin", "DeleteInstance", resource=lambda ctx, p: str(p["InstanceArn"]))
def delete_instance(ctx: RequestContext, params: Params) -> Result:
    """Deletes the instance and, with it, its identity store and everything assigned through it: its
    permission sets, applications, assignments and trusted token issuers (their rows go with the
    instance's), the roles it provisioned in accounts, their tags, and the instance's token signing
    keys. The accounts' AWSSSO_… SAML providers stay."""
    with ctx.store.tx() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        arn = row["instance_arn"]
        p = t.sso_provisioned.c
        for account_id, role_name in conn.execute(select(p.account_id, p.role_name).where(p.instance_arn == arn)).all():
            roles.drop_role(conn, account_id, role_name.lower())
        owned = [
            select(t.sso_permission_sets.c.permission_set_arn).where(t.sso_permission_sets.c.instance_arn == arn),
            select(t.sso_applications.c.application_arn).where(t.sso_applications.c.instance_arn == arn),
            select(t.sso_trusted_token_issuers.c.issuer_arn).where(t.sso_trusted_token_issuers.c.instance_arn == arn),
        ]
        for query in owned:
            conn.execute(delete(t.tags).where(t.tags.c.resource_arn.in_(query)))
        conn.execute(delete(t.tags).where(t.tags.c.resource_arn == row["instance_arn"]))
        conn.execute(delete(t.sso_instances).where(t.sso_instances.c.instance_arn == row["instance_arn"]))
        delete_keys(conn, key_owner(arn))
    ctx.keys.forget(key_owner(arn))
    return {}


# --- Regions ------------------------------------------------------------------------------------
# The primary Region is the server's (``settings.region``): the instance was created there. AddRegion
# replicates the instance to another Region of AWS's commercial partition; Ostiary keeps one database
# whatever Region a request names, so the replication is complete when the call answers (the Region is
# ACTIVE at once, where AWS reports ADDING until its workflow ends), and RemoveRegion deletes the
# Region's record in its transaction (answering REMOVING, the status AWS reports while it cleans up).


@functools.cache
def _aws_regions() -> frozenset[str]:
    """The Regions of AWS's commercial partition, as botocore's endpoint data lists them."""
    data = botocore.loaders.Loader().load_data("endpoints")
    return frozenset(next(p for p in data["partitions"] if p["partition"] == "aws")["regions"])


def _region(region: str, added: Any, status: str = "ACTIVE", primary: bool = False) -> dict[str, Any]:
    return {"RegionName": region, "Status": status, "AddedDate": added, "IsPrimaryRegion": primary}


def _regions(conn: Connection, row: RowMapping, primary: str) -> list[dict[str, Any]]:
    r = t.sso_instance_regions.c
    added = conn.execute(
        select(r.region_name, r.status, r.added_at).where(r.instance_arn == row["instance_arn"]).order_by(r.region_name)
    ).all()
    return [_region(primary, row["created_at"], primary=True)] + [
        _region(a.region_name, a.added_at, a.status) for a in added if a.region_name != primary
    ]


@operation("sso-admin", "AddRegion", resource=lambda ctx, p: str(p["InstanceArn"]))
def add_region(ctx: RequestContext, params: Params) -> Result:
    name = params["RegionName"]
    if name not in _aws_regions():
        raise ValidationException(f"{name} is not a valid AWS Region.")
    with ctx.store.tx() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        if name == ctx.settings.region:
            raise ConflictException(f"Region {name} is the primary Region of the instance.")
        r = t.sso_instance_regions.c
        if conn.execute(select(r.status).where(r.instance_arn == row["instance_arn"], r.region_name == name)).first():
            raise ConflictException(f"Region {name} is already enabled for the instance.")
        conn.execute(
            insert(t.sso_instance_regions).values(
                instance_arn=row["instance_arn"], region_name=name, status="ACTIVE", added_at=ctx.now
            )
        )
    return {"Status": "ACTIVE"}


@operation("sso-admin", "RemoveRegion", resource=lambda ctx, p: str(p["InstanceArn"]))
def remove_region(ctx: RequestContext, params: Params) -> Result:
    name = params["RegionName"]
    with ctx.store.tx() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        if name == ctx.settings.region:
            raise ValidationException("The primary Region of the instance cannot be removed.")
        r = t.sso_instance_regions.c
        gone = conn.execute(
            delete(t.sso_instance_regions).where(r.instance_arn == row["instance_arn"], r.region_name == name)
        ).rowcount
        if not gone:
            raise ResourceNotFoundException(f"Region {name} is not enabled for the instance.")
    return {"Status": "REMOVING"}


@operation("sso-admin", "ListRegions", resource=lambda ctx, p: str(p["InstanceArn"]))
def list_regions(ctx: RequestContext, params: Params) -> Result:
    after = paging.decode(params.get("NextToken"))
    limit = paging.limit(params)
    with ctx.store.read() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        regions = _regions(conn, row, ctx.settings.region)
    if after:  # the primary comes first, then the others by name
        last = str(after[0])
        regions = [r for r in regions[1:] if last == ctx.settings.region or r["RegionName"] > last]
    out: dict[str, Any] = {"Regions": regions[:limit]}
    if len(regions) > limit:
        out["NextToken"] = paging.encode([regions[limit - 1]["RegionName"]])
    return out


@operation("sso-admin", "DescribeRegion", resource=lambda ctx, p: str(p["InstanceArn"]))
def describe_region(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = find(conn, params["InstanceArn"], ctx.account_id)
        regions = _regions(conn, row, ctx.settings.region)
    for region in regions:
        if region["RegionName"] == params["RegionName"]:
            return region
    raise ResourceNotFoundException(f"Region {params['RegionName']} is not enabled for the instance.")
