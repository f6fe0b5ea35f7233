"""Portal API (sso) fixtures: the sso-oidc fixtures, an sso client, and a user with assignments."""

from __future__ import annotations

from tests.ssooidc.conftest import instance, oidc, store  # noqa: F401 - fixtures
