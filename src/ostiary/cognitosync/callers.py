"""Who calls Cognito Sync, and what the policy engine is asked about.

Two kinds of credentials call the service (Cognito Sync API Reference, each operation's notes):

- **Cognito Identity credentials**: temporary credentials of GetCredentialsForIdentity, a role session
  of the built-in provider ``cognito-identity.amazonaws.com`` whose subject is the identity. "Each
  identity has access only to its own data": a call naming another identity (or another pool) is
  NotAuthorizedException whatever the role's policy says. Pool administration (configuration, events,
  bulk publish, pool usage) refuses them.
- **developer credentials**: anything else signed (IAM users, roles, the account root) of the pool's
  account. RegisterDevice, SubscribeToDataset and UnsubscribeFromDataset refuse them.

The action ``cognito-sync:<Operation>`` on the resource below is decided by the policy engine
(access/) before the handler runs, so a role policy scoped with ``${cognito-identity.amazonaws.com:sub}``
limits a session to its own identity, as AWS's examples do. Resources (Service Authorization
Reference): ``identitypool/<pool>`` (pool operations), ``identitypool/<pool>/identity/<id>``
(DescribeIdentityUsage, RegisterDevice), ``identitypool/<pool>/identity/<id>/dataset/<name>`` (dataset
operations; ListDatasets asks about ``…/dataset/*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ostiary.cognitosync.errors import NotAuthorizedException, ResourceNotFoundException
from ostiary.federation import cognito_identity
from ostiary.identitypools import identities, pools
from ostiary.protocol.context import RequestContext

DEVELOPER_ONLY = "This API can only be called with developer credentials, not with Cognito Identity credentials."
IDENTITY_ONLY = "This API can only be called with temporary credentials provided by Cognito Identity."


@dataclass(frozen=True)
class Caller:
    """The identity and pool of Cognito Identity credentials; both None for developer credentials."""

    identity_id: str | None
    pool_id: str | None

    @property
    def cognito(self) -> bool:
        return self.identity_id is not None


def of(conn: Connection, ctx: RequestContext) -> Caller:
    principal = ctx.principal
    if principal is None or not principal.access_key_id.startswith("ASIA"):
        return Caller(None, None)
    session = principal.session  # opened (or read) once at SigV4 resolution
    federation: Any = session.federation if session is not None else None
    if isinstance(federation, dict) and federation.get("provider") == cognito_identity.PROVIDER:
        return Caller(str(federation.get("sub") or ""), str(federation.get("aud") or ""))
    return Caller(None, None)


def pool_not_found(pool_id: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"IdentityPool '{pool_id}' not found.")


def developer_pool(conn: Connection, ctx: RequestContext, pool_id: str) -> pools.IdentityPool:
    """An identity pool administered with developer credentials of its own account."""
    if of(conn, ctx).cognito:
        raise NotAuthorizedException(DEVELOPER_ONLY)
    pool = pools.load(conn, pool_id)
    if pool is None or pool.account_id != ctx.account_id:
        raise pool_not_found(pool_id)
    return pool


def identity_access(
    conn: Connection, ctx: RequestContext, pool_id: str, identity_id: str, *, cognito_only: bool = False
) -> Caller:
    """The caller may act on ``identity_id`` of ``pool_id``: Cognito Identity credentials of that very
    identity, or developer credentials of the pool's account (unless ``cognito_only``)."""
    caller = of(conn, ctx)
    if cognito_only and not caller.cognito:
        raise NotAuthorizedException(IDENTITY_ONLY)
    if caller.cognito and (caller.identity_id != identity_id or caller.pool_id != pool_id):
        raise NotAuthorizedException(f"Access to Identity '{identity_id}' is forbidden.")
    pool = pools.load(conn, pool_id)
    if pool is None or (not caller.cognito and pool.account_id != ctx.account_id):
        raise pool_not_found(pool_id)
    if identities.pool_of(conn, identity_id) != pool_id:
        raise ResourceNotFoundException(f"Identity '{identity_id}' not found.")
    return caller


def modified_by(ctx: RequestContext, caller: Caller) -> str:
    """LastModifiedBy of a change: the identity for Cognito Identity credentials, else the caller's ARN."""
    if caller.identity_id:
        return caller.identity_id
    return ctx.principal.arn if ctx.principal is not None else ""


# -- the resources the policy engine is asked about ---------------------------------------------------


def _pool_arn(ctx: RequestContext, pool_id: str) -> str:
    account = ctx.principal.account_id if ctx.principal is not None else ""
    region = pool_id.split(":", 1)[0] if ":" in pool_id else ctx.region
    return f"arn:aws:cognito-sync:{region}:{account}:identitypool/{pool_id}"


def pool_resource(ctx: RequestContext, params: dict[str, Any]) -> str:
    return _pool_arn(ctx, str(params["IdentityPoolId"]))


def identity_resource(ctx: RequestContext, params: dict[str, Any]) -> str:
    return f"{_pool_arn(ctx, str(params['IdentityPoolId']))}/identity/{params['IdentityId']}"


def dataset_resource(ctx: RequestContext, params: dict[str, Any]) -> str:
    return f"{identity_resource(ctx, params)}/dataset/{params['DatasetName']}"


def datasets_resource(ctx: RequestContext, params: dict[str, Any]) -> str:
    return f"{identity_resource(ctx, params)}/dataset/*"
