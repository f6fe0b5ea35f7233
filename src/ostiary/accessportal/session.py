"""The portal's session: a portal-API access token (``ssooidc.tokens.mint_session``: scope
``sso:account:access``, the instance's session duration), kept in the HttpOnly cookie
``ostiary-portal-<identity store id>`` (one per start URL, as AWS's portals live on hosts of their own).
The pages call the ``sso`` service's operation functions with it as ``accessToken``, exactly as an SDK
would; sign-out revokes it (``revoke_session``).

``current_user(runtime, request, store_id)`` is what other pages (the SAML IdP's IdP-initiated sign-in)
call to know who is signed in to a portal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from ostiary.accessportal.pages import Portal, session_cookie
from ostiary.identitystore import directory
from ostiary.protocol.context import Runtime
from ostiary.ssooidc import tokens

MAX_TOKEN_LENGTH = 2048


@dataclass(frozen=True)
class SignedIn:
    store_id: str
    user_id: str
    user_name: str
    access_token: str
    expires_at: dt.datetime


def current_user(runtime: Runtime, request: Request, store_id: str) -> SignedIn | None:
    """The user signed in to the portal of ``store_id`` in this browser, or None (no cookie, a token
    expired, revoked, of another store or of a client's session, a user deleted or disabled since)."""
    token = request.cookies.get(session_cookie(store_id))
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = dt.datetime.now(dt.UTC)
    with runtime.store.read() as conn:
        found = tokens.session_of(conn, token, now)
        # only the portal's own sessions: a token CreateToken gave a client (the CLI) is not a web session
        if found is None or found.identity_store_id != store_id or found.client_id is not None:
            return None
        user = directory.user(conn, store_id, found.user_id)
    if user is None or not directory.enabled(user):
        return None
    return SignedIn(store_id, found.user_id, user["user_name"], token, found.expires_at)


def current(portal: Portal, request: Request, store_id: str) -> SignedIn | None:
    return current_user(portal.runtime, request, store_id)


def start(portal: Portal, request: Request, response: Response, store_id: str, user_id: str) -> None:
    """Mint the session's token and put it in the cookie."""
    now = dt.datetime.now(dt.UTC)
    with portal.runtime.store.tx() as conn:
        token, expires_at = tokens.mint_session(conn, store_id, user_id, now)
    response.set_cookie(
        session_cookie(store_id),
        token,
        max_age=max(int((expires_at - now).total_seconds()), 1),
        path="/",
        httponly=True,
        samesite="lax",
        secure=portal.secure(request),
    )


def end(portal: Portal, request: Request, response: Response, store_id: str) -> None:
    """Sign out: the token is revoked (with its session) and the cookie dropped."""
    token = request.cookies.get(session_cookie(store_id))
    if token and len(token) <= MAX_TOKEN_LENGTH:
        with portal.runtime.store.tx() as conn:
            tokens.revoke_session(conn, token)
    response.delete_cookie(session_cookie(store_id), path="/")
