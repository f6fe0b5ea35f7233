"""cognito-sync errors: one class per exception shape of the botocore model (code = shape name; the
protocol layer takes the wire code and HTTP status from the model)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class AlreadyStreamedException(ServiceError):
    code = "AlreadyStreamedException"


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"


class DuplicateRequestException(ServiceError):
    code = "DuplicateRequestException"


class InternalErrorException(ServiceError):
    code = "InternalErrorException"
    status = 500
    sender_fault = False


class InvalidConfigurationException(ServiceError):
    code = "InvalidConfigurationException"


class InvalidLambdaFunctionOutputException(ServiceError):
    code = "InvalidLambdaFunctionOutputException"


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


class LambdaThrottledException(ServiceError):
    code = "LambdaThrottledException"
    status = 429


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class NotAuthorizedException(ServiceError):
    code = "NotAuthorizedException"
    status = 403


class ResourceConflictException(ServiceError):
    code = "ResourceConflictException"
    status = 409


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"
    status = 404


class TooManyRequestsException(ServiceError):
    code = "TooManyRequestsException"
    status = 429
