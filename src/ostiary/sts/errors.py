"""STS errors named by the model's exception shapes (wire codes such as MalformedPolicyDocument come
from the model)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocumentException"


class PackedPolicyTooLarge(ServiceError):
    code = "PackedPolicyTooLargeException"


class IDPRejectedClaim(ServiceError):
    code = "IDPRejectedClaimException"


class InvalidIdentityToken(ServiceError):
    code = "InvalidIdentityTokenException"


class IDPCommunicationError(ServiceError):
    code = "IDPCommunicationErrorException"


class InvalidAuthorizationMessage(ServiceError):
    code = "InvalidAuthorizationMessageException"


class ExpiredWebIdentityToken(ServiceError):
    """The model's ExpiredTokenException: an expired web identity token or SAML assertion."""

    code = "ExpiredTokenException"


class NoSuchPolicy(ServiceError):
    """A session's PolicyArns names no managed policy (IAM's NoSuchEntity, 404)."""

    code = "NoSuchEntity"
    status = 404
