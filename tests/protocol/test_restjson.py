"""protocol/restjson.py in process: routing of the served rest-json services, the offload decision,
errors of their exception shapes as botocore reads them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import RestJSONParser
from starlette.routing import Match as StarletteMatch

from ostiary.app import FrontDoor, create_app
from ostiary.config import Settings
from ostiary.protocol import registry, restjson
from ostiary.protocol.dispatch import Dispatcher, HttpRequest
from ostiary.protocol.errors import NotImplementedOperation, ServiceError
from ostiary.protocol.models import all_specs, service_spec

ROUTER = restjson.Router(all_specs().values())
SIGNED_SYNC = "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261205/us-east-1/cognito-sync/aws4_request, SignedHeaders=host"


def _op(method: str, path: str, query: str = "", auth: str | None = None) -> tuple[str, str | None] | None:
    found = ROUTER.match(method, path, query, auth)
    return None if found is None else (found.spec.name, found.operation)


def test_unsigned_operations_route_by_their_paths() -> None:
    assert _op("POST", "/client/register") == ("sso-oidc", "RegisterClient")
    assert _op("POST", "/device_authorization") == ("sso-oidc", "StartDeviceAuthorization")
    assert _op("POST", "/token") == ("sso-oidc", "CreateToken")
    assert _op("GET", "/federation/credentials", "role_name=r&account_id=1") == ("sso", "GetRoleCredentials")
    assert _op("GET", "/assignment/roles") == ("sso", "ListAccountRoles")
    assert _op("GET", "/assignment/accounts") == ("sso", "ListAccounts")
    assert _op("POST", "/logout") == ("sso", "Logout")


def test_a_literal_query_in_the_template_names_its_operation() -> None:
    signed = SIGNED_SYNC.replace("cognito-sync", "sso-oauth")
    assert _op("POST", "/token", "aws_iam=t", signed) == ("sso-oidc", "CreateTokenWithIAM")
    assert _op("POST", "/token", "", signed) == ("sso-oidc", "CreateToken")
    assert _op("POST", "/token", "aws_iam=t") == ("sso-oidc", "CreateTokenWithIAM")  # unsigned: refused later


def test_signed_requests_route_by_credential_scope_and_labels() -> None:
    found = ROUTER.match(
        "GET", "/identitypools/us-east-1%3Aabc/identities/us-east-1%3Adef/datasets/my%20set", "", SIGNED_SYNC
    )
    assert found is not None and found.operation == "DescribeDataset"
    assert found.labels == {"IdentityPoolId": "us-east-1:abc", "IdentityId": "us-east-1:def", "DatasetName": "my set"}
    # literal segments before labels: /records is ListRecords, not a dataset named "records"
    found = ROUTER.match("GET", "/identitypools/p/identities/i/datasets/d/records", "", SIGNED_SYNC)
    assert found is not None and found.operation == "ListRecords"
    found = ROUTER.match("GET", "/identitypools/p/events", "", SIGNED_SYNC)
    assert found is not None and found.operation == "GetCognitoEvents"
    # a signed request of a rest-json service that names no operation: that service's UnknownOperation
    found = ROUTER.match("GET", "/nothing/here", "", SIGNED_SYNC)
    assert found is not None and found.spec.name == "cognito-sync" and found.operation is None
    # presigned: the scope is in the query string
    presigned = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261205%2Fus-east-1%2Fcognito-sync"
        "%2Faws4_request"
    )
    assert _op("GET", "/identitypools", presigned) == ("cognito-sync", "ListIdentityPoolUsage")


def test_other_services_and_paths_are_not_rest_json() -> None:
    sts_signed = SIGNED_SYNC.replace("cognito-sync", "sts")
    assert ROUTER.match("POST", "/", "", sts_signed) is None
    for method, path in (
        ("GET", "/health"),
        ("GET", "/metrics"),
        ("POST", "/oauth2/token"),
        ("POST", "/_domain/d/oauth2/token"),
        ("GET", "/us-east-1_abc/.well-known/openid-configuration"),
        ("GET", "/token"),  # CreateToken is a POST
        ("GET", "/start/d-1234567890"),
        ("GET", "/logout"),  # the portal API's Logout is a POST
        ("GET", "/scim/d-1234567890/v2/Users"),
    ):
        assert ROUTER.match(method, path, "", None) is None, path


def test_preflight() -> None:
    assert ROUTER.preflight("/token", "POST")
    assert ROUTER.preflight("/federation/credentials", "GET")
    assert ROUTER.preflight("/identitypools/p/identities/i/datasets/d", "DELETE")
    assert not ROUTER.preflight("/token", "GET")
    assert not ROUTER.preflight("/oauth2/token", "POST")


def test_offload_follows_the_registered_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})

    @registry.operation("sso-oidc", "CreateToken", offload=True)
    def create_token(ctx: object, params: dict[str, Any]) -> None:
        return None

    @registry.operation("sso-oidc", "RegisterClient", offload=lambda body: b"heavy" in body)
    def register_client(ctx: object, params: dict[str, Any]) -> None:
        return None

    dispatcher = object.__new__(Dispatcher)  # _offloaded reads only the registry for rest-json requests

    def request(path: str, body: bytes = b"{}") -> HttpRequest:
        route = ROUTER.match("POST", path, "", None)
        return HttpRequest("POST", path, "", {}, body, "127.0.0.1", route=route)

    assert dispatcher._offloaded(request("/token"))
    assert dispatcher._offloaded(request("/client/register", b'{"heavy": 1}'))
    assert not dispatcher._offloaded(request("/client/register"))
    assert not dispatcher._offloaded(request("/device_authorization"))  # not registered


def _read(spec_name: str, reply: tuple[int, dict[str, str], bytes]) -> dict[str, Any]:
    status, headers, body = reply
    parsed: dict[str, Any] = RestJSONParser().parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": body}, None
    )
    return parsed


def test_oauth_style_errors_of_sso_oidc() -> None:
    spec = service_spec("sso-oidc")
    cls: type[ServiceError] = type(
        "AuthorizationPendingException", (ServiceError,), {"code": "AuthorizationPendingException"}
    )
    reply = restjson.serialize_error(spec, cls("", error="authorization_pending", error_description=None))
    assert reply[0] == 400
    parsed = _read("sso-oidc", reply)
    assert parsed["Error"]["Code"] == "AuthorizationPendingException"
    shape = spec.model.shape_for("AuthorizationPendingException")
    members = RestJSONParser().parse({"status_code": 400, "headers": HeadersDict(reply[1]), "body": reply[2]}, shape)
    assert members["error"] == "authorization_pending"
    # an error class of the model's shape gets the shape's status (InvalidClientException: 401)
    invalid = type("InvalidClientException", (ServiceError,), {"code": "InvalidClientException"})
    assert restjson.serialize_error(spec, invalid("bad client"))[0] == 401


def test_not_implemented_and_unauthorized_of_sso() -> None:
    spec = service_spec("sso")
    parsed = _read("sso", restjson.serialize_error(spec, NotImplementedOperation("Ostiary does not implement sso X")))
    assert parsed["Error"] == {"Code": "NotImplementedException", "Message": "Ostiary does not implement sso X"}
    assert parsed["ResponseMetadata"]["HTTPStatusCode"] == 501
    unauthorized = type("UnauthorizedException", (ServiceError,), {"code": "UnauthorizedException"})
    reply = restjson.serialize_error(spec, unauthorized("Session token not found or invalid"))
    assert reply[0] == 401
    assert _read("sso", reply)["Error"] == {
        "Code": "UnauthorizedException",
        "Message": "Session token not found or invalid",
    }


def test_output_of_get_role_credentials_reads_back() -> None:
    op = service_spec("sso").operation("GetRoleCredentials")
    assert op is not None
    result = {
        "roleCredentials": {
            "accessKeyId": "ASIAEXAMPLE",
            "secretAccessKey": "secret",
            "sessionToken": "token",
            "expiration": 1764950400000,
        },
        "notAMember": "dropped",
    }
    status, headers, body = restjson.serialize_output(op, result)
    assert status == 200 and headers["content-type"] == "application/json"
    parsed = RestJSONParser().parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": body}, op.output_shape
    )
    parsed.pop("ResponseMetadata")
    assert parsed == {"roleCredentials": result["roleCredentials"]}


def test_rest_json_paths_clash_with_no_web_route(tmp_path: Path) -> None:
    """No page, OAuth endpoint or other web route of Ostiary answers a rest-json operation's method and
    path (the front door gives those to the dispatcher first), for a sample of each template's labels."""
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/clash.db", dev=True)
    app = create_app(settings)
    assert isinstance(app, FrontDoor)
    try:
        web_routes = app.web.routes
        assert len(web_routes) > 5
        for route in app.dispatcher.rest.unsigned:
            for sample in ("x", "d-1234567890", "us-east-1_abc"):
                path = re.sub(r"\{[^}]+\}", sample, route.template.split("?", 1)[0])
                scope = {"type": "http", "path": path, "method": route.method, "root_path": "", "headers": []}
                clashes = [r for r in web_routes if r.matches(scope)[0] == StarletteMatch.FULL]
                assert not clashes, (route.spec.name, route.operation, path, clashes)
    finally:
        app.dispatcher.executor.shutdown()
        app.dispatcher.runtime.store.dispose()
