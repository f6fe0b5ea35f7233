"""cognito-idp errors: one class per exception shape of the botocore model (code = shape name).

The protocol layer takes each error's wire code and HTTP status from the model;
tests/protocol/test_errors.py checks that every class here names an exception shape that exists.
"""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class AliasExistsException(ServiceError):
    code = "AliasExistsException"


class CachedCIMDURLDoesNotExistException(ServiceError):
    code = "CachedCIMDURLDoesNotExistException"


class CodeDeliveryFailureException(ServiceError):
    code = "CodeDeliveryFailureException"


class CodeMismatchException(ServiceError):
    code = "CodeMismatchException"


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"


class DeviceKeyExistsException(ServiceError):
    code = "DeviceKeyExistsException"


class DuplicateProviderException(ServiceError):
    code = "DuplicateProviderException"


class EnableSoftwareTokenMFAException(ServiceError):
    code = "EnableSoftwareTokenMFAException"


class ExpiredCodeException(ServiceError):
    code = "ExpiredCodeException"


class FeatureUnavailableInTierException(ServiceError):
    code = "FeatureUnavailableInTierException"


class ForbiddenException(ServiceError):
    code = "ForbiddenException"


class GroupExistsException(ServiceError):
    code = "GroupExistsException"


class InternalErrorException(ServiceError):
    code = "InternalErrorException"


class InternalServerException(ServiceError):
    code = "InternalServerException"


class InvalidEmailRoleAccessPolicyException(ServiceError):
    code = "InvalidEmailRoleAccessPolicyException"


class InvalidLambdaResponseException(ServiceError):
    code = "InvalidLambdaResponseException"


class InvalidOAuthFlowException(ServiceError):
    code = "InvalidOAuthFlowException"


class InvalidParameterException(ServiceError):
    code = "InvalidParameterException"


class InvalidPasswordException(ServiceError):
    code = "InvalidPasswordException"


class InvalidSmsRoleAccessPolicyException(ServiceError):
    code = "InvalidSmsRoleAccessPolicyException"


class InvalidSmsRoleTrustRelationshipException(ServiceError):
    code = "InvalidSmsRoleTrustRelationshipException"


class InvalidUserPoolConfigurationException(ServiceError):
    code = "InvalidUserPoolConfigurationException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class MFAMethodNotFoundException(ServiceError):
    code = "MFAMethodNotFoundException"


class ManagedLoginBrandingExistsException(ServiceError):
    code = "ManagedLoginBrandingExistsException"


class NotAuthorizedException(ServiceError):
    code = "NotAuthorizedException"


class OperationNotEnabledException(ServiceError):
    code = "OperationNotEnabledException"


class PasswordHistoryPolicyViolationException(ServiceError):
    code = "PasswordHistoryPolicyViolationException"


class PasswordResetRequiredException(ServiceError):
    code = "PasswordResetRequiredException"


class PreconditionNotMetException(ServiceError):
    code = "PreconditionNotMetException"


class RefreshTokenReuseException(ServiceError):
    code = "RefreshTokenReuseException"


class ResourceNotFoundException(ServiceError):
    code = "ResourceNotFoundException"


class ScopeDoesNotExistException(ServiceError):
    code = "ScopeDoesNotExistException"


class ServiceQuotaExceededException(ServiceError):
    code = "ServiceQuotaExceededException"


class SoftwareTokenMFANotFoundException(ServiceError):
    code = "SoftwareTokenMFANotFoundException"


class TermsExistsException(ServiceError):
    code = "TermsExistsException"


class TierChangeNotAllowedException(ServiceError):
    code = "TierChangeNotAllowedException"


class TooManyFailedAttemptsException(ServiceError):
    code = "TooManyFailedAttemptsException"


class TooManyRequestsException(ServiceError):
    code = "TooManyRequestsException"


class UnauthorizedException(ServiceError):
    code = "UnauthorizedException"


class UnexpectedLambdaException(ServiceError):
    code = "UnexpectedLambdaException"


class UnsupportedIdentityProviderException(ServiceError):
    code = "UnsupportedIdentityProviderException"


class UnsupportedOperationException(ServiceError):
    code = "UnsupportedOperationException"


class UnsupportedTokenTypeException(ServiceError):
    code = "UnsupportedTokenTypeException"


class UnsupportedUserStateException(ServiceError):
    code = "UnsupportedUserStateException"


class UserImportInProgressException(ServiceError):
    code = "UserImportInProgressException"


class UserLambdaValidationException(ServiceError):
    code = "UserLambdaValidationException"


class UserNotConfirmedException(ServiceError):
    code = "UserNotConfirmedException"


class UserNotFoundException(ServiceError):
    code = "UserNotFoundException"


class UserPoolAddOnNotEnabledException(ServiceError):
    code = "UserPoolAddOnNotEnabledException"


class UserPoolTaggingException(ServiceError):
    code = "UserPoolTaggingException"


class UsernameExistsException(ServiceError):
    code = "UsernameExistsException"


class WebAuthnChallengeNotFoundException(ServiceError):
    code = "WebAuthnChallengeNotFoundException"


class WebAuthnClientMismatchException(ServiceError):
    code = "WebAuthnClientMismatchException"


class WebAuthnConfigurationMissingException(ServiceError):
    code = "WebAuthnConfigurationMissingException"


class WebAuthnCredentialNotSupportedException(ServiceError):
    code = "WebAuthnCredentialNotSupportedException"


class WebAuthnNotEnabledException(ServiceError):
    code = "WebAuthnNotEnabledException"


class WebAuthnOriginNotAllowedException(ServiceError):
    code = "WebAuthnOriginNotAllowedException"


class WebAuthnRelyingPartyMismatchException(ServiceError):
    code = "WebAuthnRelyingPartyMismatchException"
