"""``auth_time`` is the time the user signed in (OpenID Connect Core §2, §12.2): the ID and access
tokens of a hosted sign-in carry it when the code is exchanged later, when another client reuses
the single-sign-on session, and on every refresh of the lineage (the token endpoint and
InitiateAuth REFRESH_TOKEN_AUTH alike)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

import httpx

from tests.oauth.conftest import CALLBACK, SCOPES, Hosted, add_user, query_of, sign_in_over_http


def _claims(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _params(client_id: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": " ".join(SCOPES),
        "state": secrets.token_urlsafe(8),
    }


def _exchange(h: Hosted, client_id: str, code: str) -> dict[str, Any]:
    resp = httpx.post(
        f"{h.base}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": client_id, "redirect_uri": CALLBACK},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _refresh(h: Hosted, client_id: str, refresh_token: str) -> dict[str, Any]:
    resp = httpx.post(
        f"{h.base}/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _auth_times(tokens: dict[str, Any], id_key: str = "id_token", access_key: str = "access_token") -> set[int]:
    return {_claims(tokens[id_key])["auth_time"], _claims(tokens[access_key])["auth_time"]}


def test_auth_time_is_the_sign_in_time_across_exchanges_sso_and_refreshes(hosted: Hosted) -> None:
    add_user(hosted, "teodora", email="teodora@example.com", email_verified="true")
    with httpx.Client() as web:
        before = time.time()
        first = query_of(sign_in_over_http(web, hosted, _params(hosted.client_id), "teodora", "Corr3ct-Horse!"))
        after = time.time()
        # every later step happens in a later second than the sign-in (auth_time counts seconds)
        time.sleep(max(0.0, int(after) + 1 - time.time()))
        # single sign-on into the second client: a new code, no password
        sso = web.get(f"{hosted.base}/oauth2/authorize", params=_params(hosted.second_client_id))
        assert sso.status_code == 302 and sso.headers["location"].startswith(CALLBACK)
        second = query_of(sso.headers["location"])

    exchanged = _exchange(hosted, hosted.client_id, first["code"])
    (signed_in,) = _auth_times(exchanged)
    assert int(before) <= signed_in <= after
    reused = _exchange(hosted, hosted.second_client_id, second["code"])
    assert _auth_times(reused) == {signed_in}

    # refreshes of either lineage keep the original sign-in time
    assert _auth_times(_refresh(hosted, hosted.client_id, exchanged["refresh_token"])) == {signed_in}
    assert _auth_times(_refresh(hosted, hosted.second_client_id, reused["refresh_token"])) == {signed_in}
    api = hosted.idp.initiate_auth(
        ClientId=hosted.client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": exchanged["refresh_token"]},
    )["AuthenticationResult"]
    assert _auth_times(api, "IdToken", "AccessToken") == {signed_in}
