"""GetRoleCredentials and Logout.

GetRoleCredentials issues STS temporary credentials of the role that provisioning made for one of the
user's permission sets in one account (``AWSReservedSSO_<permission set>_<hex>``), named by the
permission set's name as ListAccountRoles lists it, for the permission set's session duration. The role
session is named after the user's UserName (as AWS's are), carries the instance's attributes for
access control as session tags, and is then enforced by the policy engine like any other role session.
``expiration`` is epoch milliseconds.
"""

from __future__ import annotations

import re

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import access_control, assignments
from ostiary.ssooidc import tokens
from ostiary.ssoportal import bearer
from ostiary.ssoportal.errors import ResourceNotFoundException
from ostiary.sts import sessions

NOT_FOUND = "No access"
SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]")


def session_name(user_name: str) -> str:
    """A role session name (``[\\w+=,.@-]{2,64}``) for a user name: other characters become ``-``."""
    name = SESSION_NAME_CHARS.sub("-", user_name)[:64]
    return name if len(name) >= 2 else name + "--"[: 2 - len(name)]


@operation("sso", "GetRoleCredentials", authorize=False)
def get_role_credentials(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        who = bearer.caller(conn, ctx, params["accessToken"])
        found = next(
            (
                a
                for a in assignments.access_for_user(conn, who.instance_arn, who.session.user_id)
                if a.account_id == params["accountId"] and a.permission_set_name == params["roleName"]
            ),
            None,
        )
        role = sessions.find_role(conn, found.role_arn) if found is not None else None
        tags = access_control.session_tags(conn, who.instance_arn, who.session.user_id) if role is not None else {}
    if found is None or role is None:
        raise ResourceNotFoundException(NOT_FOUND)
    duration = min(found.session_duration_seconds, int(role.max_session_duration))
    issued = sessions.issue(
        ctx,
        sessions.Grant(
            role=role,
            session_name=session_name(who.user_name),
            duration=duration,
            tags=tags,
            federation={"provider": "sso.amazonaws.com", "sub": who.user_name},
        ),
    )
    return {
        "roleCredentials": {
            "accessKeyId": issued.access_key_id,
            "secretAccessKey": issued.secret_access_key,
            "sessionToken": issued.session_token,
            "expiration": int(issued.expiration.timestamp() * 1000),
        }
    }


@operation("sso", "Logout", authorize=False)
def logout(ctx: RequestContext, params: Params) -> Result:
    """The session of the access token ends: its access and refresh tokens are refused from now on."""
    with ctx.store.tx() as conn:
        bearer.caller(conn, ctx, params["accessToken"])
        tokens.revoke_session(conn, params["accessToken"])
    return None
