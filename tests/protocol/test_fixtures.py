"""botocore's protocol test fixtures, run in process against Ostiary's protocol layer (no server).

The fixtures (tests/protocol/fixtures/, vendored from botocore's source distribution: see the README
there) describe each case from the client's side: the params an SDK is given and the request it must
send (input), or the response a service sends and the result an SDK must read from it (output).
Ostiary is the service, so the roles turn around, as in moto's tests/test_core/test_protocols.py:

- input: Ostiary must PARSE the fixture's serialized request into the fixture's params;
- output: Ostiary must SERIALIZE the fixture's result (or error) into a response that botocore's own
  parser reads back as the fixture's result. Compared parsed, not byte for byte.

Each case's model is built from the fixture's inline shapes with botocore.model.ServiceModel. Cases
Ostiary does not support by design are in SKIPPED, each with its reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.parsers import JSONParser, QueryParser, RestJSONParser
from botocore.utils import parse_timestamp as botocore_timestamp

from ostiary.protocol import json11, query, restjson
from ostiary.protocol.errors import ServiceError
from ostiary.protocol.models import ServiceSpec, spec_from_model

FIXTURES = Path(__file__).parent / "fixtures"

# (direction, protocol, case id) -> why Ostiary does not pass it. Everything else must pass.
_CLIENT_SIDE = (
    "client behaviour only: what the SDK sends or how it rewrites the request; nothing for a service to parse"
)
SKIPPED: dict[tuple[str, str, str], str] = {
    ("input", "json", "SDKAppliedContentEncoding_awsJson1_1"): _CLIENT_SIDE + " (request compression)",
    ("input", "json", "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsJson1_1"): _CLIENT_SIDE
    + " (request compression)",
    ("input", "query", "SDKAppliedContentEncoding_awsQuery"): _CLIENT_SIDE + " (request compression)",
    ("input", "query", "SDKAppendsGzipAndIgnoresHttpProvidedEncoding_awsQuery"): _CLIENT_SIDE
    + " (request compression)",
    ("input", "query", "QueryProtocolIdempotencyTokenAutoFill"): _CLIENT_SIDE
    + " (the SDK fills an absent idempotency token; the service receives it as any other member)",
    ("input", "query", "QueryEmptyQueryMaps"): "an empty map is not on the wire at all (the body is only Action and"
    " Version): no service can tell it from an absent map",
    ("output", "json", "AwsJson11InvalidGreetingError"): "the error shape's message member is spelt 'Message'; Ostiary"
    " writes 'message', the member of every exception shape of cognito-idp and cognito-identity (botocore reads"
    " either as Error.Message)",
    **{
        ("output", "json", f"AwsJson11Supports{name}FloatInputs"): "a non-finite float or double: no float or double"
        " shape in the four models Ostiary serves (orjson would write null)"
        for name in ("NaN", "Infinity", "NegativeInfinity")
    },
    **{
        ("output", "query", f"QueryQueryFlattenedXmlMap{name}"): "flattened XML maps: no shape of STS or IAM is"
        " flattened"
        for name in ("", "WithXmlName", "WithXmlNamespace")
    },
    ("output", "query", "QueryXmlLists"): "flattened XML lists: no shape of STS or IAM is flattened, and botocore's own"
    " parser does not read these (botocore's suite skips this case too)",
    **{
        ("input", "rest-json", case): _CLIENT_SIDE + " (request compression)"
        for case in ("SDKAppliedContentEncoding_restJson1", "SDKAppendedGzipAfterProvidedEncoding_restJson1")
    },
    ("input", "rest-json", "RestJsonQueryIdempotencyTokenAutoFill"): _CLIENT_SIDE
    + " (the SDK fills an absent idempotency token; the service receives it as any other member)",
    ("input", "rest-json", "RestJsonHostWithPath"): _CLIENT_SIDE
    + " (an endpoint URL with a path of its own: /custom before the operation's URI)",
    ("input", "rest-json", "RestJsonQueryPrecedence"): _CLIENT_SIDE
    + " (which of a named query member and a map entry of the same key the SDK sends; the wire holds only one)",
    ("input", "rest-json", "RestJsonHttpPrefixHeadersAreNotPresent"): "an empty prefix-header map is not on the wire"
    " at all: no service can tell it from an absent map",
    ("input", "rest-json", "RestJsonOmitsEmptyListQueryValues"): "empty query lists are not on the wire at all: no"
    " service can tell them from absent lists",
    ("input", "rest-json", "MediaTypeHeaderInputBase64"): "a jsonvalue header holds base64 JSON, read as the JSON"
    " value (botocore's serializer and parser); the case expects the JSON text. botocore's suite ignores this case"
    " too (protocol-tests-ignore-list.json)",
    **{
        ("output", "rest-json", case): "botocore's parser reads this differently from the Smithy case (its suite"
        " ignores it: protocol-tests-ignore-list.json): " + why
        for case, why in (
            ("RestJsonHttpPayloadTraitsWithNoBlobBody", "an absent blob payload reads as b''"),
            ("RestJsonHttpPayloadWithUnsetUnion", "an absent union payload reads as a union with no member set"),
            ("RestJsonInputAndOutputWithTimestampHeaders", "it splits a list of HTTP dates at their own commas"),
            ("RestJsonInputAndOutputWithQuotedStringHeaders", "it does not unquote quoted header list items"),
        )
    },
    ("output", "rest-json", "HttpPrefixHeadersResponse"): "a prefix-header map with an empty prefix holds every"
    " response header: Ostiary's Content-Type too, which the case's response has none of",
    ("output", "query", "QueryComplexError"): "error members besides Code and Message: no exception shape of STS or IAM"
    " has any (and an empty message is left out, as AWS answers: protocol/query.py; botocore's suite skips this case"
    " too)",
}


# rest-json input cases whose SDK was given a map of query parameters repeating the named members: the
# wire holds each parameter once, and a service reads the map as the parameters no member names (as
# RestJsonQueryParamsStringListMap shows), so these compare every member but that map
_QUERY_MAP_REPEATS = frozenset(
    {
        "RestJsonAllQueryStringTypes",
        "RestJsonQueryStringEscaping",
        "RestJsonSupportsNaNFloatQueryValues",
        "RestJsonSupportsInfinityFloatQueryValues",
        "RestJsonSupportsNegativeInfinityFloatQueryValues",
        "RestJsonZeroAndFalseQueryValues",
    }
)


def _cases(direction: str, protocol: str) -> list[Any]:
    suites = json.loads((FIXTURES / direction / f"{protocol}.json").read_text(encoding="utf-8"))
    params = []
    for suite in suites:
        for case in suite["cases"]:
            key = (direction, protocol, case["id"])
            marks = [pytest.mark.skip(reason=SKIPPED[key])] if key in SKIPPED else []
            params.append(pytest.param(suite, case, id=case["id"], marks=marks))
    return params


def _model(suite: dict[str, Any], case: dict[str, Any]) -> tuple[ServiceModel, OperationModel]:
    description = {
        "metadata": {"endpointPrefix": "fixture", **suite["metadata"]},
        "shapes": copy.deepcopy(suite["shapes"]),
        "operations": {case["given"]["name"]: copy.deepcopy(case["given"])},
    }
    model = ServiceModel(description, service_name="fixture")
    return model, model.operation_model(case["given"]["name"])


def _spec(model: ServiceModel) -> ServiceSpec:
    return spec_from_model("fixture", model)


# ---------------------------------------------------------------------------------------------
# Values: the fixtures write timestamps as epoch seconds, blobs as text and special floats as
# "NaN"/"Infinity"; Ostiary's handlers see datetimes, bytes and floats.


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return float(botocore_timestamp(value).timestamp())


def _canonical(shape: Shape | None, value: Any) -> Any:
    """One form for a fixture's value and Ostiary's, so that they compare: timestamps as epoch
    seconds, blobs as bytes, special floats as their names, absent (None) members dropped."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        members = shape.members
        return {
            k: _canonical(members.get(k), v)
            for k, v in value.items()
            if v is not None and (k in members or not members)
        }
    if t == "list" and isinstance(value, list):
        return [_canonical(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: _canonical(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        return _epoch(value)
    if t == "blob":
        return value.encode() if isinstance(value, str) else bytes(value)
    if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _python(shape: Shape | None, value: Any) -> Any:
    """A fixture's result as a handler returns it (datetimes, bytes, floats)."""
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        return {k: _python(shape.members.get(k), v) for k, v in value.items()}
    if t == "list":
        return [_python(shape.member, v) for v in value]
    if t == "map":
        return {k: _python(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        return dt.datetime.fromtimestamp(_epoch(value), tz=dt.UTC)
    if t == "blob":
        return value.encode() if isinstance(value, str) else value
    if t in ("float", "double") and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    return value


def _timestamp_parser(value: str) -> float:
    return float(botocore_timestamp(value).timestamp())


def _read_back(parser: Any, status: int, headers: dict[str, str], body: bytes, shape: Shape | None) -> Any:
    from botocore.awsrequest import HeadersDict

    response = {"status_code": status, "headers": HeadersDict(headers), "body": body}
    parsed = parser.parse(response, shape)
    parsed.pop("ResponseMetadata", None)
    return parsed


# ---------------------------------------------------------------------------------------------
# Input: the fixture's request, parsed by Ostiary


@pytest.mark.parametrize(("suite", "case"), _cases("input", "json"))
def test_json_input(suite: dict[str, Any], case: dict[str, Any]) -> None:
    _, op = _model(suite, case)
    serialized = case["serialized"]
    assert serialized["headers"]["X-Amz-Target"] == f"{suite['metadata']['targetPrefix']}.{op.name}"
    parsed = json11.parse_input(op, serialized.get("body", "").encode())
    assert _canonical(op.input_shape, parsed) == _canonical(op.input_shape, case["params"])


@pytest.mark.parametrize(("suite", "case"), _cases("input", "query"))
def test_query_input(suite: dict[str, Any], case: dict[str, Any]) -> None:
    _, op = _model(suite, case)
    # as the dispatcher reads a form body (protocol/dispatch.py)
    pairs = parse_qsl(case["serialized"]["body"], keep_blank_values=True)
    assert ("Action", op.name) in pairs
    parsed = query.parse_input(op, pairs)
    assert _canonical(op.input_shape, parsed) == _canonical(op.input_shape, case["params"])


# ---------------------------------------------------------------------------------------------
# Output: the fixture's result serialized by Ostiary, read back by botocore


def _error(model: ServiceModel, case: dict[str, Any]) -> ServiceError:
    # Ostiary's errors name the exception shape; the wire code (which may differ) comes from the model
    shape = model.shape_for_error_code(case["errorCode"])
    cls: type[ServiceError] = type(shape.name, (ServiceError,), {"code": shape.name})
    fields = {k: v for k, v in case["error"].items() if k not in ("message", "Message")}
    return cls(case.get("errorMessage", ""), **fields)


def _error_round_trip(parser: Any, model: ServiceModel, op: OperationModel, case: dict[str, Any], reply: Any) -> None:
    status, headers, body = reply
    assert status == case["response"]["status_code"]
    parsed = _read_back(parser, status, headers, body, op.output_shape)
    error = parsed.pop("Error")
    shape = model.shape_for_error_code(error["Code"])
    members = _read_back(parser, status, headers, body, shape)
    members.pop("Error", None)
    assert {k: v for k, v in error.items() if k in ("Code", "Message")} == {
        "Code": case["errorCode"],
        "Message": case.get("errorMessage", ""),
    }
    assert _canonical(shape, members) == _canonical(shape, case["error"])


@pytest.mark.parametrize(("suite", "case"), _cases("output", "json"))
def test_json_output(suite: dict[str, Any], case: dict[str, Any]) -> None:
    model, op = _model(suite, case)
    parser = JSONParser(timestamp_parser=_timestamp_parser)
    if "error" in case:
        _error_round_trip(parser, model, op, case, json11.serialize_error(_spec(model), _error(model, case)))
        return
    body = json11.serialize_output(op, _python(op.output_shape, case["result"]))
    parsed = _read_back(parser, 200, {"content-type": json11.CONTENT_TYPE}, body, op.output_shape)
    assert _canonical(op.output_shape, parsed) == _canonical(op.output_shape, case["result"])


@pytest.mark.parametrize(("suite", "case"), _cases("output", "query"))
def test_query_output(suite: dict[str, Any], case: dict[str, Any]) -> None:
    model, op = _model(suite, case)
    parser = QueryParser(timestamp_parser=_timestamp_parser)
    if "error" in case:
        reply = query.serialize_error(_spec(model), _error(model, case), "request-1")
        _error_round_trip(parser, model, op, case, reply)
        return
    shape = op.output_shape
    if shape is not None and shape.members:
        # botocore's own test does the same: the fixtures' output shapes name no result wrapper
        shape.serialization["resultWrapper"] = f"{op.name}Result"
    body = query.serialize_output(_spec(model), op, _python(shape, case["result"]), "request-1")
    parsed = _read_back(parser, 200, {"content-type": query.CONTENT_TYPE}, body, shape)
    assert _canonical(shape, parsed) == _canonical(shape, case["result"])


# ---------------------------------------------------------------------------------------------
# rest-json: the request routed by its method and URI (the fixture's one operation), then parsed


@pytest.mark.parametrize(("suite", "case"), _cases("input", "rest-json"))
def test_rest_json_input(suite: dict[str, Any], case: dict[str, Any]) -> None:
    model, op = _model(suite, case)
    serialized = case["serialized"]
    url = urlsplit(serialized["uri"])
    router = restjson.Router([_spec(model)])
    match = router.match(serialized["method"], url.path, url.query, None)
    assert match is not None
    assert match.operation == op.name
    assert match.route is not None
    headers = {k.lower(): v for k, v in serialized.get("headers", {}).items()}
    pairs = parse_qsl(url.query, keep_blank_values=True)
    body = serialized.get("body", "").encode()
    template_query = [k for k, _ in match.route.query]
    parsed = restjson.parse_input(op, match.labels, pairs, headers, body, template_query)
    expected = dict(case["params"])
    if case["id"] in _QUERY_MAP_REPEATS:
        assert "queryParamsMapOfStringList" not in parsed
        expected.pop("queryParamsMapOfStringList")
    assert _canonical(op.input_shape, parsed) == _canonical(op.input_shape, expected)


@pytest.mark.parametrize(("suite", "case"), _cases("output", "rest-json"))
def test_rest_json_output(suite: dict[str, Any], case: dict[str, Any]) -> None:
    model, op = _model(suite, case)
    parser = RestJSONParser(timestamp_parser=_timestamp_parser)
    if "error" in case:
        _error_round_trip(parser, model, op, case, restjson.serialize_error(_spec(model), _error(model, case)))
        return
    status, headers, body = restjson.serialize_output(op, _python(op.output_shape, case["result"]))
    assert status == case["response"]["status_code"]
    parsed = _read_back(parser, status, headers, body, op.output_shape)
    assert _canonical(op.output_shape, parsed) == _canonical(op.output_shape, case["result"])


def test_every_skip_names_a_case() -> None:
    known = {
        (direction, protocol, case["id"])
        for direction in ("input", "output")
        for protocol in ("json", "query", "rest-json")
        for suite in json.loads((FIXTURES / direction / f"{protocol}.json").read_text(encoding="utf-8"))
        for case in suite["cases"]
    }
    assert set(SKIPPED) <= known
