"""ListAccounts and ListAccountRoles: the accounts a signed-in user is assigned to and, in one of them,
the permission sets (``roleName`` is the permission set's name, as AWS's portal shows it), from
sso-admin's ``access_for_user`` (direct and group assignments that are provisioned). Paged by
``nextToken``/``maxResults`` (at most 100), the token carrying the last item's sort key."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.ssoadmin import assignments
from ostiary.ssoadmin.errors import ValidationException
from ostiary.ssoadmin.paging import decode, encode
from ostiary.ssoportal import bearer
from ostiary.ssoportal.errors import InvalidRequestException
from ostiary.store import tables as t

DEFAULT_PAGE = 100


def _limit(params: Params) -> int:
    value = params.get("maxResults")
    return value if isinstance(value, int) and 1 <= value <= 100 else DEFAULT_PAGE


def _after(params: Params) -> list[Any] | None:
    token = params.get("nextToken")
    if token is not None and len(token) > 1024:
        raise InvalidRequestException("Invalid nextToken")
    try:
        return decode(token)
    except ValidationException:
        raise InvalidRequestException("Invalid nextToken") from None


@operation("sso", "ListAccounts", authorize=False)
def list_accounts(ctx: RequestContext, params: Params) -> Result:
    after = _after(params)
    limit = _limit(params)
    with ctx.store.read() as conn:
        who = bearer.caller(conn, ctx, params["accessToken"])
        ids = sorted({a.account_id for a in assignments.access_for_user(conn, who.instance_arn, who.session.user_id)})
        if after is not None:
            ids = [i for i in ids if i > str(after[0])]
        page = ids[:limit]
        names = dict(conn.execute(select(t.accounts.c.id, t.accounts.c.name).where(t.accounts.c.id.in_(page))).all())
        emails = dict(
            conn.execute(
                select(t.org_accounts.c.account_id, t.org_accounts.c.email).where(
                    t.org_accounts.c.account_id.in_(page), t.org_accounts.c.email.is_not(None)
                )
            ).all()
        )
    listed = []
    for account_id in page:
        item: dict[str, Any] = {"accountId": account_id, "accountName": names.get(account_id, account_id)}
        if emails.get(account_id):
            item["emailAddress"] = emails[account_id]
        listed.append(item)
    out: dict[str, Any] = {"accountList": listed}
    if len(ids) > limit:
        out["nextToken"] = encode([page[-1]])
    return out


@operation("sso", "ListAccountRoles", authorize=False)
def list_account_roles(ctx: RequestContext, params: Params) -> Result:
    after = _after(params)
    limit = _limit(params)
    account_id = params["accountId"]
    with ctx.store.read() as conn:
        who = bearer.caller(conn, ctx, params["accessToken"])
        names = sorted(
            {
                a.permission_set_name
                for a in assignments.access_for_user(conn, who.instance_arn, who.session.user_id)
                if a.account_id == account_id
            }
        )
    if after is not None:
        names = [n for n in names if n > str(after[0])]
    page = names[:limit]
    out: dict[str, Any] = {"roleList": [{"roleName": n, "accountId": account_id} for n in page]}
    if len(names) > limit:
        out["nextToken"] = encode([page[-1]])
    return out
