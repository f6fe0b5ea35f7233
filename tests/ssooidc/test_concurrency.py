"""Single use under concurrency: an approved device code or a refresh token presented by several
requests at once is redeemed by at most one (one UPDATE's row count decides, in the database, so the
same holds across processes and nodes)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance
from tests.ssooidc.conftest import add_user
from tests.ssooidc.helpers import ACCOUNT_ACCESS, approve, code_of, device_tokens, register, start

PARALLEL = 6


def _race(server: Server, call: Any) -> list[dict[str, Any] | str]:
    def one(_: int) -> dict[str, Any] | str:
        client = server.client("sso-oidc")
        try:
            return dict(call(client))
        except ClientError as err:
            return code_of(err)
        finally:
            client.close()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(one, range(PARALLEL)))


def test_device_code_redeemed_once(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    client = register(oidc)
    auth = start(oidc, client, server, instance)
    approve(store, auth, add_user(instance))
    answers = _race(
        server,
        lambda c: c.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code",
            deviceCode=auth["deviceCode"],
        ),
    )
    won = [a for a in answers if isinstance(a, dict)]
    assert len(won) == 1, answers
    assert {a for a in answers if isinstance(a, str)} <= {"SlowDownException", "InvalidGrantException"}


def test_refresh_token_spent_once(oidc: Any, server: Server, instance: Instance, store: Store) -> None:
    client, got = device_tokens(oidc, server, instance, store, add_user(instance), scopes=[ACCOUNT_ACCESS])
    answers = _race(
        server,
        lambda c: c.create_token(
            clientId=client["clientId"],
            clientSecret=client["clientSecret"],
            grantType="refresh_token",
            refreshToken=got["refreshToken"],
        ),
    )
    won = [a for a in answers if isinstance(a, dict)]
    assert len(won) <= 1, answers
    assert all(a == "InvalidGrantException" for a in answers if isinstance(a, str))
    # the losers were reuses: the session is revoked, the winner's new refresh token with it
    for token in [w["refreshToken"] for w in won]:
        try:
            oidc.create_token(
                clientId=client["clientId"],
                clientSecret=client["clientSecret"],
                grantType="refresh_token",
                refreshToken=token,
            )
            raise AssertionError("a refresh token of a revoked session was honoured")
        except ClientError as err:
            assert code_of(err) == "InvalidGrantException"
