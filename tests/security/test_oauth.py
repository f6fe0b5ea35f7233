"""OAuth 2.0 authorization codes attacked from outside (issue 10, item 10).

- A replayed authorization code is refused AND revokes what its first redemption issued
  (RFC 6749 §4.1.2, RFC 9700 §4.5.3): the refresh token, and through its lineage the access token.
- A ``code_verifier`` sent for a code issued without a ``code_challenge`` is refused (PKCE
  downgrade, RFC 9700 §2.1.1).
- Only ``S256`` (Amazon Cognito supports only S256): ``plain``, or a challenge without a method
  (which RFC 7636 reads as plain), is refused at /oauth2/authorize with ``invalid_request``.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server
from tests.oauth.conftest import CALLBACK, Hosted, add_user, make_hosted, pkce_pair, query_of, sign_in_over_http


@pytest.fixture(scope="module")
def hosted(server: Server) -> Hosted:
    return make_hosted(server)


def _params(h: Hosted, **extra: str) -> dict[str, str]:
    params = {
        "client_id": h.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid aws.cognito.signin.user.admin",
        "state": secrets.token_urlsafe(8),
    }
    params.update(extra)
    return params


def _code(h: Hosted, username: str, **extra: str) -> str:
    add_user(h, username)
    with httpx.Client() as web:  # a fresh browser: no SSO cookie
        location = sign_in_over_http(web, h, _params(h, **extra), username, "Corr3ct-Horse!")
    got = query_of(location)
    assert "code" in got, location
    return got["code"]


def _exchange(h: Hosted, code: str, **extra: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "client_id": h.client_id, "redirect_uri": CALLBACK}
    data.update(extra)
    return httpx.post(f"{h.base}/oauth2/token", data=data)


def _refresh(h: Hosted, refresh_token: str) -> httpx.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": h.client_id}
    return httpx.post(f"{h.base}/oauth2/token", data=data)


def _get_user_error(h: Hosted, access_token: str) -> dict[str, Any] | None:
    try:
        h.idp.get_user(AccessToken=access_token)
    except ClientError as err:
        return dict(err.response["Error"])
    return None


def test_replayed_code_is_refused_and_revokes_the_first_tokens(hosted: Hosted) -> None:
    code = _code(hosted, "replay-" + secrets.token_hex(3))
    first = _exchange(hosted, code)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert _get_user_error(hosted, tokens["access_token"]) is None  # live before the replay

    replay = _exchange(hosted, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"

    # what the first redemption obtained is revoked: refresh token, and the access token with it
    again = _refresh(hosted, tokens["refresh_token"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
    error = _get_user_error(hosted, tokens["access_token"])
    assert error is not None and error["Code"] == "NotAuthorizedException"
    assert error["Message"] == "Access Token has been revoked"
    info = httpx.get(f"{hosted.base}/oauth2/userInfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401


def test_replay_after_a_refresh_still_revokes_the_lineage(hosted: Hosted) -> None:
    """The first redemption's refresh token was used (rotated or not): the replay still reaches it."""
    code = _code(hosted, "rotated-" + secrets.token_hex(3))
    tokens = _exchange(hosted, code).json()
    refreshed = _refresh(hosted, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    newer = refreshed.json()
    assert _exchange(hosted, code).json()["error"] == "invalid_grant"
    assert _refresh(hosted, newer.get("refresh_token", tokens["refresh_token"])).status_code == 400
    error = _get_user_error(hosted, newer["access_token"])
    assert error is not None and error["Message"] == "Access Token has been revoked"


def test_unknown_code_is_refused_without_side_effects(hosted: Hosted) -> None:
    code = _code(hosted, "bystander-" + secrets.token_hex(3))
    tokens = _exchange(hosted, code).json()
    for guess in ("not-a-code", "00000000-0000-4000-8000-000000000000", ""):
        resp = _exchange(hosted, guess)
        assert resp.status_code == 400 and resp.json()["error"] in ("invalid_grant", "invalid_request")
    assert _get_user_error(hosted, tokens["access_token"]) is None
    assert _refresh(hosted, tokens["refresh_token"]).status_code == 200


def test_code_verifier_for_a_code_without_challenge_is_refused(hosted: Hosted) -> None:
    verifier, _ = pkce_pair()
    code = _code(hosted, "downgrade-" + secrets.token_hex(3))  # no code_challenge in the request
    resp = _exchange(hosted, code, code_verifier=verifier)
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", resp.text
    # without a verifier, a code issued without a challenge still works (no PKCE at all)
    plain_code = _code(hosted, "no-pkce-" + secrets.token_hex(3))
    assert _exchange(hosted, plain_code).status_code == 200


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge_method": "plain"},
        {},  # a challenge without a method is plain (RFC 7636 §4.3)
        {"code_challenge_method": "s256"},
    ],
    ids=["plain", "no-method", "lowercase"],
)
def test_only_s256_is_accepted_at_authorize(hosted: Hosted, extra: dict[str, str]) -> None:
    verifier, _ = pkce_pair()
    params = _params(hosted, code_challenge=verifier, **extra)
    resp = httpx.get(f"{hosted.base}/oauth2/authorize", params=params)
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.startswith(CALLBACK), location
    got = query_of(location)
    assert got["error"] == "invalid_request" and got["state"] == params["state"]
    assert "code" not in got


def test_s256_still_works_and_discovery_lists_only_s256(hosted: Hosted) -> None:
    verifier, challenge = pkce_pair()
    code = _code(hosted, "s256-" + secrets.token_hex(3), code_challenge=challenge, code_challenge_method="S256")
    assert _exchange(hosted, code, code_verifier=verifier).status_code == 200
    doc = httpx.get(f"{hosted.issuer}/.well-known/openid-configuration").json()
    assert doc.get("code_challenge_methods_supported", ["S256"]) == ["S256"]
