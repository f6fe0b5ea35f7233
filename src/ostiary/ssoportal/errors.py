"""sso (the portal API) errors: one class per exception shape of the botocore model."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class InvalidRequestException(ServiceError):
    code = "InvalidRequestException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"
    status = 404


class TooManyRequestsException(ServiceError):
    code = "TooManyRequestsException"
    status = 429


class UnauthorizedException(ServiceError):
    code = "UnauthorizedException"
    status = 401
