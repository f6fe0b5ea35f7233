"""``GET /_feedback/auth-event``: the one-click links of adaptive authentication's notification
e-mails (``{one-click-link-valid}``, ``{one-click-link-invalid}``; userpools/risk/notifications.py).
A link records the feedback exactly as UpdateAuthEventFeedback does with the same FeedbackToken (an
HMAC of the pool and event ids: a link names one event and cannot be forged or moved to another),
and answers a small page. Valid teaches the user's known devices and networks, Invalid forgets them.
"""

from __future__ import annotations

import html
import uuid

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import ServiceError
from ostiary.userpools import threat_protection
from ostiary.userpools.risk.notifications import FEEDBACK_PATH

_HEADERS = {
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    "referrer-policy": "no-referrer",  # the link carries its token
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
_VALUES = {"valid": "Valid", "invalid": "Invalid"}
_MAX = 512


def _page(title: str, text: str, status: int) -> Response:
    t, x = html.escape(title), html.escape(text)
    style = "font-family:sans-serif;max-width:36em;margin:3em auto"
    body = f"<!doctype html><html lang=en><meta charset=utf-8><title>{t}</title><body style='{style}'>"
    body += f"<h1>{t}</h1><p>{x}</p></body></html>"
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def record(runtime: Runtime, source_ip: str, query: dict[str, str]) -> str | None:
    """Record the link's feedback; None when done, else why not."""
    pool_id, value = query.get("pool", ""), _VALUES.get(query.get("value", ""))
    fields = [pool_id, query.get("username", ""), query.get("event", ""), query.get("token", "")]
    if value is None or not all(fields) or any(len(f) > _MAX for f in fields) or "_" not in pool_id:
        return "This link is not complete."
    ctx = RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        service="cognito-idp",
        operation="UpdateAuthEventFeedback",
        region=pool_id.split("_", 1)[0],
        principal=None,
        source_ip=source_ip,
    )
    params = {
        "UserPoolId": pool_id,
        "Username": query["username"],
        "EventId": query["event"],
        "FeedbackToken": query["token"],
        "FeedbackValue": value,
    }
    try:
        threat_protection.update_auth_event_feedback(ctx, params)
    except ServiceError:
        return "This link is not valid, or its sign-in event is no longer kept."
    return None


def routes(runtime: Runtime) -> list[BaseRoute]:
    async def feedback(request: Request) -> Response:
        query = {k: v for k, v in request.query_params.items() if k in ("pool", "username", "event", "value", "token")}
        source = request.client.host if request.client else ""
        problem = await to_thread.run_sync(record, runtime, source, query)
        if problem is not None:
            return _page("Feedback not recorded", problem, 400)
        if query.get("value") == "valid":
            return _page("Thank you", "We recorded that this sign-in was you.", 200)
        return _page(
            "Thank you",
            "We recorded that this sign-in was not you. Change your password now, and turn on "
            "multi-factor authentication if you can.",
            200,
        )

    return [Route(FEEDBACK_PATH, feedback, methods=["GET"])]
