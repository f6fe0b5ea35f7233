"""sso-oidc (rest-json): the OIDC service the AWS CLI and SDKs sign in through (RegisterClient,
StartDeviceAuthorization, CreateToken, CreateTokenWithIAM). Importing the package registers its operations.

``clients.py`` (RegisterClient, client checks), ``device.py`` (StartDeviceAuthorization and the device
page's decision), ``codes.py`` (the ``/authorize`` page's authorization codes), ``create_token.py``
(CreateToken's grants), ``tokens.py`` (sessions and their access/refresh tokens: what the portal API
and the web portal check); CreateTokenWithIAM (trusted identity propagation) ``token_with_iam.py``, its
application sessions and tokens ``app_tokens.py``; ``opaque.py`` (opaque secrets, kept as sha256), ``errors.py``.
"""

from __future__ import annotations

from ostiary.ssooidc import app_tokens, clients, codes, create_token, device, token_with_iam, tokens

__all__ = ["app_tokens", "clients", "codes", "create_token", "device", "token_with_iam", "tokens"]
