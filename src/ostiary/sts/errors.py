"""STS errors named by the model's exception shapes (wire codes such as MalformedPolicyDocument come
from the model)."""

from __future__ import annotations

from ostiary.protocol.errors import ServiceError


class MalformedPolicyDocument(ServiceError):
    code = "MalformedPolicyDocumentException"


class PackedPolicyTooLarge(ServiceError):
    code = "PackedPolicyTooLargeException"
