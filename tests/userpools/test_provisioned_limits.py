"""Provisioned request-rate limits (GetProvisionedLimit, UpdateProvisionedLimit) and their enforcement:
with ``provisioned_limits`` on, a burst over a category's rate is answered TooManyRequestsException
("Rate exceeded", HTTP 400) while other categories answer as usual; off (the default), nothing is
limited. Two nodes on one PostgreSQL share the counts."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server


@pytest.fixture(scope="module")
def limited(server_factory: Any) -> Server:
    srv: Server = server_factory(env={"OSTIARY_PROVISIONED_LIMITS": "1"})
    return srv


def _definition(category: str) -> dict[str, Any]:
    return {"LimitClass": "API_CATEGORY", "Attributes": {"Category": category}}


def _start_of_a_second() -> None:
    """Wait (under a second) for the next second to begin, so a burst falls in one window."""
    time.sleep(1 - time.time() % 1 + 0.01)


def _burst(calls: list[Callable[[], Any]], threads: int = 8) -> tuple[int, list[ClientError]]:
    """Run the calls at once; how many succeeded and the errors of the others."""

    def one(call: Callable[[], Any]) -> ClientError | None:
        try:
            call()
        except ClientError as err:
            return err
        return None

    with ThreadPoolExecutor(threads) as pool:
        outcomes = list(pool.map(one, calls))
    errors = [e for e in outcomes if e is not None]
    return len(outcomes) - len(errors), errors


def _assert_throttled(errors: list[ClientError]) -> None:
    assert errors, "the burst was not throttled"
    for err in errors:
        assert err.response["Error"]["Code"] == "TooManyRequestsException"
        assert err.response["Error"]["Message"] == "Rate exceeded"
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_and_update_follow_the_model(limited: Server) -> None:
    idp = limited.client("cognito-idp")
    out = idp.get_provisioned_limit(LimitDefinition=_definition("UserRead"))["Limit"]
    assert out == {
        "LimitDefinition": _definition("UserRead"),
        "ProvisionedLimitValue": 120,
        "FreeLimitValue": 120,
    }
    raised = idp.update_provisioned_limit(LimitDefinition=_definition("UserRead"), RequestedLimitValue=240)["Limit"]
    assert raised["ProvisionedLimitValue"] == 240 and raised["FreeLimitValue"] == 120
    assert idp.get_provisioned_limit(LimitDefinition=_definition("UserRead"))["Limit"]["ProvisionedLimitValue"] == 240

    def refused(code: str, **kwargs: Any) -> None:
        with pytest.raises(ClientError) as caught:
            idp.update_provisioned_limit(**kwargs)
        assert caught.value.response["Error"]["Code"] == code

    refused("InvalidParameterException", LimitDefinition=_definition("UserRead"), RequestedLimitValue=60)  # < default
    refused("ServiceQuotaExceededException", LimitDefinition=_definition("UserRead"), RequestedLimitValue=100000)
    refused("InvalidParameterException", LimitDefinition=_definition("UserList"), RequestedLimitValue=60)  # fixed
    refused("InvalidParameterException", LimitDefinition=_definition("NoSuchCategory"), RequestedLimitValue=60)
    with pytest.raises(ClientError) as caught:
        idp.get_provisioned_limit(LimitDefinition={"LimitClass": "API_CATEGORY", "Attributes": {}})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterException"
    # nothing changed by the refusals
    assert idp.get_provisioned_limit(LimitDefinition=_definition("UserRead"))["Limit"]["ProvisionedLimitValue"] == 240


def test_a_burst_in_one_category_is_throttled_and_another_category_is_not(limited: Server) -> None:
    idp = limited.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="rl-" + secrets.token_hex(3))["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    clients = [limited.client("cognito-idp") for _ in range(8)]
    _start_of_a_second()
    started = time.monotonic()
    ok, errors = _burst([lambda i=i: clients[i % 8].describe_user_pool(UserPoolId=pool) for i in range(40)])
    _assert_throttled(errors)  # UserPoolRead: 15 a second for the account
    if time.monotonic() - started < 0.95:  # the burst fell in one window: exactly the limit got through
        assert ok == 15
    # UserRead (120 a second) is another category: untouched by the burst
    assert all(idp.admin_get_user(UserPoolId=pool, Username="alice")["Username"] == "alice" for _ in range(5))


def test_each_operation_of_a_starred_category_is_held_to_5_a_second_on_one_pool(limited: Server) -> None:
    idp = limited.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="rl-" + secrets.token_hex(3))["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]["ClientId"]
    clients = [limited.client("cognito-idp") for _ in range(4)]
    _start_of_a_second()
    started = time.monotonic()
    ok, errors = _burst(
        [lambda i=i: clients[i % 4].describe_user_pool_client(UserPoolId=pool, ClientId=client) for i in range(10)], 4
    )
    _assert_throttled(errors)
    if time.monotonic() - started < 0.95:
        assert ok == 5


def test_unsigned_calls_count_against_the_pools_account(limited: Server) -> None:
    """An operation authorized by an access token counts against the account of the token's pool."""
    idp = limited.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="rl-" + secrets.token_hex(3))["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="c",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="bob", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="bob", Password="Corr3ct-Horse!", Permanent=True)
    token = idp.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "bob", "PASSWORD": "Corr3ct-Horse!"},
    )["AuthenticationResult"]["AccessToken"]
    # GetUserAuthFactors (UserResourceRead, 50 a second) is unsigned too, and cheap to call 80 times
    clients = [limited.client("cognito-idp") for _ in range(8)]
    _start_of_a_second()
    _, errors = _burst([lambda i=i: clients[i % 8].get_user_auth_factors(AccessToken=token) for i in range(80)])
    _assert_throttled(errors)


def test_nothing_is_limited_unless_enabled(server: Server) -> None:
    idp = server.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="rl-" + secrets.token_hex(3))["UserPool"]["Id"]
    clients = [server.client("cognito-idp") for _ in range(8)]
    _start_of_a_second()
    ok, errors = _burst([lambda i=i: clients[i % 8].describe_user_pool(UserPoolId=pool) for i in range(40)])
    assert (ok, errors) == (40, [])
    assert (
        idp.get_provisioned_limit(LimitDefinition=_definition("UserPoolRead"))["Limit"]["ProvisionedLimitValue"] == 15
    )


def test_two_nodes_share_the_counts(server_factory: Any, database_admin_url: str | None) -> None:
    if not database_admin_url:
        pytest.skip("two nodes share one PostgreSQL database: set OSTIARY_TEST_DATABASE_URL")
    a: Server = server_factory(env={"OSTIARY_PROVISIONED_LIMITS": "1"})
    b: Server = server_factory(share_with=a, env={"OSTIARY_PROVISIONED_LIMITS": "1"})
    pool = a.client("cognito-idp").create_user_pool(PoolName="rl-" + secrets.token_hex(3))["UserPool"]["Id"]
    clients = [(a if i % 2 else b).client("cognito-idp") for i in range(8)]
    _start_of_a_second()
    started = time.monotonic()
    ok, errors = _burst([lambda i=i: clients[i % 8].describe_user_pool(UserPoolId=pool) for i in range(28)])
    # each node alone would let 14 (< 15) through: the shared window refuses what is over 15 in all
    _assert_throttled(errors)
    if time.monotonic() - started < 0.95:
        assert ok == 15
