"""sso-oidc (rest-json): the OIDC service the AWS CLI and SDKs sign in through (RegisterClient,
StartDeviceAuthorization, CreateToken). Importing the package registers its operations.

``clients.py`` (RegisterClient, client checks), ``device.py`` (StartDeviceAuthorization and the device
page's decision), ``codes.py`` (the ``/authorize`` page's authorization codes), ``create_token.py``
(CreateToken's grants), ``tokens.py`` (sessions and their access/refresh tokens: what the portal API
and the web portal check), ``opaque.py`` (opaque secrets, kept as sha256), ``errors.py``.
"""

from __future__ import annotations

from ostiary.ssooidc import clients, codes, create_token, device, tokens

__all__ = ["clients", "codes", "create_token", "device", "tokens"]
