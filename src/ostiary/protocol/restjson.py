"""AWS restJson1 (``sso``, ``sso-oidc``, ``cognito-sync``): route, parse inputs, serialize outputs and errors.

Wire facts (Smithy "AWS restJson1 protocol", as botocore's RestJSONSerializer/RestJSONParser speak it):
an operation is a method and a URI template (``/identitypools/{IdentityPoolId}``, greedy ``{Key+}``,
literal query parameters after ``?``); input members are bound to URI labels, query parameters,
headers (one header, or a ``headers`` map of every header with a prefix) or the JSON body (or one
``payload`` member: a blob or string as the raw body, a structure as the JSON body). Timestamps are
ISO 8601 in URIs and query strings, RFC 822 (HTTP dates) in headers and epoch seconds in bodies unless
the member's ``timestampFormat`` says otherwise. The answer's status is the operation's
``responseCode`` (or a ``statusCode`` member); errors carry their code in ``x-amzn-ErrorType`` and
``{"__type", "message"}`` in the body, with the status of the model's exception shape.

Which service a request is for: the credential scope of its SigV4 signature when signed, else the
request URI of the operation it matches (the unsigned operations' paths: sso-oidc's ``/token``,
``/client/register``, ``/device_authorization``; sso's ``/federation/credentials``…).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson
from botocore.model import OperationModel, Shape

from ostiary import jsonlimits
from ostiary.protocol.errors import SerializationFailed, ServiceError
from ostiary.protocol.json11 import error_code
from ostiary.protocol.models import ServiceSpec

CONTENT_TYPE = "application/json"

# SigV4's credential scope in an Authorization header or a presigned URL's X-Amz-Credential:
# <key id>/<yyyymmdd>/<region>/<service>/aws4_request
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")
_SCOPE_QUERY = re.compile(
    r"(?:^|&)X-Amz-Credential=[^&/%]+(?:/|%2F)\d{8}(?:/|%2F)[^&/%]+(?:/|%2F)([^&/%]+)(?:/|%2F)", re.IGNORECASE
)
_LABEL = re.compile(r"\{([^}]+)\}")

# ---------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True, eq=False)
class Route:
    """One operation's method and request URI template, compiled."""

    spec: ServiceSpec
    operation: str
    method: str
    template: str
    pattern: re.Pattern[str]
    labels: tuple[tuple[str, str], ...]  # (regex group, label name)
    query: tuple[tuple[str, str], ...]  # the template's literal query parameters
    order: tuple[tuple[int, ...], int]  # literal segments first, then labels, then greedy labels

    @property
    def anonymous(self) -> bool:
        return self.operation in self.spec.anonymous_operations

    def match(self, method: str, raw_path: str, query: Mapping[str, str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        found = self.pattern.fullmatch(raw_path)
        if found is None:
            return None
        for key, value in self.query:
            if query.get(key) != value:
                return None
        return {name: unquote(found.group(group)) for group, name in self.labels}


@dataclass(frozen=True, eq=False)
class Match:
    """The rest-json service a request is for and the operation it names (None: no operation of the
    service matches its method and path), with its URI labels, percent-decoded."""

    spec: ServiceSpec
    operation: str | None
    labels: dict[str, str] = field(default_factory=dict)
    route: Route | None = None


def compile_route(spec: ServiceSpec, op: OperationModel) -> Route:
    uri = op.http.get("requestUri", "/")
    path, _, literal_query = uri.partition("?")
    regex_parts: list[str] = []
    labels: list[tuple[str, str]] = []
    kinds: list[int] = []  # per segment: 0 literal, 1 label, 2 greedy label
    pos = 0
    for n, found in enumerate(_LABEL.finditer(path)):
        literal = path[pos : found.start()]
        regex_parts.append(re.escape(literal))
        kinds += [0 for s in literal.split("/") if s]
        name = found.group(1)
        group = f"l{n}"
        if name.endswith("+"):
            regex_parts.append(f"(?P<{group}>.+)")
            labels.append((group, name[:-1]))
            kinds.append(2)
        else:
            regex_parts.append(f"(?P<{group}>[^/]+)")
            labels.append((group, name))
            kinds.append(1)
        pos = found.end()
    tail = path[pos:]
    regex_parts.append(re.escape(tail))
    kinds += [0 for s in tail.split("/") if s]
    query = tuple((k, v) for k, v in parse_qsl(literal_query, keep_blank_values=True)) if literal_query else ()
    return Route(
        spec=spec,
        operation=op.name,
        method=op.http.get("method", "POST"),
        template=uri,
        pattern=re.compile("".join(regex_parts)),
        labels=tuple(labels),
        query=query,
        # literal segments before labels, labels before greedy labels, then more literal query
        # parameters first (sso-oidc's ``/token?aws_iam=t`` before ``/token``)
        order=(tuple(kinds), -len(query)),
    )


def signed_service(auth: str | None, raw_query: str) -> str | None:
    """The service named by a request's SigV4 credential scope (``Authorization`` header or
    presigned query), None when unsigned."""
    if auth:
        found = _SCOPE.search(auth)
        return found.group(1) if found else None
    if "X-Amz-Credential=" in raw_query:
        found_q = _SCOPE_QUERY.search(raw_query)
        return unquote(found_q.group(1)) if found_q else None
    return None


class Router:
    """Every rest-json operation of the served services, by the signing name of its service and, for
    unsigned requests, by its request URI alone."""

    def __init__(self, specs: Iterable[ServiceSpec]) -> None:
        self.by_signing: dict[str, tuple[ServiceSpec, list[Route]]] = {}
        routes: list[Route] = []
        for spec in specs:
            if spec.protocol != "rest-json":
                continue
            own = sorted(
                (compile_route(spec, spec.model.operation_model(name)) for name in spec.model.operation_names),
                key=lambda r: r.order,
            )
            self.by_signing[spec.signing_name] = (spec, own)
            routes += own
        # Unsigned requests: every operation, the most specific template first; of two services'
        # identical templates, the anonymous operation's (a request without a signature to a signed
        # operation is answered MissingAuthenticationToken).
        self.unsigned = sorted(routes, key=lambda r: (r.order, not r.anonymous))
        # the first literal segment of every template: most requests (pages, OAuth endpoints) leave here
        self.first_segments = frozenset(_first_segment(r.template) for r in routes)
        self.any_label_first = "" in self.first_segments

    def match(self, method: str, raw_path: str, raw_query: str, authorization: str | None) -> Match | None:
        """The rest-json operation a request is for, or None when it is not a rest-json request."""
        service = signed_service(authorization, raw_query)
        if service is not None and service in self.by_signing:
            spec, routes = self.by_signing[service]
            query = _literal_query(raw_query)
            for route in routes:
                labels = route.match(method, raw_path, query)
                if labels is not None:
                    return Match(spec, route.operation, labels, route)
            return Match(spec, None)
        if not self.any_label_first and _first_segment(raw_path) not in self.first_segments:
            return None
        query = _literal_query(raw_query)
        for route in self.unsigned:
            labels = route.match(method, raw_path, query)
            if labels is not None:
                return Match(route.spec, route.operation, labels, route)
        return None

    def preflight(self, raw_path: str, method: str) -> bool:
        """Whether a CORS preflight for ``method`` on ``raw_path`` asks about a rest-json operation."""
        if not self.any_label_first and _first_segment(raw_path) not in self.first_segments:
            return False
        return any(r.method == method and r.pattern.fullmatch(raw_path) for r in self.unsigned)


def _first_segment(path: str) -> str:
    segment = path.split("?", 1)[0].lstrip("/").split("/", 1)[0]
    return "" if "{" in segment else segment


def _literal_query(raw_query: str) -> dict[str, str]:
    if not raw_query:
        return {}
    try:
        return dict(parse_qsl(raw_query, keep_blank_values=True, max_num_fields=1000))
    except ValueError:  # too many fields: the dispatcher's own parse refuses the request
        return {}


# ---------------------------------------------------------------------------------------------
# Input


def _timestamp(text: str, fmt: str) -> dt.datetime | str:
    """A timestamp in ``fmt`` (any of the three formats is read; the value itself when unreadable,
    for validation to refuse)."""
    text = text.strip()
    order = {"rfc822": ("rfc822", "iso8601", "unixTimestamp"), "unixTimestamp": ("unixTimestamp", "iso8601", "rfc822")}
    for kind in order.get(fmt, ("iso8601", "unixTimestamp", "rfc822")):
        try:
            if kind == "unixTimestamp":
                number = float(text)
                if not math.isfinite(number):
                    continue
                return dt.datetime.fromtimestamp(number, tz=dt.UTC)
            if kind == "iso8601":
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
            return email.utils.parsedate_to_datetime(text).astimezone(dt.UTC)
        except (ValueError, TypeError, OverflowError, OSError, IndexError):
            continue
    return text


def _scalar(shape: Shape, text: str, timestamp_format: str) -> Any:
    """A member's value from its text in a URI, query string or header."""
    t = shape.type_name
    try:
        if t in ("integer", "long", "short", "byte"):
            return int(text)
        if t in ("float", "double"):
            return float(text) if text in ("NaN", "Infinity", "-Infinity") else float(text.strip())
        if t == "boolean":
            lowered = text.strip().lower()
            return True if lowered == "true" else False if lowered == "false" else text
    except ValueError:
        return text  # validation answers "Member must be of type …"
    if t == "timestamp":
        return _timestamp(text, shape.serialization.get("timestampFormat", timestamp_format))
    if t == "blob":
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return text
    return text


def _split_header_list(text: str) -> list[str]:
    """A comma-separated header list (RFC 7230), items optionally quoted with backslash escapes."""
    items: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] == '"':
            i += 1
            buf: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1  # closing quote
            items.append("".join(buf))
            while i < n and text[i] != ",":
                i += 1
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            items.append(text[i:end].strip())
            i = end
        i += 1  # the comma
    return items


def _header_value(shape: Shape, text: str) -> Any:
    if shape.type_name == "list":
        if not text.strip():
            return []
        member = shape.member
        items = _split_header_list(text)
        if member.type_name == "timestamp" and member.serialization.get("timestampFormat", "rfc822") == "rfc822":
            # an HTTP date holds a comma itself: "Mon, 16 Dec 2019 23:48:18 GMT, Mon, 16 Dec …"
            items = [f"{items[i]}, {items[i + 1]}" for i in range(0, len(items) - 1, 2)]
        return [_scalar(member, item, "rfc822") for item in items]
    if shape.type_name == "string" and shape.serialization.get("jsonvalue"):
        try:
            return jsonlimits.loads(base64.b64decode(text, validate=True))
        except (binascii.Error, ValueError, UnicodeDecodeError, jsonlimits.TooDeep):
            raise SerializationFailed(
                f"The header {shape.serialization.get('name')} is not base64-encoded JSON."
            ) from None
    return _scalar(shape, text, "rfc822")


def from_body(shape: Shape, value: Any) -> Any:
    """A JSON body value as the handler sees it: members by their model names (a member's
    ``locationName`` is its JSON key), timestamps to datetimes, blobs to bytes."""
    if value is None:
        return None
    t = shape.type_name
    if shape.metadata.get("document"):
        return value
    if t == "structure" and isinstance(value, dict):
        names = _json_names(shape)
        out: dict[str, Any] = {}
        for key, sub in value.items():
            member = names.get(key)
            if member is not None and sub is not None:
                out[member] = from_body(shape.members[member], sub)
        return out
    if t == "list" and isinstance(value, list):
        return [from_body(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: from_body(shape.value, v) for k, v in value.items() if v is not None}
    if t == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return dt.datetime.fromtimestamp(value, tz=dt.UTC)
            except (OverflowError, OSError, ValueError):
                return value
        if isinstance(value, str):
            return _timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
        return value
    if t == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    if t in ("float", "double") and isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    return value


def _json_names(shape: Shape) -> dict[str, str]:
    return {member.serialization.get("name", name): name for name, member in shape.members.items()}


def _load_json(body: bytes) -> Any:
    try:
        return jsonlimits.loads(body)
    except jsonlimits.TooDeep as err:
        raise SerializationFailed(str(err)) from None
    except (ValueError, UnicodeDecodeError):
        raise SerializationFailed("Start of structure or map found where not expected.") from None


def parse_input(
    op: OperationModel,
    labels: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    template_query: Iterable[str] = (),
) -> dict[str, Any]:
    """The input structure of a request: labels (percent-decoded), query pairs (decoded), headers
    (names in lower case) and the raw body, each member read from where the model binds it."""
    shape = op.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    # the template's own query parameters (``?aws_iam=t``) and the named query members: what a map of
    # query parameters does not hold
    claimed = set(template_query)
    query_maps: list[tuple[str, Shape]] = []
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "uri":
            if wire in labels:
                params[name] = _scalar(member, labels[wire], "iso8601")
        elif location == "querystring":
            if member.type_name == "map":
                query_maps.append((name, member))
                continue
            claimed.add(wire)
            values = [v for k, v in query if k == wire]
            if not values:
                continue
            if member.type_name == "list":
                params[name] = [_scalar(member.member, v, "iso8601") for v in values]
            else:
                params[name] = _scalar(member, values[0], "iso8601")
        elif location == "header":
            text = headers.get(wire.lower())
            if text is not None:
                params[name] = _header_value(member, text)
        elif location == "headers":
            prefix = wire.lower()
            found = {k[len(prefix) :]: v for k, v in headers.items() if k.startswith(prefix)}
            if found:
                params[name] = {k: _scalar(member.value, v, "rfc822") for k, v in found.items()}
    for name, member in query_maps:
        rest: dict[str, Any] = {}
        for k, v in query:
            if k in claimed:
                continue
            if member.value.type_name == "list":
                rest.setdefault(k, []).append(_scalar(member.value.member, v, "iso8601"))
            else:
                rest.setdefault(k, _scalar(member.value, v, "iso8601"))
        if rest:
            params[name] = rest
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        if member.type_name == "blob":
            if body:
                params[payload] = body
        elif member.type_name == "string":
            if body:
                try:
                    params[payload] = body.decode("utf-8")
                except UnicodeDecodeError:
                    raise SerializationFailed("The request body is not UTF-8 text.") from None
        elif body.strip():
            doc = _load_json(body)
            if doc != {} or member.metadata.get("document"):  # botocore sends {} for an absent payload
                params[payload] = from_body(member, doc)
        return params
    if body.strip():
        doc = _load_json(body)
        if not isinstance(doc, dict):
            raise SerializationFailed("Start of structure or map found where not expected.")
        names = {k: v for k, v in _json_names(shape).items() if "location" not in shape.members[v].serialization}
        for key, value in doc.items():
            member_name = names.get(key)
            if member_name is not None and value is not None:
                params[member_name] = from_body(shape.members[member_name], value)
    return params


# ---------------------------------------------------------------------------------------------
# Output


def _timestamp_text(value: dt.datetime, fmt: str) -> Any:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if fmt == "iso8601":
        return aware.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if fmt == "rfc822":
        return email.utils.format_datetime(aware.astimezone(dt.UTC), usegmt=True)
    ts = aware.timestamp()
    return int(ts) if ts == int(ts) else round(ts, 3)


def to_body(shape: Shape, value: Any) -> Any:
    """A handler's value as JSON: only the shape's members, under their JSON names; timestamps as
    epoch seconds (or the member's timestampFormat), blobs base64."""
    if value is None:
        return None
    if shape.metadata.get("document"):
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        out: dict[str, Any] = {}
        members = shape.members
        for key, sub in value.items():
            member = members.get(key)
            if member is not None and sub is not None:
                out[member.serialization.get("name", key)] = to_body(member, sub)
        return out
    if t == "list" and isinstance(value, list):
        return [to_body(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: to_body(shape.value, v) for k, v in value.items() if v is not None}
    if t == "timestamp" and isinstance(value, dt.datetime):
        return _timestamp_text(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if t == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _header_text(shape: Shape, value: Any) -> str:
    t = shape.type_name
    if t == "timestamp" and isinstance(value, dt.datetime):
        return str(_timestamp_text(value, shape.serialization.get("timestampFormat", "rfc822")))
    if t == "list" and isinstance(value, list):
        parts = []
        for item in value:
            text = _header_text(shape.member, item)
            if shape.member.type_name == "string" and ('"' in text or "," in text):
                text = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(text)
        return ", ".join(parts)
    if t == "string" and shape.serialization.get("jsonvalue"):
        return base64.b64encode(orjson.dumps(value)).decode("ascii")
    if t == "boolean":
        return "true" if value else "false"
    if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if t == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _latin1(text: str) -> str:
    """Header values travel as latin-1; anything else is sent percent-encoded rather than garbled."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8").decode("latin-1")
    return text


def _split_members(
    shape: Shape, value: Mapping[str, Any], status: int, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """Header- and status-bound members into ``headers``/the status; the rest of ``value``'s members."""
    body: dict[str, Any] = {}
    for name, sub in value.items():
        member = shape.members.get(name)
        if member is None or sub is None:
            continue
        location = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if location == "header":
            if member.type_name == "list" and not sub:
                continue
            headers[wire] = _latin1(_header_text(member, sub))
        elif location == "headers":
            for k, v in sub.items():
                headers[wire + k] = _latin1(str(v))
        elif location == "statusCode":
            status = int(sub)
        elif location in ("uri", "querystring"):
            continue
        else:
            body[name] = sub
    return status, body


def serialize_output(op: OperationModel, result: Mapping[str, Any] | None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an operation's result."""
    status = int(op.http.get("responseCode", 200))
    headers = {"content-type": CONTENT_TYPE}
    shape = op.output_shape
    if shape is None:
        return status, headers, b"{}"
    status, members = _split_members(shape, result or {}, status, headers)
    payload = shape.serialization.get("payload")
    if payload is not None:
        member = shape.members[payload]
        value = members.get(payload)
        if member.type_name == "blob":
            headers["content-type"] = "application/octet-stream"
            return status, headers, bytes(value) if isinstance(value, (bytes, bytearray)) else b""
        if member.type_name == "string":
            headers["content-type"] = "text/plain"
            return status, headers, str(value).encode("utf-8") if value is not None else b""
        return status, headers, orjson.dumps(to_body(member, value) if value is not None else {})
    return status, headers, orjson.dumps(to_body(shape, members))


def serialize_error(spec: ServiceSpec, err: ServiceError) -> tuple[int, dict[str, str], bytes]:
    """An error as botocore's RestJSONParser reads it: the code in ``x-amzn-ErrorType`` and the body's
    ``__type``, the message in ``message`` (``Message`` when the exception shape spells it so), the
    shape's other members where the model binds them (body or headers), the shape's status."""
    code, status = error_code(spec, err)
    headers = {"x-amzn-ErrorType": code, "content-type": CONTENT_TYPE}
    shape = _exception_shape(spec, err.code)
    if shape is None and code != err.code and err.code == "ValidationException":
        # input the model refuses, answered with the service's own shape (models.VALIDATION_CODES):
        # sso-oidc's carries the OAuth error (RFC 6749 §5.2) as its other errors do
        shape = _exception_shape(spec, code)
        if shape is not None and "error" in shape.members:
            err = type(err)(err.message, error="invalid_request", error_description=err.message)
    message_key = (
        "Message" if shape is not None and "Message" in shape.members and "message" not in shape.members else "message"
    )
    body: dict[str, Any] = {"__type": code}
    if err.message or message_key == "message":
        body[message_key] = err.message
    fields = {k: v for k, v in err.fields.items() if v is not None}
    if shape is None:
        body.update(fields)
    else:
        _, members = _split_members(shape, fields, status, headers)
        converted = to_body(shape, members)
        body.update(converted)
        body.update({k: v for k, v in fields.items() if k not in shape.members})
    return status, headers, orjson.dumps(body)


def _exception_shape(spec: ServiceSpec, name: str) -> Shape | None:
    if spec.error_wire(name) is None:
        return None
    return spec.model.shape_for(name)
