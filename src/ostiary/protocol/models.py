"""Load botocore's service models once and validate inputs against their shapes.

The models are the specification: operation names, input constraints, error shapes and
anonymous operations all come from ``botocore/data/<service>/<version>/service-2.json``.
Validation messages follow the AWS (Coral) form, e.g.
``1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import regex
from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

# botocore service name -> service id used in Ostiary (same as the botocore name)
SERVICES: tuple[str, ...] = (
    "cognito-idp",
    "cognito-identity",
    "sts",
    "iam",
    "cloudtrail",
    "organizations",
    "identitystore",
    "sso-admin",
    "sso-oidc",  # rest-json (protocol/restjson.py), like the two below
    "sso",
    "cognito-sync",
)

_MAX_REPORTED = 10

# String shapes whose model length and pattern the service itself does not enforce, so the operation
# checks them: cognito-idp's DomainType describes prefix domains only (``myapp``), yet Create/Describe/
# Update/DeleteUserPoolDomain take custom domains as fully-qualified names (``auth.example.com``).
_CHECKED_BY_OPERATION = frozenset({"DomainType"})

# Members whose invalid value the service leaves out of its message ("Value at '<path>' failed to
# satisfy constraint: ..."), stating an enum constraint without its values: a string shape's name, or
# ``<input structure>.<member>`` for one member only. As AWS answered IAM's service-specific
# credential operations (recorded responses: tests/iam/test_aws_recordings.py).
_TERSE = frozenset({"serviceSpecificCredentialId", "UpdateServiceSpecificCredentialRequest.Status"})


@dataclass(frozen=True)
class ServiceSpec:
    """One AWS service as Ostiary serves it."""

    name: str
    model: ServiceModel
    protocol: str
    target_prefix: str
    signing_name: str
    xml_namespace: str
    api_version: str
    anonymous_operations: frozenset[str]
    validation_error_code: str
    internal_error_code: str
    exception_shapes: dict[str, tuple[str, int, bool]]

    def operation(self, name: str) -> OperationModel | None:
        if name not in self.model.operation_names:
            return None
        return _operation_model(self.name, name)

    def error_wire(self, shape_name: str) -> tuple[str, int, bool] | None:
        """(code, HTTP status, sender fault) for an exception shape of this model."""
        return self.exception_shapes.get(shape_name)


@functools.cache
def _loader() -> Loader:
    return Loader()


@functools.cache
def service_model(name: str) -> ServiceModel:
    data = _loader().load_service_model(name, "service-2")
    return ServiceModel(data, service_name=name)


@functools.cache
def _operation_model(service: str, op: str) -> OperationModel:
    return service_model(service).operation_model(op)


# the code of input that breaks the model's constraints, where the service answers a shape of its own
# model: sso-oidc and the portal API (sso) answer InvalidRequestException (sso-oidc's with the OAuth
# ``error`` ``invalid_request``, protocol/restjson.serialize_error), as they do to any bad request
VALIDATION_CODES = {
    "cognito-idp": "InvalidParameterException",
    "sso-oidc": "InvalidRequestException",
    "sso": "InvalidRequestException",
    "cognito-sync": "InvalidParameterException",  # "does not comply with the associated constraints"
}


@functools.cache
def service_spec(name: str) -> ServiceSpec:
    return spec_from_model(name, service_model(name))


def spec_from_model(name: str, model: ServiceModel) -> ServiceSpec:
    """The spec of a service model (one of botocore's, or a test's: tests/protocol/test_fixtures.py)."""
    raw_ops = model._service_description["operations"]
    anonymous = frozenset(
        op
        for op, desc in raw_ops.items()
        if desc.get("authtype") == "none" or "smithy.api#noAuth" in desc.get("auth", [])
    )
    exceptions: dict[str, tuple[str, int, bool]] = {}
    for shape_name, desc in model._shape_resolver._shape_map.items():
        if desc.get("exception"):
            err = desc.get("error", {})
            exceptions[shape_name] = (
                err.get("code", shape_name),
                int(err.get("httpStatusCode", 500 if desc.get("fault") else 400)),
                bool(err.get("senderFault", not desc.get("fault", False))),
            )
    meta = model.metadata
    # The code of input that breaks the model's constraints: cognito-idp answers its own
    # InvalidParameterException; every other JSON service (cognito-identity included, although its
    # model has an InvalidParameterException for errors of meaning) answers the framework's
    # ValidationException, as AWS does (query services: ValidationError, protocol/errors.py).
    validation = VALIDATION_CODES.get(name, "ValidationException")
    internal = "InternalErrorException" if "InternalErrorException" in exceptions else "InternalFailure"
    return ServiceSpec(
        name=name,
        model=model,
        protocol=meta["protocol"],
        target_prefix=meta.get("targetPrefix", ""),
        signing_name=meta.get("signingName", meta["endpointPrefix"]),
        xml_namespace=meta.get("xmlNamespace", ""),
        api_version=meta["apiVersion"],
        anonymous_operations=anonymous,
        validation_error_code=validation,
        internal_error_code=internal,
        exception_shapes=exceptions,
    )


def all_specs() -> dict[str, ServiceSpec]:
    return {name: service_spec(name) for name in SERVICES}


# ---------------------------------------------------------------------------------------------
# Validation


@functools.cache
def _compiled(pattern: str) -> Any:
    # Java's \w and \d are ASCII; keep that unless the pattern needs Unicode properties. The
    # standard library's engine where it reads the pattern (it is several times faster than
    # ``regex`` on long values such as tokens: 2 µs against 15 µs for a 1.8 KB access token);
    # ``regex`` for what only it knows (\p{...} classes).
    if "\\p{" not in pattern:
        try:
            return re.compile(pattern, re.ASCII)
        except re.error:
            pass
    try:
        return regex.compile(pattern, 0 if "\\p{" in pattern else regex.ASCII)
    except regex.error:
        return None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def _show(value: Any, sensitive: bool) -> str:
    if value is None:
        return "null"
    if sensitive:
        return "'***Sensitive Data Redacted***'"
    if isinstance(value, bool):
        return "'" + str(value).lower() + "'"
    if isinstance(value, (list, dict)):
        return "'" + str(value)[:200] + "'"
    return "'" + str(value)[:200] + "'"


class _Validator:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, value: Any, path: str, constraint: str, sensitive: bool, terse: bool = False) -> None:
        shown = "" if terse else f" {_show(value, sensitive)}"
        self.errors.append(f"Value{shown} at '{path}' failed to satisfy constraint: {constraint}")

    def check(self, shape: Shape, value: Any, path: str, sensitive: bool = False, terse: bool = False) -> None:
        sensitive = sensitive or bool(shape.serialization.get("sensitive") or shape.metadata.get("sensitive"))
        t = shape.type_name
        meta = shape.metadata
        if meta.get("document"):  # a document (identitystore's AttributeValue): any JSON value
            return
        if shape.serialization.get("jsonvalue"):  # a rest-json header of base64 JSON: any JSON value
            return
        if t == "structure":
            if not isinstance(value, dict):
                self.fail(value, path, "Member must be a structure", sensitive)
                return
            members = shape.members
            for req in shape.required_members:
                if value.get(req) is None:
                    self.errors.append(
                        f"Value null at '{self._join(path, req)}' failed to satisfy constraint: Member must not be null"
                    )
            for key, sub in value.items():
                if key in members and sub is not None:
                    member_terse = f"{shape.name}.{key}" in _TERSE
                    self.check(members[key], sub, self._join(path, key), sensitive, member_terse)
            if meta.get("union"):
                set_members = [k for k, v in value.items() if k in members and v is not None]
                if len(set_members) != 1:
                    self.fail(None, path, "Member must have exactly one member set", sensitive)
            return
        if t == "list":
            if not isinstance(value, list):
                self.fail(value, path, "Member must be a list", sensitive)
                return
            self._length(len(value), value, path, meta, sensitive)
            for i, item in enumerate(value, 1):
                if item is None:
                    self.fail(None, f"{path}.{i}.member", "Member must not be null", sensitive)
                else:
                    self.check(shape.member, item, f"{path}.{i}.member", sensitive)
            return
        if t == "map":
            if not isinstance(value, dict):
                self.fail(value, path, "Member must be a map", sensitive)
                return
            self._length(len(value), value, path, meta, sensitive)
            for k, v in value.items():
                self.check(shape.key, k, path, sensitive)
                if v is None:
                    self.fail(None, path, "Map value must not be null", sensitive)
                else:
                    self.check(shape.value, v, path, sensitive)
            return
        if t == "string":
            if not isinstance(value, str):
                self.fail(value, path, "Member must be of type string", sensitive)
                return
            if shape.name in _CHECKED_BY_OPERATION:
                return
            terse = terse or shape.name in _TERSE
            self._length(len(value), value, path, meta, sensitive, terse)
            enum = meta.get("enum")
            if enum and value not in enum:
                values = "" if terse else f": [{', '.join(enum)}]"
                self.fail(value, path, f"Member must satisfy enum value set{values}", sensitive, terse)
            pattern = meta.get("pattern")
            if pattern:
                compiled = _compiled(pattern)
                if compiled is not None and compiled.fullmatch(value) is None:
                    constraint = f"Member must satisfy regular expression pattern: {pattern}"
                    self.fail(value, path, constraint, sensitive, terse)
            return
        if t in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                self.fail(value, path, f"Member must be of type {t}", sensitive)
                return
            limit = 2**31 if t == "integer" else 2**63
            if not -limit <= value < limit:
                self.fail(value, path, f"Member must be of type {t}", sensitive)
                return
            self._range(value, path, meta, sensitive)
            return
        if t in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self.fail(value, path, f"Member must be of type {t}", sensitive)
                return
            self._range(value, path, meta, sensitive)
            return
        if t == "boolean":
            if not isinstance(value, bool):
                self.fail(value, path, "Member must be of type boolean", sensitive)
            return
        if t == "timestamp":
            if not isinstance(value, dt.datetime):
                self.fail(value, path, "Member must be a timestamp", sensitive)
            return
        if t == "blob":
            if not isinstance(value, (bytes, bytearray)):
                self.fail(value, path, "Member must be a blob", sensitive)
                return
            self._length(len(value), value, path, meta, sensitive)
            return
        # document and anything unforeseen: accepted as is

    @staticmethod
    def _join(path: str, member: str) -> str:
        return f"{path}.{_camel(member)}" if path else _camel(member)

    def _length(
        self, n: int, value: Any, path: str, meta: dict[str, Any], sensitive: bool, terse: bool = False
    ) -> None:
        if "min" in meta and n < meta["min"]:
            self.fail(value, path, f"Member must have length greater than or equal to {meta['min']}", sensitive, terse)
        if "max" in meta and n > meta["max"]:
            self.fail(value, path, f"Member must have length less than or equal to {meta['max']}", sensitive, terse)

    def _range(self, n: float, path: str, meta: dict[str, Any], sensitive: bool) -> None:
        if "min" in meta and n < meta["min"]:
            self.fail(n, path, f"Member must have value greater than or equal to {meta['min']}", sensitive)
        if "max" in meta and n > meta["max"]:
            self.fail(n, path, f"Member must have value less than or equal to {meta['max']}", sensitive)


def validate(shape: Shape | None, value: dict[str, Any]) -> str | None:
    """Check a parsed input against its shape; the AWS-style message, or None when valid."""
    if shape is None:
        return None
    v = _Validator()
    v.check(shape, value, "")
    if not v.errors:
        return None
    n = len(v.errors)
    shown = v.errors[:_MAX_REPORTED]
    head = f"{n} validation error{'s' if n > 1 else ''} detected: "
    return head + "; ".join(shown)


# ---------------------------------------------------------------------------------------------
# JSON-protocol value conversion (shared by json11; rest-json will reuse it)


class ShapeTypeError(ValueError):
    """A JSON value that cannot be read as its shape's type."""


def from_json(shape: Shape, value: Any) -> Any:
    """JSON document value -> Python value (timestamps to datetime, blobs to bytes)."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        members = shape.members
        return {k: (from_json(members[k], v) if k in members else v) for k, v in value.items()}
    if t == "list" and isinstance(value, list):
        return [from_json(shape.member, v) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: from_json(shape.value, v) for k, v in value.items()}
    if t == "timestamp":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                return dt.datetime.fromtimestamp(value, tz=dt.UTC)
            except (OverflowError, OSError, ValueError):
                return value
        if isinstance(value, str):
            parsed = parse_timestamp(value)
            return parsed if parsed is not None else value
        return value
    if t == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value
    if t in ("float", "double") and isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    return value


def _timestamp_out(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        ts = value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
        return round(ts, 3)
    return value


def _blob_out(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


class _Converter:
    """Output conversion for one shape, built once. Only subtrees that hold timestamps or blobs are
    walked value by value; there, structures keep only their members and drop None. A subtree of
    plain JSON values (strings, numbers, booleans, lists and maps of them) passes through as is."""

    def __init__(self) -> None:
        self.fn: Any = None  # Callable[[Any], Any] | None (None: the value passes as is)

    def __call__(self, value: Any) -> Any:
        return value if self.fn is None else self.fn(value)


# Keyed by (model, shape name), not by the Shape object: botocore builds a new Shape object at each
# level of a recursive shape (a structure that holds itself), so an object key would never end the
# walk (found by botocore's protocol fixtures, tests/protocol/test_fixtures.py).
_CONVERTERS: dict[tuple[int, str], tuple[Any, _Converter]] = {}


def _key(shape: Shape) -> tuple[int, str]:
    return id(shape._shape_resolver), shape.name


def _needs_conversion(shape: Shape, seen: set[tuple[int, str]]) -> bool:
    t = shape.type_name
    if t in ("timestamp", "blob"):
        return True
    if _key(shape) in seen:
        return False
    seen.add(_key(shape))
    if t == "structure":
        return any(_needs_conversion(m, seen) for m in shape.members.values())
    if t == "list":
        return _needs_conversion(shape.member, seen)
    if t == "map":
        return _needs_conversion(shape.value, seen)
    return False


def _converter(shape: Shape) -> _Converter:
    key = _key(shape)
    hit = _CONVERTERS.get(key)
    if hit is not None:
        return hit[1]
    conv = _Converter()
    # registered before its members are built, so that a recursive member finds it; the model's
    # resolver is kept alive, so its id stays unique
    _CONVERTERS[key] = (shape._shape_resolver, conv)
    t = shape.type_name
    if not _needs_conversion(shape, set()):
        return conv
    if t == "structure":
        subs = {name: _converter(member) for name, member in shape.members.items()}

        def structure(value: Any) -> Any:
            out: dict[str, Any] = {}
            for k, v in value.items():
                if v is not None:
                    sub = subs.get(k)
                    if sub is not None:
                        out[k] = v if sub.fn is None else sub.fn(v)
            return out

        conv.fn = structure
    elif t == "list":
        member = _converter(shape.member)
        conv.fn = lambda value: value if member.fn is None else [member.fn(v) for v in value]
    elif t == "map":
        val = _converter(shape.value)
        conv.fn = lambda value: value if val.fn is None else {k: val.fn(v) for k, v in value.items()}
    elif t == "timestamp":
        conv.fn = _timestamp_out
    elif t == "blob":
        conv.fn = _blob_out
    return conv


def to_json(shape: Shape | None, value: Any) -> Any:
    """Python value -> JSON document value, keeping only members the output shape defines."""
    if value is None:
        return None
    if shape is None:
        return value
    return _converter(shape)(value)


def parse_timestamp(text: str) -> dt.datetime | None:
    """ISO 8601 (with Z or offset) or epoch seconds as text."""
    try:
        return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
    except (ValueError, OverflowError, OSError):
        pass
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
