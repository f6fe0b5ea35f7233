"""S3's XML errors, exactly as S3 answers them (S3 API Reference, "Error responses").

    <?xml version="1.0" encoding="UTF-8"?>
    <Error><Code>AccessDenied</Code><Message>Access Denied</Message>
    <RequestId>…</RequestId><HostId>…</HostId></Error>

Each error is an ``S3Error`` subclass named after S3's code, with S3's status and default message; the
extra elements S3 adds for that code (``AWSAccessKeyId`` and ``StringToSign`` of SignatureDoesNotMatch,
``Region`` of AuthorizationHeaderMalformed, ``ServerTime`` of RequestTimeTooSkewed, …) are passed as
keyword arguments and written in the order given, between ``Message`` and ``RequestId``, as S3 does.
``response`` turns one into the status, headers and body the ASGI app sends: ``x-amz-request-id`` and
``x-amz-id-2`` always, no body for HEAD (S3 answers HEAD errors with the status alone).
"""

from __future__ import annotations

import base64
import os
from typing import ClassVar
from xml.sax.saxutils import escape

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class S3Error(Exception):
    """Root of the errors the S3 front answers. ``extra``: S3's additional elements, in order."""

    code: ClassVar[str] = "InternalError"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "We encountered an internal error. Please try again."

    def __init__(self, message: str | None = None, /, **extra: str | int | None) -> None:
        self.message = message if message is not None else self.default_message
        super().__init__(self.message)
        self.extra: dict[str, str] = {k.replace("__", "-"): str(v) for k, v in extra.items() if v is not None}

    def xml(self, request_id: str, host_id: str, resource: str | None = None) -> bytes:
        parts = [XML_DECLARATION, "<Error>", f"<Code>{self.code}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts.extend(f"<{name}>{escape(value)}</{name}>" for name, value in self.extra.items())
        if resource is not None:
            parts.append(f"<Resource>{escape(resource)}</Resource>")
        parts.append(f"<RequestId>{escape(request_id)}</RequestId><HostId>{escape(host_id)}</HostId></Error>")
        return "".join(parts).encode()


def new_request_ids() -> tuple[str, str]:
    """A request id (16 upper-case hex digits, as S3's) and an extended id (``x-amz-id-2``)."""
    return os.urandom(8).hex().upper(), base64.b64encode(os.urandom(48)).decode()


def response(
    err: S3Error, *, method: str, request_id: str, host_id: str, resource: str | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and body of ``err``'s answer; HEAD gets the status and headers only."""
    headers = [("x-amz-request-id", request_id), ("x-amz-id-2", host_id)]
    if method.upper() == "HEAD":
        return err.status, headers, b""
    body = err.xml(request_id, host_id, resource)
    headers += [("content-type", "application/xml"), ("content-length", str(len(body)))]
    return err.status, headers, body


def hex_bytes(text: str) -> str:
    """S3's ``StringToSignBytes`` / ``CanonicalRequestBytes``: each byte as two hex digits, space-separated."""
    return " ".join(f"{b:02x}" for b in text.encode())


# -- authentication ------------------------------------------------------------------------------
class AccessDenied(S3Error):
    code = "AccessDenied"
    status = 403
    default_message = "Access Denied"


class SignatureDoesNotMatch(S3Error):
    """Extra elements: AWSAccessKeyId, StringToSign, SignatureProvided, StringToSignBytes,
    CanonicalRequest, CanonicalRequestBytes (see ``signature_mismatch``)."""

    code = "SignatureDoesNotMatch"
    status = 403
    default_message = (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )


def signature_mismatch(access_key_id: str, string_to_sign: str, provided: str, canonical: str) -> SignatureDoesNotMatch:
    return SignatureDoesNotMatch(
        AWSAccessKeyId=access_key_id,
        StringToSign=string_to_sign,
        SignatureProvided=provided,
        StringToSignBytes=hex_bytes(string_to_sign),
        CanonicalRequest=canonical,
        CanonicalRequestBytes=hex_bytes(canonical),
    )


class InvalidAccessKeyId(S3Error):
    code = "InvalidAccessKeyId"
    status = 403
    default_message = "The AWS Access Key Id you provided does not exist in our records."


class InvalidToken(S3Error):
    code = "InvalidToken"
    status = 400
    default_message = "The provided token is malformed or otherwise invalid."


class ExpiredToken(S3Error):
    code = "ExpiredToken"
    status = 400
    default_message = "The provided token has expired."


class AuthorizationHeaderMalformed(S3Error):
    code = "AuthorizationHeaderMalformed"
    status = 400
    default_message = "The authorization header is malformed."


class AuthorizationQueryParametersError(S3Error):
    code = "AuthorizationQueryParametersError"
    status = 400
    default_message = "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."  # noqa: E501


class RequestTimeTooSkewed(S3Error):
    """Extra elements: RequestTime, ServerTime, MaxAllowedSkewMilliseconds."""

    code = "RequestTimeTooSkewed"
    status = 403
    default_message = "The difference between the request time and the current time is too large."


class MissingSecurityHeader(S3Error):
    code = "MissingSecurityHeader"
    status = 400
    default_message = "Your request was missing a required header"


class XAmzContentSHA256Mismatch(S3Error):
    """Extra elements: ClientComputedContentSHA256, S3ComputedContentSHA256."""

    code = "XAmzContentSHA256Mismatch"
    status = 400
    default_message = "The provided 'x-amz-content-sha256' header does not match what was computed."


class InvalidArgument(S3Error):
    """Extra elements: ArgumentName, ArgumentValue."""

    code = "InvalidArgument"
    status = 400
    default_message = "Invalid Argument"


class InvalidRequest(S3Error):
    code = "InvalidRequest"
    status = 400
    default_message = "Invalid Request"


class InvalidDigest(S3Error):
    code = "InvalidDigest"
    status = 400
    default_message = "The Content-MD5 you specified was invalid."


class BadDigest(S3Error):
    code = "BadDigest"
    status = 400
    default_message = "The Content-MD5 you specified did not match what we received."


class IncompleteBody(S3Error):
    code = "IncompleteBody"
    status = 400
    default_message = "You did not provide the number of bytes specified by the Content-Length HTTP header"


class MalformedXML(S3Error):
    code = "MalformedXML"
    status = 400
    default_message = "The XML you provided was not well-formed or did not validate against our published schema"


class EntityTooLarge(S3Error):
    code = "EntityTooLarge"
    status = 400
    default_message = "Your proposed upload exceeds the maximum allowed size"


class MaxMessageLengthExceeded(S3Error):
    code = "MaxMessageLengthExceeded"
    status = 400
    default_message = "Your request was too big."


class MissingContentLength(S3Error):
    code = "MissingContentLength"
    status = 411
    default_message = "You must provide the Content-Length HTTP header."


# -- bucket policies -----------------------------------------------------------------------------
class MalformedPolicy(S3Error):
    code = "MalformedPolicy"
    status = 400
    default_message = "Policies must be valid JSON and the first byte must be '{'"


class NoSuchBucketPolicy(S3Error):
    """Extra element: BucketName."""

    code = "NoSuchBucketPolicy"
    status = 404
    default_message = "The bucket policy does not exist"


class NoSuchBucket(S3Error):
    """Extra element: BucketName."""

    code = "NoSuchBucket"
    status = 404
    default_message = "The specified bucket does not exist"


class MethodNotAllowed(S3Error):
    """Extra elements: Method, ResourceType."""

    code = "MethodNotAllowed"
    status = 405
    default_message = "The specified method is not allowed against this resource."


class S3NotImplemented(S3Error):  # S3's code NotImplemented (Python has a builtin of that name)
    """Extra element: Header (the header that implies the functionality)."""

    code = "NotImplemented"
    status = 501
    default_message = "A header you provided implies functionality that is not implemented"


# -- upstream ------------------------------------------------------------------------------------
class InternalError(S3Error):
    code = "InternalError"
    status = 500
    default_message = "We encountered an internal error. Please try again."


class ServiceUnavailable(S3Error):
    code = "ServiceUnavailable"
    status = 503
    default_message = "Please reduce your request rate."


class SlowDown(S3Error):
    code = "SlowDown"
    status = 503
    default_message = "Please reduce your request rate."
