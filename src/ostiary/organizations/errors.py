"""AWS Organizations errors: one class per exception shape of the botocore model that Ostiary raises
(code = shape name; the protocol layer takes the wire code and HTTP status from the model).
ConstraintViolationException and InvalidInputException carry the model's ``Reason`` member
(``raise ConstraintViolationException(msg, Reason="OU_DEPTH_LIMIT_EXCEEDED")``)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class AWSOrganizationsNotInUseException(ServiceError):
    code = "AWSOrganizationsNotInUseException"


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class AccountAlreadyClosedException(ServiceError):
    code = "AccountAlreadyClosedException"


class AccountNotFoundException(ServiceError):
    code = "AccountNotFoundException"


class AlreadyInOrganizationException(ServiceError):
    code = "AlreadyInOrganizationException"


class ChildNotFoundException(ServiceError):
    code = "ChildNotFoundException"


class ConstraintViolationException(ServiceError):
    code = "ConstraintViolationException"


class CreateAccountStatusNotFoundException(ServiceError):
    code = "CreateAccountStatusNotFoundException"


class DestinationParentNotFoundException(ServiceError):
    code = "DestinationParentNotFoundException"


class DuplicateAccountException(ServiceError):
    code = "DuplicateAccountException"


class DuplicateOrganizationalUnitException(ServiceError):
    code = "DuplicateOrganizationalUnitException"


class DuplicatePolicyAttachmentException(ServiceError):
    code = "DuplicatePolicyAttachmentException"


class DuplicatePolicyException(ServiceError):
    code = "DuplicatePolicyException"


class InvalidInputException(ServiceError):
    code = "InvalidInputException"


class MalformedPolicyDocumentException(ServiceError):
    code = "MalformedPolicyDocumentException"


class MasterCannotLeaveOrganizationException(ServiceError):
    code = "MasterCannotLeaveOrganizationException"


class OrganizationNotEmptyException(ServiceError):
    code = "OrganizationNotEmptyException"


class OrganizationalUnitNotEmptyException(ServiceError):
    code = "OrganizationalUnitNotEmptyException"


class OrganizationalUnitNotFoundException(ServiceError):
    code = "OrganizationalUnitNotFoundException"


class ParentNotFoundException(ServiceError):
    code = "ParentNotFoundException"


class PolicyInUseException(ServiceError):
    code = "PolicyInUseException"


class PolicyNotAttachedException(ServiceError):
    code = "PolicyNotAttachedException"


class PolicyNotFoundException(ServiceError):
    code = "PolicyNotFoundException"


class PolicyTypeAlreadyEnabledException(ServiceError):
    code = "PolicyTypeAlreadyEnabledException"


class PolicyTypeNotAvailableForOrganizationException(ServiceError):
    code = "PolicyTypeNotAvailableForOrganizationException"


class PolicyTypeNotEnabledException(ServiceError):
    code = "PolicyTypeNotEnabledException"


class RootNotFoundException(ServiceError):
    code = "RootNotFoundException"


class SourceParentNotFoundException(ServiceError):
    code = "SourceParentNotFoundException"


class TargetNotFoundException(ServiceError):
    code = "TargetNotFoundException"


class DuplicateHandshakeException(ServiceError):
    code = "DuplicateHandshakeException"


class HandshakeAlreadyInStateException(ServiceError):
    code = "HandshakeAlreadyInStateException"


class HandshakeConstraintViolationException(ServiceError):
    code = "HandshakeConstraintViolationException"


class HandshakeNotFoundException(ServiceError):
    code = "HandshakeNotFoundException"


class InvalidHandshakeTransitionException(ServiceError):
    code = "InvalidHandshakeTransitionException"


class AccountAlreadyRegisteredException(ServiceError):
    code = "AccountAlreadyRegisteredException"


class AccountNotRegisteredException(ServiceError):
    code = "AccountNotRegisteredException"


class ResourcePolicyNotFoundException(ServiceError):
    code = "ResourcePolicyNotFoundException"


class EffectivePolicyNotFoundException(ServiceError):
    code = "EffectivePolicyNotFoundException"
