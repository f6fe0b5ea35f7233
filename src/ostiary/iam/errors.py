"""IAM errors: one class per exception shape of the botocore model (the wire code and HTTP status,
e.g. NoSuchEntity / 404, come from the model)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class AccountNotManagementOrDelegatedAdministratorException(ServiceError):
    code = "AccountNotManagementOrDelegatedAdministratorException"


class CallerIsNotManagementAccountException(ServiceError):
    code = "CallerIsNotManagementAccountException"


class ConcurrentModificationException(ServiceError):
    code = "ConcurrentModificationException"


class CredentialReportExpiredException(ServiceError):
    code = "CredentialReportExpiredException"


class CredentialReportNotPresentException(ServiceError):
    code = "CredentialReportNotPresentException"


class CredentialReportNotReadyException(ServiceError):
    code = "CredentialReportNotReadyException"


class DeleteConflictException(ServiceError):
    code = "DeleteConflictException"


class DuplicateCertificateException(ServiceError):
    code = "DuplicateCertificateException"


class DuplicateSSHPublicKeyException(ServiceError):
    code = "DuplicateSSHPublicKeyException"


class EntityAlreadyExistsException(ServiceError):
    code = "EntityAlreadyExistsException"


class EntityTemporarilyUnmodifiableException(ServiceError):
    code = "EntityTemporarilyUnmodifiableException"


class FeatureDisabledException(ServiceError):
    code = "FeatureDisabledException"


class FeatureEnabledException(ServiceError):
    code = "FeatureEnabledException"


class InvalidAuthenticationCodeException(ServiceError):
    code = "InvalidAuthenticationCodeException"


class InvalidCertificateException(ServiceError):
    code = "InvalidCertificateException"


class InvalidInputException(ServiceError):
    code = "InvalidInputException"


class InvalidPublicKeyException(ServiceError):
    code = "InvalidPublicKeyException"


class InvalidUserTypeException(ServiceError):
    code = "InvalidUserTypeException"


class KeyPairMismatchException(ServiceError):
    code = "KeyPairMismatchException"


class LimitExceededException(ServiceError):
    code = "LimitExceededException"


class MalformedCertificateException(ServiceError):
    code = "MalformedCertificateException"


class MalformedPolicyDocumentException(ServiceError):
    code = "MalformedPolicyDocumentException"


class NameConflictException(ServiceError):
    code = "NameConflictException"


class NoSuchEntityException(ServiceError):
    code = "NoSuchEntityException"


class OpenIdIdpCommunicationErrorException(ServiceError):
    code = "OpenIdIdpCommunicationErrorException"


class OrganizationNotFoundException(ServiceError):
    code = "OrganizationNotFoundException"


class OrganizationNotInAllFeaturesModeException(ServiceError):
    code = "OrganizationNotInAllFeaturesModeException"


class PasswordPolicyViolationException(ServiceError):
    code = "PasswordPolicyViolationException"


class PolicyEvaluationException(ServiceError):
    code = "PolicyEvaluationException"


class PolicyNotAttachableException(ServiceError):
    code = "PolicyNotAttachableException"


class ReportGenerationLimitExceededException(ServiceError):
    code = "ReportGenerationLimitExceededException"


class RoleModifiedException(ServiceError):
    code = "RoleModifiedException"


class RoleTemplateDisabledException(ServiceError):
    code = "RoleTemplateDisabledException"


class ServiceAccessNotEnabledException(ServiceError):
    code = "ServiceAccessNotEnabledException"


class ServiceFailureException(ServiceError):
    code = "ServiceFailureException"


class ServiceNotSupportedException(ServiceError):
    code = "ServiceNotSupportedException"


class UnmodifiableEntityException(ServiceError):
    code = "UnmodifiableEntityException"


class UnrecognizedPublicKeyEncodingException(ServiceError):
    code = "UnrecognizedPublicKeyEncodingException"
