"""Where the access portal's pages are, from the server's public URL (``settings.effective_public_url``).

AWS's start URL is ``https://d-xxxxxxxxxx.awsapps.com/start``; Ostiary's is
``<public URL>/start/<identity store id>``, printed by the CLI. The device-code approval page is not an
instance's page in AWS (``https://device.sso.<region>.amazonaws.com/``): the user code names the request,
so Ostiary's is ``<public URL>/start/device``. These functions are the one place that spells them.

It lives at the top of the package tree (not in ``accessportal``) because the services whose answers
carry these URLs (sso-oidc's StartDeviceAuthorization, the SAML IdP) are imported by the portal's pages:
``accessportal/urls.py`` re-exports it.
"""

from __future__ import annotations

__all__ = [
    "DEVICE_PATH",
    "PREFIX",
    "SAML_SEGMENT",
    "device_url",
    "device_url_complete",
    "identity_store_of",
    "saml_application_url",
    "saml_entity_id",
    "saml_metadata_url",
    "start_url",
]

PREFIX = "/start"
DEVICE_PATH = PREFIX + "/device"


def start_url(public_url: str, identity_store_id: str) -> str:
    return f"{public_url.rstrip('/')}{PREFIX}/{identity_store_id}"


def device_url(public_url: str) -> str:
    return f"{public_url.rstrip('/')}{DEVICE_PATH}"


def device_url_complete(public_url: str, user_code: str) -> str:
    return f"{device_url(public_url)}?user_code={user_code}"


def identity_store_of(start_url: str) -> str | None:
    """The identity store id a start URL names (``…/start/<id>``, a trailing ``/`` or ``#`` allowed, as
    AWS's start URLs are often written), or None."""
    path = start_url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    head, sep, last = path.rpartition("/")
    if not sep or not head.endswith(PREFIX) or not last.startswith("d-") or len(last) != 12:
        return None
    return last


# -- the instance as a SAML 2.0 identity provider (ostiary.samlidp) ---------------------------------------
# AWS's are ``https://portal.sso.<region>.amazonaws.com/saml/assertion/<id>`` (entity id and sign-in
# service alike) and ``…/saml/metadata/<id>``; Ostiary's live under the instance's start URL.
SAML_SEGMENT = "/saml"


def saml_entity_id(public_url: str, identity_store_id: str) -> str:
    """The IdP's entityID, also its SingleSignOnService (HTTP-Redirect and HTTP-POST) location."""
    return f"{start_url(public_url, identity_store_id)}{SAML_SEGMENT}/assertion"


def saml_metadata_url(public_url: str, identity_store_id: str) -> str:
    return f"{start_url(public_url, identity_store_id)}{SAML_SEGMENT}/metadata"


def saml_application_url(public_url: str, identity_store_id: str, application_id: str) -> str:
    """IdP-initiated sign-in to an application (``apl-…``, the last part of its ARN): the portal's tile."""
    return f"{start_url(public_url, identity_store_id)}{SAML_SEGMENT}/applications/{application_id}"
