"""protocol/models.py (the validator, the service specs, JSON value conversion) and protocol/registry.py,
in process against botocore's real service models."""

from __future__ import annotations

import datetime as dt

import pytest

from ostiary.protocol import registry
from ostiary.protocol.models import from_json, parse_timestamp, service_spec, to_json, validate


def _input(service: str, operation: str):  # type: ignore[no-untyped-def]
    op = service_spec(service).operation(operation)
    assert op is not None
    return op.input_shape


# ---------------------------------------------------------------------------------------------
# Validation messages, in AWS's (Coral's) words


def test_valid_input_has_no_message() -> None:
    assert validate(_input("cognito-idp", "DescribeUserPool"), {"UserPoolId": "us-east-1_abc"}) is None
    assert validate(None, {"anything": 1}) is None


def test_required_member() -> None:
    assert validate(_input("cognito-idp", "DescribeUserPool"), {}) == (
        "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null"
    )


def test_length_and_pattern_both_reported() -> None:
    value = "x" * 56
    assert validate(_input("cognito-idp", "DescribeUserPool"), {"UserPoolId": value}) == (
        f"2 validation errors detected: Value '{value}' at 'userPoolId' failed to satisfy constraint: Member must"
        f" have length less than or equal to 55; Value '{value}' at 'userPoolId' failed to satisfy constraint:"
        " Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+"
    )


def test_sensitive_value_is_redacted() -> None:
    params = {"UserPoolId": "us-east-1_abc", "Username": "u", "Password": ""}
    assert validate(_input("cognito-idp", "AdminSetUserPassword"), params) == (
        "1 validation error detected: Value '***Sensitive Data Redacted***' at 'password' failed to satisfy"
        " constraint: Member must satisfy regular expression pattern: [\\S]+"
    )


def test_type_enum_and_nested_paths() -> None:
    assert validate(_input("cognito-idp", "ListUsers"), {"UserPoolId": "us-east-1_abc", "Limit": "3"}) == (
        "1 validation error detected: Value '3' at 'limit' failed to satisfy constraint: Member must be of type integer"
    )
    assert validate(_input("cognito-idp", "CreateUserPool"), {"PoolName": "p", "MfaConfiguration": "SOMETIMES"}) == (
        "1 validation error detected: Value 'SOMETIMES' at 'mfaConfiguration' failed to satisfy constraint: Member"
        " must satisfy enum value set: [OFF, ON, OPTIONAL]"
    )
    params = {"UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributeNames": ["a", None]}
    assert validate(_input("cognito-idp", "AdminDeleteUserAttributes"), params) == (
        "1 validation error detected: Value null at 'userAttributeNames.2.member' failed to satisfy constraint:"
        " Member must not be null"
    )
    assert validate(_input("cognito-idp", "CreateUserPool"), {"PoolName": "p", "UserPoolTags": {"k": None}}) == (
        "1 validation error detected: Value null at 'userPoolTags' failed to satisfy constraint: Map value must not"
        " be null"
    )


def test_terse_members_leave_the_value_out() -> None:
    params = {"ServiceSpecificCredentialId": "bad", "Status": "On"}
    assert validate(_input("iam", "UpdateServiceSpecificCredential"), params) == (
        "2 validation errors detected: Value at 'serviceSpecificCredentialId' failed to satisfy constraint: Member"
        " must have length greater than or equal to 20; Value at 'status' failed to satisfy constraint: Member must"
        " satisfy enum value set"
    )


def test_at_most_ten_errors_are_listed() -> None:
    names = ["PreSignUp", "PostConfirmation", "PreAuthentication", "PostAuthentication", "DefineAuthChallenge"]
    params = {"PoolName": "p", "LambdaConfig": {name: "x" for name in names} | {"CreateAuthChallenge": "x"}}
    message = validate(_input("cognito-idp", "CreateUserPool"), params)
    assert message is not None
    assert message.startswith("12 validation errors detected: ")
    assert message.count("failed to satisfy constraint") == 10


# ---------------------------------------------------------------------------------------------
# Service specs


def test_service_specs() -> None:
    idp, identity, sts, iam = (service_spec(s) for s in ("cognito-idp", "cognito-identity", "sts", "iam"))
    assert (idp.protocol, idp.target_prefix, idp.signing_name) == (
        "json",
        "AWSCognitoIdentityProviderService",
        "cognito-idp",
    )
    assert (idp.validation_error_code, idp.internal_error_code) == (
        "InvalidParameterException",
        "InternalErrorException",
    )
    assert identity.validation_error_code == "ValidationException"
    assert (iam.protocol, iam.xml_namespace) == ("query", "https://iam.amazonaws.com/doc/2010-05-08/")
    assert iam.internal_error_code == "InternalFailure"
    # wire code and status from the model's error trait; the shape name otherwise
    assert iam.error_wire("NoSuchEntityException") == ("NoSuchEntity", 404, True)
    assert idp.error_wire("UserNotFoundException") == ("UserNotFoundException", 400, True)
    assert idp.error_wire("InternalErrorException") == ("InternalErrorException", 500, False)
    assert idp.error_wire("NoSuchShape") is None
    # anonymous operations from the model's auth traits
    assert {"InitiateAuth", "SignUp", "RespondToAuthChallenge"} <= idp.anonymous_operations
    assert "AdminInitiateAuth" not in idp.anonymous_operations
    assert sts.anonymous_operations == {"AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"}
    assert idp.operation("NoSuchOperation") is None
    assert idp.operation("InitiateAuth") is idp.operation("InitiateAuth")  # built once


# ---------------------------------------------------------------------------------------------
# JSON values


def test_json_values_both_ways() -> None:
    op = service_spec("cognito-idp").operation("AdminGetUser")
    assert op is not None and op.output_shape is not None
    when = dt.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=dt.UTC)
    out = to_json(
        op.output_shape, {"Username": "u", "UserCreateDate": when, "Enabled": True, "Unknown": 1, "MFAOptions": None}
    )
    assert out == {"Username": "u", "UserCreateDate": 1714564800.25, "Enabled": True}
    back = from_json(op.output_shape, out)
    assert back == {"Username": "u", "UserCreateDate": when, "Enabled": True}


def test_parse_timestamp() -> None:
    utc = dt.UTC
    assert parse_timestamp("2024-05-01T12:00:00Z") == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert parse_timestamp("2024-05-01T14:00:00+02:00") == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert parse_timestamp("2024-05-01T12:00:00") == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert parse_timestamp("1714564800") == dt.datetime(2024, 5, 1, 12, tzinfo=utc)
    assert parse_timestamp("yesterday") is None


# ---------------------------------------------------------------------------------------------
# Registry


def test_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_REGISTRY", {})

    @registry.operation("svc", "DoThing")
    def do_thing(ctx: object, params: dict[str, object]) -> None:
        return None

    op = registry.lookup("svc", "DoThing")
    assert op is not None
    assert (op.func, op.action, op.authorize, op.offload, op.resource) == (do_thing, "svc:DoThing", True, False, None)
    assert registry.implemented("svc") == {"DoThing": op}
    assert registry.implemented("other") == {}
    assert registry.lookup("svc", "Other") is None
    with pytest.raises(RuntimeError, match="svc:DoThing registered twice"):
        registry.operation("svc", "DoThing")(do_thing)
