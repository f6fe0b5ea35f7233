"""cognito-identity errors: one class per exception shape of the botocore model (code = shape name;
the protocol layer takes the wire code and HTTP status from the model)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"


class DeveloperUserAlreadyRegisteredException(ServiceError):
    code = "DeveloperUserAlreadyRegisteredException"


class ExternalServiceException(ServiceError):
    code = "ExternalServiceException"


class InternalErrorException(ServiceError):
    code = "InternalErrorException"


class InvalidIdentityPoolConfigurationException(ServiceError):
    code = "InvalidIdentityPoolConfigurationException"


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class NotAuthorizedException(ServiceError):
    code = "NotAuthorizedException"


class ResourceConflictException(ServiceError):
    code = "ResourceConflictException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class TooManyRequestsException(ServiceError):
    code = "TooManyRequestsException"


BAD_ROLE_CONFIG = "Invalid identity pool configuration. Check assigned IAM roles for this pool."
LOGINS_MISMATCH = "Logins don't match. Please include at least one valid login for this identity or identity pool."
