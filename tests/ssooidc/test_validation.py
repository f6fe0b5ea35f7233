"""Input the model refuses, sent by raw HTTP clients (botocore validates before sending, others do not):
sso-oidc answers InvalidRequestException with the OAuth error ``invalid_request`` (its model has no
ValidationException), the portal API (sso) InvalidRequestException; botocore, told not to validate,
reads them as those shapes."""

from __future__ import annotations

import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import Server


def test_sso_oidc_invalid_input(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for path, body in (
            ("/token", {"clientId": "x"}),  # no clientSecret, no grantType
            ("/client/register", {"clientName": "n" * 5}),  # no clientType
            ("/device_authorization", {"clientId": "x", "clientSecret": "y", "startUrl": 7}),  # wrong type
        ):
            answer = http.post(path, json=body)
            assert answer.status_code == 400, (path, answer.text)
            assert answer.headers["x-amzn-ErrorType"] == "InvalidRequestException"
            data = answer.json()
            assert data["error"] == "invalid_request" and data["error_description"], data
            assert "ValidationException" not in answer.text
    oidc = server.client("sso-oidc", config=Config(parameter_validation=False, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        oidc.create_token(clientId="x", clientSecret="y")  # no grantType
    assert err.value.response["Error"]["Code"] == "InvalidRequestException"
    assert err.value.response["error"] == "invalid_request"


def test_sso_portal_invalid_input(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.get(
            "/federation/credentials", params={"account_id": "123456789012"}, headers={"x-amz-sso_bearer_token": "t"}
        )
    assert answer.status_code == 400, answer.text
    assert answer.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    assert answer.json()["message"]
