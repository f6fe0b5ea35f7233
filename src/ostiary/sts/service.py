"""STS operations (query protocol, ``Version=2011-06-15``)."""

from __future__ import annotations

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation


@operation("sts", "GetCallerIdentity", authorize=False)
def get_caller_identity(ctx: RequestContext, params: Params) -> Result:
    """Who signed this request; needs no permission (AWS: allowed even under an explicit deny)."""
    assert ctx.principal is not None
    return {"UserId": ctx.principal.user_id, "Account": ctx.principal.account_id, "Arn": ctx.principal.arn}
