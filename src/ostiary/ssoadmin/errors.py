"""sso-admin errors: one class per exception shape of the botocore model (code = shape name; the
protocol layer takes the wire code and HTTP status from the model). identitystore's model has the
same seven shapes, so ``ostiary.identitystore`` uses these classes too."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class ConflictException(ServiceError):
    code = "ConflictException"


class InternalServerException(ServiceError):
    code = "InternalServerException"
    status = 500
    sender_fault = False


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"


class ThrottlingException(ServiceError):
    code = "ThrottlingException"


class ValidationException(ServiceError):
    code = "ValidationException"
