"""sso-oidc errors: one class per exception shape of the botocore model. AWS's carry the OAuth error
(``error``, RFC 6749 §5.2 / RFC 8628 §3.5) and ``error_description``; ``oidc_error`` builds both."""

from __future__ import annotations

from typing import ClassVar

from ostiary.protocol.errors import ServiceError


class OidcError(ServiceError):
    oauth_error: ClassVar[str] = "invalid_request"

    def __init__(self, description: str = "") -> None:
        super().__init__(description, error=self.oauth_error, error_description=description or None)


class AccessDeniedException(OidcError):
    code = "AccessDeniedException"
    oauth_error = "access_denied"


class AuthorizationPendingException(OidcError):
    code = "AuthorizationPendingException"
    oauth_error = "authorization_pending"


class ExpiredTokenException(OidcError):
    code = "ExpiredTokenException"
    oauth_error = "expired_token"


class InternalServerException(OidcError):
    code = "InternalServerException"
    status = 500
    sender_fault = False
    oauth_error = "server_error"


class InvalidClientException(OidcError):
    code = "InvalidClientException"
    status = 401
    oauth_error = "invalid_client"


class InvalidClientMetadataException(OidcError):
    code = "InvalidClientMetadataException"
    oauth_error = "invalid_client_metadata"


class InvalidGrantException(OidcError):
    code = "InvalidGrantException"
    oauth_error = "invalid_grant"


class InvalidRedirectUriException(OidcError):
    code = "InvalidRedirectUriException"
    oauth_error = "invalid_redirect_uri"


class InvalidRequestException(OidcError):
    code = "InvalidRequestException"
    oauth_error = "invalid_request"


class InvalidScopeException(OidcError):
    code = "InvalidScopeException"
    oauth_error = "invalid_scope"


class SlowDownException(OidcError):
    code = "SlowDownException"
    oauth_error = "slow_down"


class UnauthorizedClientException(OidcError):
    code = "UnauthorizedClientException"
    oauth_error = "unauthorized_client"


class UnsupportedGrantTypeException(OidcError):
    code = "UnsupportedGrantTypeException"
    oauth_error = "unsupported_grant_type"
