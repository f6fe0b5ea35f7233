"""Who calls the portal API: the session of the bearer access token (``x-amz-sso_bearer_token``, the
model's ``accessToken`` member) that sso-oidc issued or the web portal minted, with the
``sso:account:access`` scope, of a user who still exists and is not disabled (``UserStatus``
``DISABLED``, SCIM's ``active: false``). Anything else is UnauthorizedException, as AWS answers
("Session token not found or invalid")."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from ostiary.identitystore import directory
from ostiary.protocol.context import RequestContext
from ostiary.ssooidc import tokens
from ostiary.ssooidc.clients import ACCOUNT_ACCESS
from ostiary.ssoportal.errors import UnauthorizedException
from ostiary.store import tables as t

INVALID = "Session token not found or invalid"


@dataclass(frozen=True)
class Caller:
    session: tokens.Session
    instance_arn: str
    user_name: str


def caller(conn: Connection, ctx: RequestContext, access_token: str) -> Caller:
    session = tokens.session_of(conn, access_token, ctx.now)
    if session is None or ACCOUNT_ACCESS not in session.scopes:
        raise UnauthorizedException(INVALID)
    row = conn.execute(
        select(t.sso_instances.c.instance_arn, t.identitystore_users.c.user_name, t.identitystore_users.c.document)
        .select_from(
            t.identitystore_users.join(
                t.sso_instances, t.sso_instances.c.identity_store_id == t.identitystore_users.c.identity_store_id
            )
        )
        .where(
            t.identitystore_users.c.user_id == session.user_id,
            t.identitystore_users.c.identity_store_id == session.identity_store_id,
        )
    ).first()
    if row is None or not directory.enabled(row._mapping):  # deleted (or its instance) or disabled since
        raise UnauthorizedException(INVALID)
    return Caller(session, row.instance_arn, row.user_name)
