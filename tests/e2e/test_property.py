"""Property test: inputs generated from botocore's shapes, valid and deliberately invalid, signed with
the root key and sent to a live server. No answer is a 5xx other than 501 (not implemented), and
every invalid input is refused with the service's validation error naming the member."""

from __future__ import annotations

import json
import re
import string
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import OperationModel, Shape
from botocore.serialize import create_serializer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ostiary.protocol.models import _CHECKED_BY_OPERATION, service_spec
from tests.conftest import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, Server

SERVICES = ("cognito-idp", "sts", "iam")
VALIDATION_CODE = {"cognito-idp": "InvalidParameterException", "sts": "ValidationError", "iam": "ValidationError"}


def _simple_pattern(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return "\\p" not in pattern and "(?" not in pattern


def scalar(shape: Shape) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    t = shape.type_name
    if t == "string":
        if meta.get("enum"):
            return st.sampled_from(meta["enum"])
        lo, hi = int(meta.get("min", 0)), min(int(meta.get("max", 40)), 40)
        hi = max(hi, lo)
        pattern = meta.get("pattern")
        if pattern and _simple_pattern(pattern):
            return st.from_regex(re.compile(pattern), fullmatch=True).filter(lambda s: lo <= len(s) <= max(hi, lo))
        return st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=lo, max_size=hi)
    if t in ("integer", "long"):
        lo = int(meta.get("min", 0))
        hi = int(meta.get("max", lo + 1000))
        return st.integers(min_value=lo, max_value=max(lo, min(hi, lo + 10**6)))
    if t == "boolean":
        return st.booleans()
    if t in ("float", "double"):
        return st.floats(min_value=0, max_value=1000, allow_nan=False)
    if t == "timestamp":
        return st.datetimes(timezones=st.none()).map(lambda d: d.replace(microsecond=0))
    if t == "blob":
        return st.binary(min_size=int(meta.get("min", 0)), max_size=32)
    return st.none()


def value(shape: Shape, depth: int = 0) -> st.SearchStrategy[Any]:
    t = shape.type_name
    if t == "structure":
        if depth > 3:
            return st.just({})
        members = shape.members
        required = {n: value(members[n], depth + 1) for n in shape.required_members}
        optional = {n: value(m, depth + 1) for n, m in list(members.items())[:8] if n not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if t == "list":
        lo = int(shape.metadata.get("min", 0))
        return st.lists(value(shape.member, depth + 1), min_size=lo, max_size=max(lo, 2))
    if t == "map":
        return st.dictionaries(scalar(shape.key), value(shape.value, depth + 1), max_size=2)
    return scalar(shape)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _operations() -> list[tuple[str, str]]:
    ops = []
    for service in SERVICES:
        spec = service_spec(service)
        ops += [(service, name) for name in sorted(spec.model.operation_names)]
    return ops


OPERATIONS = _operations()


def send(server: Server, service: str, op: OperationModel, params: dict[str, Any]) -> httpx.Response:
    spec = service_spec(service)
    serializer = create_serializer(spec.protocol, include_validation=False)
    request = serializer.serialize_to_request(params, op)
    url = server.url + request["url_path"]
    if request.get("query_string"):
        url += "?" + "&".join(f"{k}={v}" for k, v in request["query_string"].items())
    body = request["body"]
    if isinstance(body, dict):
        from urllib.parse import urlencode

        body = urlencode(body)
    if isinstance(body, str):
        body = body.encode()
    headers = dict(request["headers"])
    if service != "cognito-idp":
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    aws = AWSRequest(method=request["method"], url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), spec.signing_name, REGION).add_auth(aws)
    return httpx.post(url, content=body, headers=dict(aws.headers.items()), timeout=30)


def error_code(service: str, r: httpx.Response) -> str:
    if service == "cognito-idp":
        return str(r.json().get("__type", "")).split("#")[-1]
    m = re.search(r"<Code>([^<]+)</Code>", r.text)
    return m.group(1) if m else ""


def error_message(service: str, r: httpx.Response) -> str:
    if service == "cognito-idp":
        return str(r.json().get("message", ""))
    m = re.search(r"<Message>([^<]*)</Message>", r.text)
    return m.group(1) if m else ""


PROFILE = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


@pytest.mark.slow
@PROFILE
@given(data=st.data(), which=st.sampled_from(OPERATIONS))
def test_generated_inputs_never_cause_a_server_error(
    server: Server, data: st.DataObject, which: tuple[str, str]
) -> None:
    service, name = which
    op = service_spec(service).operation(name)
    assert op is not None
    params = data.draw(value(op.input_shape)) if op.input_shape is not None else {}
    try:
        r = send(server, service, op, params)
    except (TypeError, ValueError, AttributeError, KeyError):
        assume(False)
        return
    assert r.status_code < 500 or r.status_code == 501, (service, name, params, r.text)
    assert r.headers.get("x-amzn-RequestId")
    code = error_code(service, r) if r.status_code != 200 else ""
    assert code not in ("InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature"), r.text


def _mutations(shape: Shape) -> list[tuple[str, str, Any]]:
    """(member, expected constraint text, bad value) for the top-level members of an input shape."""
    out: list[tuple[str, str, Any]] = []
    for name in shape.required_members:
        out.append((name, "Member must not be null", None))
    for name, member in shape.members.items():
        meta = member.metadata
        if member.name in _CHECKED_BY_OPERATION:
            continue  # the operation checks these itself, with its own limits (custom domains are FQDNs)
        if member.type_name == "string":
            if "max" in meta and meta["max"] <= 2048:
                out.append((name, "Member must have length less than or equal to", "x" * (meta["max"] + 1)))
            if meta.get("min", 0) > 1:
                out.append((name, "Member must have length greater than or equal to", "x"))
            if meta.get("enum"):
                out.append((name, "Member must satisfy enum value set", "NOT_A_VALUE"))
        if member.type_name == "integer" and "max" in meta and meta["max"] < 2**31 - 1:
            out.append((name, "Member must have value less than or equal to", meta["max"] + 1))
    return out


def _invalid_cases() -> list[tuple[str, str, tuple[str, str, Any]]]:
    cases = []
    for service, name in OPERATIONS:
        op = service_spec(service).operation(name)
        if op is not None and op.input_shape is not None:
            cases += [(service, name, m) for m in _mutations(op.input_shape)]
    return cases


INVALID_CASES = _invalid_cases()


@pytest.mark.slow
@PROFILE
@given(data=st.data(), case=st.sampled_from(INVALID_CASES))
def test_invalid_inputs_get_the_validation_error(
    server: Server, data: st.DataObject, case: tuple[str, str, Any]
) -> None:
    service, name, (member, constraint, bad) = case
    op = service_spec(service).operation(name)
    assert op is not None and op.input_shape is not None
    params = data.draw(value(op.input_shape))
    if bad is None:
        params.pop(member, None)
    else:
        params[member] = bad
    try:
        r = send(server, service, op, params)
    except (TypeError, ValueError, AttributeError, KeyError):
        assume(False)
        return
    assert r.status_code == 400, (service, name, member, r.text)
    assert error_code(service, r) == VALIDATION_CODE[service], r.text
    message = error_message(service, r)
    assert f"'{_camel(member)}'" in message and constraint in message, message


def test_validation_message_is_aws_shaped(server: Server) -> None:
    op = service_spec("cognito-idp").operation("DescribeUserPool")
    assert op is not None
    r = send(server, "cognito-idp", op, {"UserPoolId": "bad id!"})
    body = json.loads(r.text)
    assert body["__type"] == "InvalidParameterException"
    assert body["message"].startswith("1 validation error detected: Value 'bad id!' at 'userPoolId' failed to satisfy")
