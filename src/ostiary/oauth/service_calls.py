"""What the OAuth endpoints and the hosted pages hand to the user-pool service layer: the request
context of a call made on the browser's behalf, and the tokens of a hosted sign-in (code exchange or
implicit flow).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.userpools import directory, tokens
from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import ClientView


def service_context(
    runtime: Runtime, pool: PoolView, operation: str, source_ip: str, user_agent: str | None = None
) -> RequestContext:
    """The context the user-pool service functions expect, for a call made by the hosted UI."""
    return RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        service="cognito-idp",
        operation=operation,
        region=pool.region,
        principal=None,
        source_ip=source_ip,
        user_agent=user_agent,
        hosted_ui=True,
    )


def hosted_tokens(
    runtime: Runtime,
    pool: PoolView,
    client: ClientView,
    user_id: str,
    scopes: list[str],
    nonce: str | None,
    auth_time: dt.datetime,
    origin_sso: str | None = None,
    lineage_id: str | None = None,
) -> dict[str, Any] | None:
    """Tokens of a hosted sign-in (code exchange or implicit flow): a new refresh-token lineage that
    keeps the scopes (and the SSO session it came through), ID token only with ``openid``; None
    when the user is gone or disabled. A code exchange names the lineage (code_lineage_id)."""
    now = dt.datetime.now(dt.UTC)
    with runtime.store.tx() as conn:
        user = directory.get_by_id(conn, pool, user_id)
        if user is None or not user.enabled:
            return None
        user.groups = directory.groups_of(conn, pool.id, user.id)
        cfg = client.as_token_config()
        event, refresh = tokens.start_lineage(
            conn,
            pool,
            user,
            cfg,
            now,
            scopes=scopes,
            origin_sso=origin_sso,
            lineage_id=lineage_id,
            auth_time=auth_time,
        )
    result = tokens.mint(
        runtime.keys,
        runtime.settings,
        pool,
        cfg,
        user,
        event,
        now,
        scopes=scopes,
        nonce=nonce,
        with_id_token="openid" in scopes,
        source="TokenGeneration_HostedAuth",
    )
    result["RefreshToken"] = refresh
    return result
