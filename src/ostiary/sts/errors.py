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


class InvalidParameterValue(ServiceError):
    """A request parameter STS refuses beyond its shape (session tags: a key twice in two cases, a
    transitive key that is no tag, or one that would override the calling session's): STS answers
    InvalidParameterValue / 400, an error its model does not list."""

    code = "InvalidParameterValue"
    status = 400


class NoSuchPolicy(ServiceError):
    """A session's PolicyArns names no managed policy (IAM's NoSuchEntity, 404)."""

    code = "NoSuchEntity"
    status = 404
