"""Bounded input (issue 10, item 8).

Every endpoint has a body-size limit, checked against Content-Length before reading and counted
while the body streams in (never more than the limit is buffered): the AWS API (413 with the
protocol's error), the OAuth endpoints, the hosted pages and the SAML ACS under ``/_domain/``, and the
user-import upload (its own, larger limit). A request's head (request line and headers), the number
of form fields and JSON nesting are bounded too. Malformed tokens and deeply nested input get a 4xx
with AWS's error, never a 500.
"""

from __future__ import annotations

import base64
import json
import secrets
import select
import socket
from collections.abc import Callable, Iterator
from typing import Any

import botocore.session
import httpx
import pytest

from tests.conftest import ACCOUNT_ID, Server
from tests.identitypools.conftest import Wired, wire
from tests.oauth.conftest import Hosted, add_user, make_hosted

MIB = 1024 * 1024
JSON = "application/x-amz-json-1.1"
FORM = "application/x-www-form-urlencoded"
IDP = "AWSCognitoIdentityProviderService."
CI = "AWSCognitoIdentityService."
UPLOAD_LIMIT = 256 * 1024
SERVER_ERRORS = {"InternalErrorException", "InternalFailure", "InternalError", "InternalServerError"}


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    server: Server = server_factory(env={"OSTIARY_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)})
    return server


@pytest.fixture(scope="module")
def hosted(srv: Server) -> Hosted:
    h = make_hosted(srv)
    add_user(h, "alice", email="alice@example.com")
    return h


@pytest.fixture(scope="module")
def wired(srv: Server) -> Wired:
    return wire(srv)


def _json_code(r: httpx.Response) -> str:
    return str(r.json().get("__type", ""))


def _xml_code(r: httpx.Response) -> str:
    return r.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in r.text else ""


def _code(r: httpx.Response) -> str:
    if r.headers.get("content-type", "").startswith(JSON):
        return _json_code(r)
    if "<Code>" in r.text:
        return _xml_code(r)
    return r.text[:100]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _raw(port: int, head: bytes, body: Iterator[bytes] | None = None, chunked: bool = False) -> tuple[int, int]:
    """Send a request over a plain socket, streaming ``body``; stop sending once the server has
    answered. (status, bytes of body sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        answered = False
        try:
            for piece in body or ():
                # a short wait for the answer between pieces: on a loaded machine the server may
                # answer later than the kernel's buffers take the next megabytes
                if select.select([sock], [], [], 0.05)[0]:
                    answered = True
                    break
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
            if chunked and not answered:
                sock.sendall(b"0\r\n\r\n")
            data = sock.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            data = b""
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    piece = b"a" * size
    for _ in range(total // size):
        yield piece


def _head(method: str, path: str, port: int, extra: str = "", length: int | None = None) -> bytes:
    framing = f"Content-Length: {length}\r\n" if length is not None else "Transfer-Encoding: chunked\r\n"
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}{framing}\r\n".encode()


# --- body size -------------------------------------------------------------------------------------


def test_oversized_json_api_body_is_refused_with_the_json_protocol_error(srv: Server) -> None:
    body = json.dumps({"PoolName": "x", "Junk": "a" * (MIB + 10)}).encode()
    r = httpx.post(srv.url + "/", content=body, headers={"Content-Type": JSON, "X-Amz-Target": IDP + "CreateUserPool"})
    assert (r.status_code, _json_code(r)) == (413, "RequestEntityTooLargeException"), r.text[:300]
    assert r.headers["x-amzn-ErrorType"] == "RequestEntityTooLargeException"


def test_oversized_query_api_body_is_refused_with_the_query_protocol_error(srv: Server) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15&Junk=" + b"a" * (MIB + 10)
    r = httpx.post(srv.url + "/", content=body, headers={"Content-Type": FORM})
    assert (r.status_code, _xml_code(r)) == (413, "RequestEntityTooLarge"), r.text[:300]


def test_boto3_sees_the_error_code(srv: Server) -> None:
    iam = srv.client("iam")
    with pytest.raises(Exception) as exc:
        iam.create_policy(PolicyName="big", PolicyDocument="x" * (MIB + 10))
    assert exc.value.response["Error"]["Code"] == "RequestEntityTooLarge"  # type: ignore[attr-defined]


def test_declared_content_length_is_refused_before_the_body_is_read(srv: Server, hosted: Hosted) -> None:
    """A head announcing a body over the limit is answered at once: the server does not wait for
    (or read) the body."""
    for path in ("/", f"/_domain/{hosted.domain}/oauth2/token", f"/_domain/{hosted.domain}/login"):
        extra = "Content-Type: application/x-www-form-urlencoded\r\n"
        status, _ = _raw(srv.port, _head("POST", path, srv.port, extra, length=10 * 1024**3))
        assert status == 413, path


@pytest.mark.parametrize(
    "path",
    [
        "/oauth2/token",
        "/oauth2/revoke",
        "/oauth2/userInfo",
        "/oauth2/idpresponse",
        "/saml2/idpresponse",
        "/login",
        "/signup",
        "/confirmUser",
        "/forgotPassword",
        "/confirmForgotPassword",
        "/newPassword",
        "/mfa",
    ],
)
def test_domain_endpoints_refuse_oversized_streamed_bodies(srv: Server, hosted: Hosted, path: str) -> None:
    extra = "Content-Type: application/x-www-form-urlencoded\r\n"
    status, sent = _raw(
        srv.port, _head("POST", f"/_domain/{hosted.domain}{path}", srv.port, extra), _chunks(8 * MIB), chunked=True
    )
    assert status == 413, (path, status)
    assert sent < 8 * MIB  # answered before the whole body went out


def test_domain_endpoints_by_host_name_refuse_oversized_bodies(srv: Server, hosted: Hosted) -> None:
    host = f"{hosted.domain}.auth.us-east-1.amazoncognito.localhost"
    r = httpx.post(
        srv.url + "/oauth2/token",
        content=b"grant_type=refresh_token&refresh_token=" + b"a" * (MIB + 10),
        headers={"Host": host, "Content-Type": FORM},
    )
    assert r.status_code == 413


def test_every_other_path_is_bounded_too(srv: Server) -> None:
    for method, path in (("POST", "/health"), ("PUT", "/_ostiary/import/x"), ("POST", "/us-east-1_X/.well-known/x")):
        status, _ = _raw(srv.port, _head(method, path, srv.port), _chunks(8 * MIB), chunked=True)
        assert status == 413, (method, path, status)


def test_user_import_upload_has_its_own_limit(srv: Server) -> None:
    idp = srv.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="imp-" + secrets.token_hex(3))["UserPool"]["Id"]
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/CognitoImport"
    url = idp.create_user_import_job(UserPoolId=pool_id, JobName="j", CloudWatchLogsRoleArn=role)["UserImportJob"][
        "PreSignedUrl"
    ]
    header = ",".join(idp.get_csv_header(UserPoolId=pool_id)["CSVHeader"]).encode() + b"\n"
    too_big = httpx.put(url, content=header + b"," * (UPLOAD_LIMIT + 1))
    assert too_big.status_code == 413
    # within the upload limit (larger than the API limit would not be: the upload limit is its own)
    assert httpx.put(url, content=header + b"\n" * (UPLOAD_LIMIT // 2)).status_code == 200


def test_normal_requests_still_work(srv: Server, hosted: Hosted) -> None:
    assert srv.client("sts").get_caller_identity()["Account"] == ACCOUNT_ID
    idp = srv.client("cognito-idp")
    tokens = idp.initiate_auth(
        ClientId=hosted.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": "Corr3ct-Horse!"},
    )["AuthenticationResult"]
    r = httpx.post(
        f"{hosted.base}/oauth2/token",
        data={"grant_type": "refresh_token", "client_id": hosted.client_id, "refresh_token": tokens["RefreshToken"]},
    )
    assert r.status_code == 200, r.text
    r = httpx.get(f"{hosted.base}/oauth2/userInfo", headers={"Authorization": "Bearer " + tokens["AccessToken"]})
    assert r.status_code == 200, r.text


# --- request head, form fields, query parameters -----------------------------------------------------


def test_oversized_request_head_is_refused(srv: Server) -> None:
    for headers in ({"X-Big": "a" * (2 * MIB)}, {f"X-H{i}": "v" for i in range(40000)}):
        r = httpx.get(srv.url + "/health", headers=headers)
        assert r.status_code == 431, r.status_code
    status, _ = _raw(srv.port, f"GET /health?{'a' * (2 * MIB)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status == 431
    assert httpx.get(srv.url + "/health", headers={"X-Ok": "a" * 4000}).status_code == 200


def test_hosted_form_with_too_many_fields_is_refused(srv: Server, hosted: Hosted) -> None:
    body = b"&".join(b"f%d=" % i for i in range(20000))
    r = httpx.post(f"{hosted.base}/login", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 400, r.status_code
    r = httpx.post(f"{hosted.base}/oauth2/token", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text[:200]


def test_query_protocol_with_too_many_parameters_is_refused(srv: Server, wired: Wired) -> None:
    fields = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", wired.auth_role),
        ("RoleSessionName", "fuzz"),
        ("WebIdentityToken", "a.b.c"),
    ]
    fields += [(f"PolicyArns.member.{i}.arn", "a") for i in range(1, 12001)]
    r = httpx.post(srv.url + "/", data=dict(fields), timeout=60)
    assert (r.status_code, _xml_code(r)) == (400, "ValidationError"), r.text[:300]


def test_query_protocol_deeply_indexed_parameter_is_a_client_error(srv: Server, wired: Wired) -> None:
    base = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": wired.auth_role,
        "RoleSessionName": "fuzz",
        "WebIdentityToken": "a.b.c",
    }
    for key in ("PolicyArns" + ".member.1" * 20000 + ".arn", "PolicyArns.member." + "9" * 5000 + ".arn"):
        r = httpx.post(srv.url + "/", data={**base, key: "x"}, timeout=60)
        assert 400 <= r.status_code < 500 and _xml_code(r) not in SERVER_ERRORS, r.text[:300]


# --- JSON nesting ----------------------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 5000, 200000])
def test_deeply_nested_json_is_a_serialization_error(srv: Server, depth: int) -> None:
    # unsigned operations (no credentials needed to send them)
    for target, payload in (
        (IDP + "GetUser", '{"AccessToken":"a.b.c","Junk":%s}'),
        (CI + "GetId", '{"IdentityPoolId":"us-east-1:00000000-0000-0000-0000-000000000000","Logins":%s}'),
        (CI + "GetId", '{"IdentityPoolId":"us-east-1:00000000-0000-0000-0000-000000000000","Logins":{"a":%s}}'),
        (IDP + "InitiateAuth", '{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":"x","Junk":%s}'),
    ):
        body = (payload % _nested(depth)).encode()
        r = httpx.post(srv.url + "/", content=body, headers={"Content-Type": JSON, "X-Amz-Target": target})
        assert (r.status_code, _json_code(r)) == (400, "SerializationException"), (target, r.text[:300])


def test_shallow_json_is_still_accepted(srv: Server) -> None:
    body = json.dumps({"AccessToken": "a.b.c", "Junk": json.loads(_nested(30))}).encode()
    r = httpx.post(srv.url + "/", content=body, headers={"Content-Type": JSON, "X-Amz-Target": IDP + "GetUser"})
    assert (r.status_code, _json_code(r)) == (400, "NotAuthorizedException"), r.text[:300]


# --- malformed tokens -------------------------------------------------------------------------------------


def _bad_tokens(real: str, srv: Server, pool_id: str) -> dict[str, str]:
    head_b64, body_b64, sig_b64 = real.split(".")
    head = json.loads(base64.urlsafe_b64decode(head_b64 + "=" * (-len(head_b64) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4)))
    kid = head["kid"]

    def tok(h: Any, c: Any, s: str = sig_b64) -> str:
        hh = _b64(h if isinstance(h, bytes) else json.dumps(h).encode())
        cc = _b64(c if isinstance(c, bytes) else json.dumps(c).encode())
        return f"{hh}.{cc}.{s}"

    return {
        "one-segment": "abcdef",
        "two-segments": f"{head_b64}.{body_b64}",
        "four-segments": f"{real}.xyz",
        "empty-segments": "..",
        "bad-base64": "a%b.c*d.e!f",
        "bad-base64-length": "a.b.c",
        "non-json-header": tok(b"not json", claims),
        "header-array": tok(b"[1,2,3]", claims),
        "header-null": tok(b"null", claims),
        "header-bad-utf8": tok(b"\xff\xfe\xfd", claims),
        "header-deeply-nested": tok(_nested(6000).encode(), claims),
        "header-deeply-nested-object": tok(b'{"a":' * 3000 + b"1" + b"}" * 3000, claims),
        "huge-header": tok({"alg": "RS256", "kid": kid, "x": "a" * 12000}, claims),
        "huge-number-header": tok(b'{"alg":"RS256","kid":' + b"9" * 9000 + b"}", claims),
        "payload-deeply-nested": tok(head, _nested(6000).encode()),
        "payload-not-object": tok(head, b"123"),
        "payload-bad-utf8": tok(head, b"\xff\xfe"),
        "alg-none": tok({"alg": "none", "kid": kid}, claims, ""),
        "alg-hs256": tok({"alg": "HS256", "kid": kid}, claims),
        "alg-missing": tok({"kid": kid}, claims),
        "kid-not-string": tok({"alg": "RS256", "kid": {"a": [1]}}, claims),
        "unknown-kid": tok({"alg": "RS256", "kid": "no-such-kid"}, claims),
        "unknown-pool": tok(head, {**claims, "iss": f"{srv.url}/us-east-1_NoSuchPool"}),
        "iss-not-string": tok(head, {**claims, "iss": ["x"]}),
        "foreign-iss": tok(head, {**claims, "iss": "https://evil.example.com/us-east-1_AAAAAAAAA"}),
        "exp-string": tok(head, {**claims, "exp": "tomorrow"}),
        "bad-signature-base64": f"{head_b64}.{body_b64}.!!!!",
        "truncated": real[: len(real) // 2],
        "tampered-claims": tok(head, {**claims, "sub": "someone-else"}),
    }


@pytest.fixture(scope="module")
def tokens(srv: Server, wired: Wired) -> dict[str, Any]:
    from tests.identitypools.conftest import sign_in
    from tests.userpools.conftest import create_confirmed_user

    create_confirmed_user(wired.users, "fuzz")
    result = sign_in(wired.users, "fuzz")
    identity = wired.anon.get_id(IdentityPoolId=wired.pool_id)["IdentityId"]
    domain = "fz-" + secrets.token_hex(4)
    wired.users.idp.create_user_pool_domain(Domain=domain, UserPoolId=wired.users.pool_id)
    return {"result": result, "identity": identity, "domain": domain}


def _post_json(srv: Server, target: str, payload: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        srv.url + "/",
        content=json.dumps(payload).encode(),
        headers={"Content-Type": JSON, "X-Amz-Target": target},
        timeout=60,
    )


def _token_operations(srv: Server, wired: Wired, tokens: dict[str, Any]) -> dict[str, Callable[[str], httpx.Response]]:
    provider = f"cognito-idp.us-east-1.amazonaws.com/{wired.users.pool_id}"
    client_id = wired.users.client_id
    domain_base = f"{srv.url}/_domain/{tokens['domain']}"
    ops: dict[str, Callable[[str], httpx.Response]] = {
        "RevokeToken": lambda t: _post_json(srv, IDP + "RevokeToken", {"Token": t, "ClientId": client_id}),
        "InitiateAuth/REFRESH_TOKEN_AUTH": lambda t: _post_json(
            srv,
            IDP + "InitiateAuth",
            {"AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": client_id, "AuthParameters": {"REFRESH_TOKEN": t}},
        ),
        "oauth2/userInfo": lambda t: httpx.get(
            f"{domain_base}/oauth2/userInfo", headers={"Authorization": "Bearer " + t}
        ),
        "oauth2/userInfo POST": lambda t: httpx.post(
            f"{domain_base}/oauth2/userInfo", headers={"Authorization": "Bearer " + t}
        ),
        "oauth2/token refresh": lambda t: httpx.post(
            f"{domain_base}/oauth2/token",
            data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": t},
        ),
        "oauth2/revoke": lambda t: httpx.post(
            f"{domain_base}/oauth2/revoke", data={"token": t, "client_id": client_id}
        ),
        "GetId": lambda t: _post_json(srv, CI + "GetId", {"IdentityPoolId": wired.pool_id, "Logins": {provider: t}}),
        "GetCredentialsForIdentity": lambda t: _post_json(
            srv, CI + "GetCredentialsForIdentity", {"IdentityId": tokens["identity"], "Logins": {provider: t}}
        ),
        "GetOpenIdToken": lambda t: _post_json(
            srv, CI + "GetOpenIdToken", {"IdentityId": tokens["identity"], "Logins": {provider: t}}
        ),
        "AssumeRoleWithWebIdentity": lambda t: httpx.post(
            srv.url + "/",
            data={
                "Action": "AssumeRoleWithWebIdentity",
                "Version": "2011-06-15",
                "RoleArn": wired.auth_role,
                "RoleSessionName": "fuzz",
                "WebIdentityToken": t,
            },
        ),
    }
    # every cognito-idp operation that takes an access token
    model = botocore.session.get_session().get_service_model("cognito-idp")
    for name in model.operation_names:
        shape = model.operation_model(name).input_shape
        if shape is None or "AccessToken" not in shape.members:
            continue
        payload = {m: _dummy(shape.members[m]) for m in shape.required_members if m != "AccessToken"}

        def call(t: str, name: str = name, payload: dict[str, Any] = payload) -> httpx.Response:
            return _post_json(srv, IDP + name, {**payload, "AccessToken": t})

        ops[name] = call
    return ops


def _dummy(shape: Any) -> Any:
    t = shape.type_name
    if t == "string":
        return "x" * max(1, int(shape.metadata.get("min", 1)))
    if t == "list":
        return []
    if t in ("map", "structure"):
        return {}
    if t in ("integer", "long"):
        return 1
    if t == "boolean":
        return False
    if t == "blob":
        return base64.b64encode(b"x").decode()
    return "x"


def test_malformed_tokens_get_client_errors_never_a_500(srv: Server, wired: Wired, tokens: dict[str, Any]) -> None:
    result = tokens["result"]
    cases: dict[str, str] = {}
    for kind, real in (("access", result["AccessToken"]), ("id", result["IdToken"])):
        for label, token in _bad_tokens(real, srv, wired.users.pool_id).items():
            cases[f"{kind}:{label}"] = token
    failures = []
    for op_name, op in _token_operations(srv, wired, tokens).items():
        for label, token in cases.items():
            r = op(token)
            code = _code(r)
            # revoking a token that is not valid succeeds (RFC 7009 §2.2; Cognito's RevokeToken too)
            revoke = op_name in ("RevokeToken", "oauth2/revoke") and r.status_code == 200
            if not (400 <= r.status_code < 500 or revoke) or code in SERVER_ERRORS:
                failures.append(f"{op_name} {label}: {r.status_code} {code[:80]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("GetUser", "NotAuthorizedException"),
        ("GlobalSignOut", "NotAuthorizedException"),
        ("GetId", "NotAuthorizedException"),
        ("GetCredentialsForIdentity", "NotAuthorizedException"),
        ("GetOpenIdToken", "NotAuthorizedException"),
        ("AssumeRoleWithWebIdentity", "InvalidIdentityToken"),
    ],
)
def test_malformed_tokens_get_aws_errors(
    srv: Server, wired: Wired, tokens: dict[str, Any], op: str, expected: str
) -> None:
    call = _token_operations(srv, wired, tokens)[op]
    real = tokens["result"]["AccessToken" if op in ("GetUser", "GlobalSignOut") else "IdToken"]
    for label, token in _bad_tokens(real, srv, wired.users.pool_id).items():
        r = call(token)
        # the model's own constraints (length, pattern) may refuse a token before it is read
        assert _code(r) in (expected, "InvalidParameterException", "ValidationError"), (label, r.text[:300])


# --- peak memory of a rejected 200 MiB body ---------------------------------------------------------------


def _peak_kib(server: Server) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_rejected_200_mib_bodies_do_not_raise_peak_memory(server_factory: Any) -> None:
    """Streams 200 MiB (chunked, no Content-Length) at each kind of endpoint; the server's peak
    resident memory (VmHWM) must stay within a few MiB of where it was."""
    server: Server = server_factory(env={"OSTIARY_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)})
    h = make_hosted(server)
    idp = server.client("cognito-idp")
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/CognitoImport"
    upload = idp.create_user_import_job(UserPoolId=h.pool_id, JobName="j", CloudWatchLogsRoleArn=role)["UserImportJob"][
        "PreSignedUrl"
    ]
    upload_path = upload[len(server.url) :]
    targets = [
        ("POST", "/", "Content-Type: application/x-amz-json-1.1\r\nX-Amz-Target: " + IDP + "GetUser\r\n"),
        ("POST", "/", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("POST", f"/_domain/{h.domain}/oauth2/token", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("POST", f"/_domain/{h.domain}/login", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("POST", f"/_domain/{h.domain}/saml2/idpresponse", "Content-Type: application/x-www-form-urlencoded\r\n"),
        ("PUT", upload_path, "Content-Type: text/csv\r\n"),
    ]
    before = _peak_kib(server)
    statuses = []
    for method, path, extra in targets:
        status, _ = _raw(server.port, _head(method, path, server.port, extra), _chunks(200 * MIB), chunked=True)
        statuses.append(status)
    after = _peak_kib(server)
    print(f"VmHWM before {before} KiB, after {after} KiB, growth {after - before} KiB")
    assert statuses == [413] * len(targets)
    assert after - before < 16 * 1024, (before, after)


def test_deeply_nested_policy_documents_are_malformed_not_a_500(srv: Server, wired: Wired) -> None:
    deep = "[" * 5000 + "]" * 5000
    iam = srv.client("iam")
    with pytest.raises(Exception) as exc:
        iam.create_policy(PolicyName="deep-" + secrets.token_hex(3), PolicyDocument=deep)
    assert exc.value.response["Error"]["Code"] == "MalformedPolicyDocument"  # type: ignore[attr-defined]
    # a session policy reaches the parser without any credentials (AssumeRoleWithWebIdentity is unsigned)
    r = httpx.post(
        srv.url + "/",
        data={
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "RoleArn": wired.auth_role,
            "RoleSessionName": "fuzz",
            "WebIdentityToken": "a.b.c",
            "Policy": deep,
        },
    )
    assert 400 <= r.status_code < 500 and _xml_code(r) not in SERVER_ERRORS, r.text[:300]
