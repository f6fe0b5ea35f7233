"""The JWT authorizer's key handling in process (no gateway): the issuer's JWKS is fetched once and
cached; a token naming a kid the cache lacks fetches it again, at most once a minute."""

from __future__ import annotations

import asyncio

import pytest

from ostiary import egress
from ostiary.config import Settings
from ostiary.federation import oidc
from ostiary.gateway.authorizers import tokens
from tests.gateway.test_authorizers import Issuer


def test_unknown_kid_refetches_the_jwks_at_most_once_a_minute() -> None:
    issuer = Issuer()
    keys = oidc.KeyCache()
    policy = egress.policy(Settings())
    try:
        assert asyncio.run(tokens.verify(issuer.token(), issuer.url, policy, keys))["sub"] == "s-1"
        assert keys.cached(issuer.url, "k1")
        issuer.rotate()  # k2: published now, unknown to the cache
        rotated = issuer.token()
        with pytest.raises(tokens.TokenRefused, match="No matching signing key"):
            asyncio.run(tokens.verify(rotated, issuer.url, policy, keys))
        entry = keys._issuers.get(issuer.url)
        assert entry is not None
        entry.fetched -= oidc.REFETCH_INTERVAL + 1  # a minute later
        assert not keys.cached(issuer.url, "k2")
        assert asyncio.run(tokens.verify(rotated, issuer.url, policy, keys))["sub"] == "s-1"
        assert keys.cached(issuer.url, "k1") and keys.cached(issuer.url, "k2")
    finally:
        issuer.close()
        keys.clear()
