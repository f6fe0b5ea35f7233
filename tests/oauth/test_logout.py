"""``/logout`` as OpenID Connect RP-Initiated Logout 1.0 describes it (``id_token_hint``,
``post_logout_redirect_uri``, ``state``, ``client_id``) beside Cognito's own ``client_id`` +
``logout_uri`` form, with the same rule: the address must be one of the app client's LogoutURLs,
exactly. The hint must be an ID token of this pool (expired or not) issued to the client."""

from __future__ import annotations

import base64
import json
import secrets
from contextlib import closing
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.oauth.conftest import CALLBACK, SIGNED_OUT, Hosted, add_user, make_hosted, query_of, sign_in_over_http


def _params(client_id: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid email",
        "state": secrets.token_urlsafe(8),
    }


def _signed_in(h: Hosted, username: str) -> tuple[httpx.Client, dict[str, Any]]:
    """A browser-like client with the hosted SSO session of ``username``, and the tokens of the web client."""
    add_user(h, username)
    web = httpx.Client()
    code = query_of(sign_in_over_http(web, h, _params(h.client_id), username, "Corr3ct-Horse!"))["code"]
    resp = httpx.post(
        f"{h.base}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": h.client_id, "redirect_uri": CALLBACK},
    )
    assert resp.status_code == 200, resp.text
    return web, dict(resp.json())


def _session_alive(web: httpx.Client, h: Hosted) -> bool:
    resp = web.get(f"{h.base}/oauth2/authorize", params=_params(h.client_id))
    assert resp.status_code == 302
    return str(resp.headers["location"]).startswith(CALLBACK)


def _logout(web: httpx.Client, h: Hosted, **params: str) -> httpx.Response:
    return web.get(f"{h.base}/logout?{urlencode(params)}")


def test_discovery_advertises_the_end_session_endpoint(hosted: Hosted) -> None:
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    assert doc["end_session_endpoint"] == f"{hosted.base}/logout"


def test_rp_initiated_logout_with_id_token_hint_and_state(hosted: Hosted) -> None:
    web, tokens = _signed_in(hosted, "lara")
    with closing(web):
        assert _session_alive(web, hosted)
        resp = _logout(
            web, hosted, id_token_hint=tokens["id_token"], post_logout_redirect_uri=SIGNED_OUT, state="st-123"
        )
        assert resp.status_code == 302
        assert resp.headers["location"] == f"{SIGNED_OUT}?state=st-123"
        assert not _session_alive(web, hosted)


def test_rp_initiated_logout_with_client_id(hosted: Hosted) -> None:
    web, tokens = _signed_in(hosted, "luis")
    with closing(web):
        resp = _logout(web, hosted, client_id=hosted.client_id, post_logout_redirect_uri=SIGNED_OUT)
        assert resp.status_code == 302 and resp.headers["location"] == SIGNED_OUT
        assert not _session_alive(web, hosted)
    # both: they must agree
    web, tokens = _signed_in(hosted, "lucia")
    with closing(web):
        resp = _logout(
            web,
            hosted,
            client_id=hosted.client_id,
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=SIGNED_OUT,
            state="s",
        )
        assert resp.status_code == 302 and resp.headers["location"] == f"{SIGNED_OUT}?state=s"
        assert not _session_alive(web, hosted)


def test_rp_initiated_logout_without_a_redirect_shows_a_page(hosted: Hosted) -> None:
    web, tokens = _signed_in(hosted, "leon")
    with closing(web):
        resp = _logout(web, hosted, id_token_hint=tokens["id_token"])
        assert resp.status_code == 200 and "signed out" in resp.text.lower()
        assert not _session_alive(web, hosted)


def _tampered(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


@pytest.fixture(scope="module")
def other_pool_id_token(hosted: Hosted) -> str:
    other = make_hosted(hosted.server)
    web, tokens = _signed_in(other, "olga")
    web.close()
    return str(tokens["id_token"])


def test_rp_initiated_logout_refusals(hosted: Hosted, other_pool_id_token: str) -> None:
    web, tokens = _signed_in(hosted, "lino")
    hint = tokens["id_token"]
    refusals: list[dict[str, str]] = [
        # not one of the client's LogoutURLs (exact match: no prefix, no extra path or query)
        {"id_token_hint": hint, "post_logout_redirect_uri": CALLBACK},
        {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT + "/more"},
        {"id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT + "?x=1"},
        {"client_id": hosted.client_id, "post_logout_redirect_uri": "https://evil.example/"},
        # the hint names another client than client_id
        {"client_id": hosted.second_client_id, "id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT},
        # not an ID token of this pool: garbage, an access token, a forged one, another pool's
        {"id_token_hint": "not-a-token", "post_logout_redirect_uri": SIGNED_OUT},
        {"id_token_hint": tokens["access_token"], "post_logout_redirect_uri": SIGNED_OUT},
        {"id_token_hint": _tampered(hint), "post_logout_redirect_uri": SIGNED_OUT},
        {"id_token_hint": other_pool_id_token, "post_logout_redirect_uri": SIGNED_OUT},
        # no client named at all
        {"post_logout_redirect_uri": SIGNED_OUT, "state": "x"},
        # an unknown client
        {"client_id": "nope", "post_logout_redirect_uri": SIGNED_OUT},
    ]
    with closing(web):
        for params in refusals:
            resp = _logout(web, hosted, **params)
            assert resp.status_code == 400, (params, resp.status_code, resp.headers.get("location"))
            assert "location" not in resp.headers
            assert _session_alive(web, hosted), params


def test_cognito_logout_form_still_works(hosted: Hosted) -> None:
    web, _ = _signed_in(hosted, "lea")
    with closing(web):
        bad = _logout(web, hosted, client_id=hosted.client_id, logout_uri=SIGNED_OUT + "/x")
        assert bad.status_code == 400 and _session_alive(web, hosted)
        resp = _logout(web, hosted, client_id=hosted.client_id, logout_uri=SIGNED_OUT)
        assert resp.status_code == 302 and resp.headers["location"] == SIGNED_OUT
        assert not _session_alive(web, hosted)
