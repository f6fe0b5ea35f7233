"""AWS query protocol (STS, IAM): flattened form parameters in, XML out.

Wire facts: Smithy "AWS query protocol" — ``Action``/``Version`` form fields, lists as
``Name.member.N``, maps as ``Name.entry.N.key/value``; responses wrap the output in
``<OpResponse><OpResult>`` with ``<ResponseMetadata><RequestId>``; errors are
``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Any
from xml.sax.saxutils import escape

from botocore.model import OperationModel, Shape

from ostiary.protocol.errors import ServiceError, ValidationFailed
from ostiary.protocol.models import ServiceSpec, parse_timestamp

CONTENT_TYPE = "text/xml"


# No member of these services' inputs sits deeper than this many dots (``A.member.1.B.entry.2.value``
# is 6); a longer key names nothing and would only cost work, and list indexes have at most 9 digits.
MAX_KEY_DOTS = 32
MAX_INDEX_DIGITS = 9


class _Params:
    """The request's fields, indexed once: which dotted prefixes exist and which list indexes each
    has, so reading a shape costs the same whatever the number of fields (no rescans)."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.values: dict[str, str] = {}
        for k, v in pairs:
            self.values.setdefault(k, v)
        self.errors: list[str] = []
        self.prefixes: set[str] = set()
        self.index: dict[str, set[int]] = {}
        for key in self.values:
            parts = key.split(".", MAX_KEY_DOTS + 1)
            if len(parts) > MAX_KEY_DOTS + 1:
                continue  # names no member
            prefix = parts[0]
            for part in parts[1:]:
                self.prefixes.add(prefix)
                if part.isascii() and part.isdigit() and len(part) <= MAX_INDEX_DIGITS:
                    self.index.setdefault(prefix, set()).add(int(part))
                prefix = f"{prefix}.{part}"

    def has_prefix(self, prefix: str) -> bool:
        return prefix in self.values or prefix in self.prefixes

    def indices(self, prefix: str) -> list[int]:
        return sorted(self.index.get(prefix, ()))


def _member_name(shape: Shape, default: str) -> str:
    name = shape.serialization.get("name")
    return str(name) if name else default


class _Plan:
    """What reading and writing one shape needs from the model, worked out once per shape (the
    service models are loaded once per process): its type, its members' wire names, its list's or
    map's entry names."""

    __slots__ = ("flattened", "key", "key_name", "member", "members", "type_name", "value", "value_name")

    def __init__(self, shape: Shape) -> None:
        self.type_name: str = shape.type_name
        self.flattened = bool(shape.serialization.get("flattened"))
        # structure: (member name, wire name, member shape, the member's name in a validation path)
        self.members: list[tuple[str, str, Shape, str]] = []
        self.member: Shape | None = None
        self.key: Shape | None = None
        self.value: Shape | None = None
        self.key_name = self.value_name = ""
        if self.type_name == "structure":
            self.members = [
                (name, _member_name(member, name), member, f"{name[:1].lower()}{name[1:]}")
                for name, member in shape.members.items()
            ]
        elif self.type_name == "list":
            self.member = shape.member
            self.key_name = _member_name(shape.member, "member")  # a list's entry name
        elif self.type_name == "map":
            self.key, self.value = shape.key, shape.value
            self.key_name = _member_name(shape.key, "key")
            self.value_name = _member_name(shape.value, "value")


_PLANS: dict[int, tuple[Shape, _Plan]] = {}


def _plan(shape: Shape) -> _Plan:
    found = _PLANS.get(id(shape))
    if found is not None and found[0] is shape:
        return found[1]
    plan = _Plan(shape)
    _PLANS[id(shape)] = (shape, plan)  # the shape is kept with it: its id is never reused meanwhile
    return plan


def _read(p: _Params, shape: Shape, prefix: str, path: str) -> Any:
    plan = _plan(shape)
    t = plan.type_name
    if t == "structure":
        out: dict[str, Any] = {}
        for name, wire, member, path_name in plan.members:
            key = f"{prefix}.{wire}" if prefix else wire
            if p.has_prefix(key):
                out[name] = _read(p, member, key, f"{path}.{path_name}" if path else path_name)
        return out
    if t == "list":
        assert plan.member is not None
        list_prefix = prefix if plan.flattened else f"{prefix}.{plan.key_name}"
        indices = p.indices(list_prefix)
        if not indices and p.values.get(prefix) == "":
            return []
        return [_read(p, plan.member, f"{list_prefix}.{i}", f"{path}.{n}.member") for n, i in enumerate(indices, 1)]
    if t == "map":
        assert plan.value is not None
        entry_prefix = prefix if plan.flattened else f"{prefix}.entry"
        result: dict[str, Any] = {}
        for i in p.indices(entry_prefix):
            k = p.values.get(f"{entry_prefix}.{i}.{plan.key_name}")
            if k is None:
                continue
            result[k] = _read(p, plan.value, f"{entry_prefix}.{i}.{plan.value_name}", path)
        return result
    raw = p.values.get(prefix)
    if raw is None:
        return None
    return _scalar(p, shape, raw, path)


def _scalar(p: _Params, shape: Shape, raw: str, path: str) -> Any:
    t = shape.type_name
    bad = f"Value '{raw[:200]}' at '{path}' failed to satisfy constraint: Member must be of type {t}"
    if t in ("integer", "long"):
        try:
            return int(raw)
        except ValueError:
            p.errors.append(bad)
            return None
    if t in ("float", "double"):
        try:
            return float(raw)
        except ValueError:
            p.errors.append(bad)
            return None
    if t == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        p.errors.append(bad)
        return None
    if t == "timestamp":
        parsed = parse_timestamp(raw)
        if parsed is None:
            p.errors.append(bad)
        return parsed
    if t == "blob":
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            p.errors.append(bad)
            return None
    return raw


def parse_input(op: OperationModel, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    shape = op.input_shape
    if shape is None:
        return {}
    p = _Params([(k, v) for k, v in pairs if k not in ("Action", "Version")])
    result: dict[str, Any] = _read(p, shape, "", "")
    if p.errors:
        n = len(p.errors)
        raise ValidationFailed(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(p.errors))
    cleaned: dict[str, Any] = _drop_none(result)
    return cleaned


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# XML output


def _iso(value: dt.datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(shape: Shape, value: Any, name: str, out: list[str]) -> None:
    plan = _plan(shape)
    t = plan.type_name
    if t == "structure":
        out.append(f"<{name}>")
        _members(plan, value, out)
        out.append(f"</{name}>")
    elif t == "list":
        assert plan.member is not None
        if plan.flattened:
            for item in value:
                _xml(plan.member, item, name, out)
        else:
            out.append(f"<{name}>")
            for item in value:
                _xml(plan.member, item, plan.key_name, out)
            out.append(f"</{name}>")
    elif t == "map":
        assert plan.value is not None
        key_name, value_name = plan.key_name, plan.value_name
        out.append(f"<{name}>")
        for k, v in value.items():
            out.append(f"<entry><{key_name}>{escape(str(k))}</{key_name}>")
            _xml(plan.value, v, value_name, out)
            out.append("</entry>")
        out.append(f"</{name}>")
    elif t == "string" and type(value) is str:
        out.append(f"<{name}>{escape(value)}</{name}>")
    else:
        out.append(f"<{name}>{escape(_text(shape, value))}</{name}>")


def _text(shape: Shape, value: Any) -> str:
    t = shape.type_name
    if t == "boolean":
        return "true" if value else "false"
    if t == "timestamp" and isinstance(value, dt.datetime):
        return _iso(value)
    if t == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _members(plan: _Plan, value: dict[str, Any], out: list[str]) -> None:
    for name, wire, member, _path in plan.members:
        v = value.get(name)
        if v is None:
            continue
        _xml(member, v, wire, out)


def serialize_output(spec: ServiceSpec, op: OperationModel, result: dict[str, Any] | None, request_id: str) -> bytes:
    out = [f'<{op.name}Response xmlns="{spec.xml_namespace}">']
    shape = op.output_shape
    if shape is not None:
        wrapper = shape.serialization.get("resultWrapper")
        out.append(f"<{wrapper or op.name + 'Result'}>")
        _members(_plan(shape), result or {}, out)
        out.append(f"</{wrapper or op.name + 'Result'}>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    out.append(f"</{op.name}Response>")
    return "".join(out).encode()


def error_code(spec: ServiceSpec, err: ServiceError) -> tuple[str, int, bool]:
    wire = spec.error_wire(err.code)
    if wire is not None:
        return wire
    if err.code == "InternalFailure" and spec.name == "iam":
        return "ServiceFailure", 500, False
    code, status = err.wire_code("query")
    return code, status, err.sender_fault


def serialize_error(spec: ServiceSpec | None, err: ServiceError, request_id: str) -> tuple[int, dict[str, str], bytes]:
    if spec is None:
        code, status = err.wire_code("query")
        sender, ns = err.sender_fault, "https://sts.amazonaws.com/doc/2011-06-15/"
    else:
        code, status, sender = error_code(spec, err)
        ns = spec.xml_namespace
    body = (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>{"Sender" if sender else "Receiver"}</Type>'
        f"<Code>{escape(code)}</Code>"
        # an error AWS answers without a message (IAM's ReportNotPresent) has no Message element
        + (f"<Message>{escape(err.message)}</Message>" if err.message else "")
        + "</Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, {"content-type": CONTENT_TYPE}, body.encode()
