"""sso (rest-json, the access portal's API: ListAccounts, ListAccountRoles, GetRoleCredentials, Logout),
authorized by the bearer token sso-oidc issues. Importing the package registers its operations.

``bearer.py`` (the caller: the token's session and its user), ``accounts.py`` (ListAccounts,
ListAccountRoles), ``credentials.py`` (GetRoleCredentials, Logout), ``errors.py``.
"""

from __future__ import annotations

from ostiary.ssoportal import accounts, credentials

__all__ = ["accounts", "credentials"]
