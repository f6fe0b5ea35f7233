"""awsJson 1.1 (``X-Amz-Target: <prefix>.<Operation>``): parse inputs, serialize outputs and errors.

Wire facts: Smithy "AWS JSON 1.1 protocol" — body is the input structure as JSON, timestamps are
epoch seconds, blobs base64, errors are ``{"__type": <shape name>, "message": ...}``.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from botocore.model import OperationModel

from ostiary import jsonlimits
from ostiary.protocol.errors import SerializationFailed, ServiceError
from ostiary.protocol.models import ServiceSpec, from_json, to_json

CONTENT_TYPE = "application/x-amz-json-1.1"


def parse_input(op: OperationModel, body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = jsonlimits.loads(body)
    except jsonlimits.TooDeep as err:
        raise SerializationFailed(str(err)) from None
    except (ValueError, UnicodeDecodeError):
        raise SerializationFailed("Start of structure or map found where not expected.") from None
    if not isinstance(data, dict):
        raise SerializationFailed("Start of structure or map found where not expected.")
    shape = op.input_shape
    if shape is None:
        return {}
    result: dict[str, Any] = from_json(shape, data)
    return result


def serialize_output(op: OperationModel, result: dict[str, Any] | None) -> bytes:
    shape = op.output_shape
    doc = to_json(shape, result or {}) if shape is not None else {}
    return orjson.dumps(doc)


def error_code(spec: ServiceSpec, err: ServiceError) -> tuple[str, int]:
    wire = spec.error_wire(err.code)
    if wire is not None:
        return err.code, wire[1]
    if err.code == "ValidationException":
        return spec.validation_error_code, 400
    if err.code == "InternalFailure":
        return spec.internal_error_code, 500
    return err.wire_code("json")


def serialize_error(spec: ServiceSpec, err: ServiceError) -> tuple[int, dict[str, str], bytes]:
    code, status = error_code(spec, err)
    body: dict[str, Any] = {"__type": code, "message": err.message}
    for k, v in err.fields.items():
        body[k] = v
    headers = {"x-amzn-ErrorType": code, "content-type": CONTENT_TYPE}
    return status, headers, json.dumps(body).encode()
