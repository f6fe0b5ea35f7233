"""Protocol errors: one root, each AWS error a subclass carrying its code and HTTP status.

Service-specific errors name an exception shape of the botocore model (``code`` is the shape name);
the protocol layer takes the wire code and status from the model, so they cannot drift from AWS.
Generic errors (authentication, validation, unknown operation) are not in the models and differ by
protocol: they list their code and status per protocol in ``protocol_codes``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ServiceError(Exception):
    """Root of every error that is answered to a client."""

    code: ClassVar[str] = "InternalFailure"
    status: ClassVar[int] = 400
    sender_fault: ClassVar[bool] = True
    # protocol ("json" | "query") -> (code, status); overrides code/status for that protocol
    protocol_codes: ClassVar[dict[str, tuple[str, int]]] = {}

    def __init__(self, message: str = "", **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def wire_code(self, protocol: str) -> tuple[str, int]:
        return self.protocol_codes.get(protocol, (self.code, self.status))


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500
    sender_fault = False


class ValidationFailed(ServiceError):
    """Input did not satisfy its shape. JSON services answer their own validation code."""

    code = "ValidationException"
    protocol_codes = {"query": ("ValidationError", 400)}


class SerializationFailed(ServiceError):
    code = "SerializationException"


class UnknownOperation(ServiceError):
    code = "UnknownOperationException"
    protocol_codes = {"query": ("InvalidAction", 400)}


class NotImplementedOperation(ServiceError):
    """An operation that is in the model but not built yet (never a fake success)."""

    code = "NotImplementedException"
    status = 501
    sender_fault = False
    protocol_codes = {"query": ("NotImplemented", 501)}


class MissingAuthenticationToken(ServiceError):
    code = "MissingAuthenticationTokenException"
    status = 400
    protocol_codes = {"query": ("MissingAuthenticationToken", 403)}


class IncompleteSignature(ServiceError):
    code = "IncompleteSignatureException"
    status = 400
    protocol_codes = {"query": ("IncompleteSignature", 403)}


class UnrecognizedClient(ServiceError):
    code = "UnrecognizedClientException"
    status = 400
    protocol_codes = {"query": ("InvalidClientTokenId", 403)}


class InvalidSignature(ServiceError):
    code = "InvalidSignatureException"
    status = 400
    protocol_codes = {"query": ("SignatureDoesNotMatch", 403)}


class ExpiredToken(ServiceError):
    """Expired temporary credentials (not the model's ExpiredTokenException, which is about web
    identity tokens): ExpiredToken / 403 in query services, ExpiredTokenException / 400 in JSON ones."""

    code = "ExpiredToken"
    status = 403
    protocol_codes = {"json": ("ExpiredTokenException", 400)}


class AccessDenied(ServiceError):
    code = "AccessDeniedException"
    status = 400
    protocol_codes = {"query": ("AccessDenied", 403)}


class Throttling(ServiceError):
    code = "ThrottlingException"
    status = 400
    protocol_codes = {"query": ("Throttling", 400)}


class RequestEntityTooLarge(ServiceError):
    """A request body over the configured limit (``max_body_bytes``). The services Ostiary speaks
    declare no such error; AWS models that do answer HTTP 413 (iot-data's
    RequestEntityTooLargeException, Lambda's RequestTooLargeException)."""

    code = "RequestEntityTooLargeException"
    status = 413
    protocol_codes = {"query": ("RequestEntityTooLarge", 413)}
