"""Every error class names what the botocore models say it names (review F11).

Service errors (userpools, identitypools, sts, iam) name an exception shape of their service's model:
the protocol layer takes the wire code, HTTP status and fault from that shape, so a class whose code
names no shape would be answered with a made-up code. Generic errors (protocol/errors.py) are in no
model: they must be answered with the code and status they declare, in every service.
"""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType

import pytest

from ostiary.protocol import errors as protocol_errors
from ostiary.protocol import json11, query
from ostiary.protocol.errors import InternalFailure, ServiceError, ValidationFailed
from ostiary.protocol.models import ServiceSpec, all_specs, service_spec

SERVICE_ERRORS = {
    "cognito-idp": "ostiary.userpools.errors",
    "cognito-identity": "ostiary.identitypools.errors",
    "sts": "ostiary.sts.errors",
    "iam": "ostiary.iam.errors",
    "cloudtrail": "ostiary.audit.errors",
    "organizations": "ostiary.organizations.errors",
}

# Errors a service answers although its model lists no such shape: (service, class) -> why. These
# carry their own code and status.
NOT_IN_MODEL = {
    ("sts", "InvalidParameterValue"): "STS answers InvalidParameterValue / 400 for session tags it refuses",
    ("sts", "NoSuchPolicy"): "a session's PolicyArns naming no policy: IAM's NoSuchEntity / 404",
}


def _classes(module: ModuleType) -> dict[str, type[ServiceError]]:
    return {
        name: cls
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and issubclass(cls, ServiceError) and cls.__module__ == module.__name__
    }


@pytest.mark.parametrize("service", sorted(SERVICE_ERRORS))
def test_service_errors_name_exception_shapes(service: str) -> None:
    module = importlib.import_module(SERVICE_ERRORS[service])
    spec = service_spec(service)
    classes = _classes(module)
    assert classes
    for name, cls in classes.items():
        if (service, name) in NOT_IN_MODEL:
            assert spec.error_wire(cls.code) is None, f"{name} is in the model now: drop it from NOT_IN_MODEL"
            assert "status" in vars(cls), f"{name}: an error outside the model declares its status"
            continue
        assert spec.error_wire(cls.code) is not None, f"{module.__name__}.{name}: no exception shape {cls.code!r}"
        # the model decides the status and the fault: a value set on the class would never be read
        own = {k for k in ("status", "sender_fault", "protocol_codes") if k in vars(cls)}
        assert not own, f"{module.__name__}.{name} sets {own}, which the model overrides"


def test_not_in_model_names_classes() -> None:
    for service, name in NOT_IN_MODEL:
        assert name in _classes(importlib.import_module(SERVICE_ERRORS[service]))


def _answered(spec: ServiceSpec, err: ServiceError) -> tuple[str, int]:
    if spec.protocol == "json":
        return json11.error_code(spec, err)
    code, status, _ = query.error_code(spec, err)
    return code, status


@pytest.mark.parametrize("service", sorted(SERVICE_ERRORS))
def test_generic_errors_are_answered_as_declared(service: str) -> None:
    spec = all_specs()[service]
    protocol = "json" if spec.protocol == "json" else "query"
    generic = {n: c for n, c in _classes(protocol_errors).items() if c is not ServiceError}
    assert generic
    for name, cls in generic.items():
        err = cls("message")
        if cls is ValidationFailed and protocol == "json":
            expected = (spec.validation_error_code, 400)  # the service's own validation code
        elif cls is InternalFailure and spec.internal_error_code != "InternalFailure":
            expected = (spec.internal_error_code, 500)  # cognito's InternalErrorException
        elif cls is InternalFailure and service == "iam":
            expected = ("ServiceFailure", 500)
        else:
            expected = err.wire_code(protocol)
        assert _answered(spec, err) == expected, name
        # a generic code that is also a shape of the model must agree with it
        wire = spec.error_wire(cls.code)
        if wire is not None:
            assert (wire[0], wire[1]) == expected, name
