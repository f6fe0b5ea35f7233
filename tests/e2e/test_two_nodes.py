"""Two nodes on one PostgreSQL (issue 13): two `ostiary serve` processes share one database and one
KEK, as a deployment behind a load balancer does, and what one node spends, revokes or counts holds on
the other.

- Revocation: a refresh token revoked on one node (RevokeToken, GlobalSignOut, AdminUserGlobalSignOut)
  is refused by the other, and so is every access token of a revoked lineage, even one the other node
  had already verified and kept in its cache of verified signatures (that cache keeps signatures only:
  the revocation is read from the database on every check, so there is no stale window).
- Lockout: failed sign-ins alternated across the nodes lock the user at the same count as on one node,
  and failures sent to both nodes at once are all counted (the counter row is locked, store.rows).
- Single use: a confirmation code, an authorization code, a TOTP code, an SRP SECRET_BLOCK and a
  challenge session used on one node cannot be used again on the other, and when both nodes receive
  the same one at the same moment, exactly one wins.

PostgreSQL only: two processes on one SQLite file are one machine's deployment, not a cluster; the
suite runs here when OSTIARY_TEST_DATABASE_URL names a PostgreSQL server (CI does).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import boto3
import httpx
import pyotp
import pytest
import sqlalchemy as sa
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from tests.conftest import REGION, Server
from tests.oauth.conftest import CALLBACK, Hosted, add_user, make_hosted, query_of, sign_in_over_http

PASSWORD = "Corr3ct-Horse!"
NEW_PASSWORD = "N3w-Horse-Battery!"
FLOWS = [
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
]
ROUNDS = 4  # each race is run this many times: one lost race is enough to fail


@pytest.fixture(scope="module")
def nodes(server_factory: Any, database_admin_url: str | None) -> tuple[Server, Server]:
    if not database_admin_url:
        pytest.skip(
            "two nodes share one PostgreSQL database: set OSTIARY_TEST_DATABASE_URL (CI runs this on PostgreSQL)"
        )
    # as behind a load balancer: one database, one KEK and one public URL (the tokens' issuer) for
    # both; node A also serves the development outbox (codes are read there), node B is a plain node
    a: Server = server_factory(args=("--dev",), start=False)
    a.env_extra["OSTIARY_PUBLIC_URL"] = a.url
    a.start()
    b: Server = server_factory(share_with=a, env={"OSTIARY_PUBLIC_URL": a.url})
    return a, b


def _app(server: Server) -> Any:
    """An app's unsigned client of one node."""
    return boto3.client(
        "cognito-idp",
        endpoint_url=server.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


class Pool:
    """A user pool made through node A, with an app client allowing password, SRP and refresh."""

    def __init__(self, nodes: tuple[Server, Server], **pool_args: Any) -> None:
        self.a, self.b = nodes
        self.admin = self.a.client("cognito-idp")
        self.admin_b = self.b.client("cognito-idp")
        args: dict[str, Any] = {"PoolName": "two-" + secrets.token_hex(4), "AutoVerifiedAttributes": ["email"]}
        args.update(pool_args)
        self.id = self.admin.create_user_pool(**args)["UserPool"]["Id"]
        self.client_id = self.admin.create_user_pool_client(
            UserPoolId=self.id, ClientName="app", ExplicitAuthFlows=FLOWS
        )["UserPoolClient"]["ClientId"]
        self.apps = (_app(self.a), _app(self.b))

    def user(self, name: str, password: str = PASSWORD, **attributes: str) -> None:
        attrs = [{"Name": k, "Value": v} for k, v in attributes.items()]
        self.admin.admin_create_user(UserPoolId=self.id, Username=name, UserAttributes=attrs, MessageAction="SUPPRESS")
        self.admin.admin_set_user_password(UserPoolId=self.id, Username=name, Password=password, Permanent=True)

    def sign_in(self, node: int, name: str, password: str = PASSWORD) -> dict[str, Any]:
        out: dict[str, Any] = self.apps[node].initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": password},
        )
        return out

    def refresh(self, node: int, refresh_token: str) -> dict[str, Any]:
        out: dict[str, Any] = self.apps[node].initiate_auth(
            ClientId=self.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token}
        )
        return out

    def close(self) -> None:
        for client in (*self.apps, self.admin, self.admin_b):
            client.close()


@pytest.fixture
def pool(nodes: tuple[Server, Server]) -> Iterator[Pool]:
    p = Pool(nodes)
    yield p
    p.admin.delete_user_pool(UserPoolId=p.id)
    p.close()


def _outcome(call: Callable[[], Any]) -> str:
    """The error code of a call, or "ok"."""
    try:
        call()
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    return "ok"


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    err = exc.value.response["Error"]
    return str(err["Code"]), str(err["Message"])


def _at_once(calls: list[Callable[[], str]]) -> list[str]:
    """Run ``calls`` in threads released together; their outcomes."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], str]) -> str:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as workers:
        return list(workers.map(run, calls))


def _exactly_one_wins(outcomes: list[str]) -> None:
    assert outcomes.count("ok") == 1, outcomes


# --------------------------------------------------------------------------------------------
# revocation


REVOKED = ("NotAuthorizedException", "Access Token has been revoked")


def test_revoke_token_on_one_node_is_refused_on_the_other(pool: Pool) -> None:
    pool.user("rita")
    tokens = pool.sign_in(0, "rita")["AuthenticationResult"]
    access, refresh = tokens["AccessToken"], tokens["RefreshToken"]
    # node B checks the token first: its signature is now in B's cache of verified tokens
    assert pool.apps[1].get_user(AccessToken=access)["Username"] == "rita"
    assert pool.refresh(1, refresh)["AuthenticationResult"]["AccessToken"]

    pool.apps[0].revoke_token(Token=refresh, ClientId=pool.client_id)

    assert _error(lambda: pool.refresh(1, refresh))[0] == "NotAuthorizedException"
    assert _error(lambda: pool.apps[1].get_user(AccessToken=access)) == REVOKED
    assert _error(lambda: pool.apps[0].get_user(AccessToken=access)) == REVOKED


def test_global_sign_out_on_one_node_is_refused_on_the_other(pool: Pool) -> None:
    pool.user("gil")
    first = pool.sign_in(0, "gil")["AuthenticationResult"]
    second = pool.sign_in(1, "gil")["AuthenticationResult"]
    for tokens in (first, second):  # both nodes have verified both access tokens
        for app in pool.apps:
            assert app.get_user(AccessToken=tokens["AccessToken"])["Username"] == "gil"

    pool.apps[0].global_sign_out(AccessToken=first["AccessToken"])

    for tokens in (first, second):
        for node in (1, 0):
            assert _error(partial(pool.refresh, node, tokens["RefreshToken"]))[0] == "NotAuthorizedException"
            assert _error(partial(pool.apps[node].get_user, AccessToken=tokens["AccessToken"])) == REVOKED
    # a new sign-in is not affected, on either node
    fresh = pool.sign_in(1, "gil")["AuthenticationResult"]
    assert pool.apps[0].get_user(AccessToken=fresh["AccessToken"])["Username"] == "gil"


def test_admin_global_sign_out_on_one_node_is_refused_on_the_other(pool: Pool) -> None:
    pool.user("ada")
    tokens = pool.sign_in(0, "ada")["AuthenticationResult"]
    assert pool.apps[0].get_user(AccessToken=tokens["AccessToken"])["Username"] == "ada"

    pool.admin_b.admin_user_global_sign_out(UserPoolId=pool.id, Username="ada")

    assert _error(lambda: pool.refresh(0, tokens["RefreshToken"]))[0] == "NotAuthorizedException"
    assert _error(lambda: pool.apps[0].get_user(AccessToken=tokens["AccessToken"])) == REVOKED
    assert _error(lambda: pool.apps[1].get_user(AccessToken=tokens["AccessToken"])) == REVOKED


def test_disabled_user_on_one_node_is_refused_on_the_other(pool: Pool) -> None:
    pool.user("dan")
    tokens = pool.sign_in(1, "dan")["AuthenticationResult"]
    assert pool.apps[1].get_user(AccessToken=tokens["AccessToken"])["Username"] == "dan"
    pool.admin.admin_disable_user(UserPoolId=pool.id, Username="dan")
    assert _error(lambda: pool.refresh(1, tokens["RefreshToken"]))[0] == "NotAuthorizedException"
    assert _error(lambda: pool.apps[1].get_user(AccessToken=tokens["AccessToken"]))[0] == "NotAuthorizedException"
    assert _error(lambda: pool.sign_in(1, "dan"))[0] == "NotAuthorizedException"


# --------------------------------------------------------------------------------------------
# lockout


LOCKED = ("NotAuthorizedException", "Password attempts exceeded")
WRONG = ("NotAuthorizedException", "Incorrect username or password.")


def _attempts(pool: Pool, name: str, nodes: list[int]) -> list[tuple[str, str]]:
    out = []
    for node in nodes:
        try:
            pool.sign_in(node, name, "Wrong-Pass1!")
        except ClientError as err:
            out.append((str(err.response["Error"]["Code"]), str(err.response["Error"]["Message"])))
        else:
            raise AssertionError("a wrong password signed in")
    return out


def _sub(pool: Pool, name: str) -> str:
    attributes = pool.admin.admin_get_user(UserPoolId=pool.id, Username=name)["UserAttributes"]
    return str(next(a["Value"] for a in attributes if a["Name"] == "sub"))


def _locked_now(pool: Pool, node: int, name: str, fifth: float) -> None:
    """The right password is refused within the 1 s lock the fifth failure engaged; on a loaded
    machine the call may come after the lock, then it signs in (as tests/userpools/test_signin.py)."""
    try:
        pool.sign_in(node, name)
    except ClientError as refused:
        assert (refused.response["Error"]["Code"], refused.response["Error"]["Message"]) == LOCKED
    else:
        assert time.monotonic() - fifth >= 1.0, "signed in within the lock"


def test_failures_alternated_across_nodes_lock_at_the_same_count(pool: Pool) -> None:
    pool.user("one-node")
    pool.user("two-nodes")
    alone = _attempts(pool, "one-node", [0] * 5)
    alternated = _attempts(pool, "two-nodes", [0, 1, 0, 1, 0])
    fifth = time.monotonic()
    assert alone == alternated == [WRONG] * 5
    url = pool.a.database_url
    assert (
        _failure_count(url, pool.id, _sub(pool, "one-node"))
        == _failure_count(url, pool.id, _sub(pool, "two-nodes"))
        == 5
    )
    # the lock the fifth failure (on node A) engaged holds on node B, the right password included
    _locked_now(pool, 1, "two-nodes", fifth)


def _failure_count(database_url: str, pool_id: str, user_id: str) -> int:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                sa.text("SELECT count FROM counters WHERE key = :key"),
                {"key": f"signin-fail:user:{pool_id}:{user_id}"},
            ).scalar()
    finally:
        engine.dispose()
    return int(count or 0)


def test_concurrent_failures_on_both_nodes_are_all_counted(pool: Pool) -> None:
    pool.user("swarm")
    sub = _sub(pool, "swarm")
    n = 4  # below the lock, so that every attempt is checked against the password and counted
    outcomes = _at_once(
        [
            (lambda node=node: _outcome(lambda: pool.sign_in(node, "swarm", "Wrong-Pass1!")))  # type: ignore[misc]
            for node in [0, 1] * (n // 2)
        ]
    )
    assert outcomes == ["NotAuthorizedException"] * n
    assert _failure_count(pool.a.database_url, pool.id, sub) == n
    assert _attempts(pool, "swarm", [1]) == [WRONG]  # the fifth failure, on either node, engages the lock
    assert _failure_count(pool.a.database_url, pool.id, sub) == n + 1


# --------------------------------------------------------------------------------------------
# single-use codes and sessions


def _code(server: Server, destination: str) -> str:
    r = httpx.get(server.url + "/_ostiary/outbox", params={"destination": destination, "limit": 1})
    r.raise_for_status()
    messages = r.json()["messages"]
    assert messages, f"no message to {destination}"
    m = re.search(r"\b(\d{6})\b", messages[0]["body"])
    assert m, messages[0]["body"]
    return m.group(1)


def test_confirmation_code_used_on_one_node_is_spent_on_the_other(pool: Pool) -> None:
    email = f"c-{secrets.token_hex(4)}@example.com"
    pool.apps[0].sign_up(
        ClientId=pool.client_id, Username="cleo", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}]
    )
    code = _code(pool.a, email)
    pool.apps[1].confirm_sign_up(ClientId=pool.client_id, Username="cleo", ConfirmationCode=code)
    assert (
        _outcome(lambda: pool.apps[0].confirm_sign_up(ClientId=pool.client_id, Username="cleo", ConfirmationCode=code))
        != "ok"
    )


def test_forgot_password_code_sent_to_both_nodes_at_once_is_taken_once(pool: Pool) -> None:
    email = f"f-{secrets.token_hex(4)}@example.com"
    pool.user("fay", email=email, email_verified="true")
    for round_ in range(ROUNDS):
        pool.apps[round_ % 2].forgot_password(ClientId=pool.client_id, Username="fay")
        code = _code(pool.a, email)
        password = f"{NEW_PASSWORD}{round_}"

        def confirm(node: int, code: str = code, password: str = password) -> str:
            return _outcome(
                lambda: pool.apps[node].confirm_forgot_password(
                    ClientId=pool.client_id, Username="fay", ConfirmationCode=code, Password=password
                )
            )

        _exactly_one_wins(_at_once([lambda: confirm(0), lambda: confirm(1)]))
        assert confirm(round_ % 2) != "ok"  # and replayed later, on either node


def _authorization_code(h: Hosted, username: str) -> str:
    params = {
        "client_id": h.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid aws.cognito.signin.user.admin",
        "state": secrets.token_urlsafe(8),
    }
    with httpx.Client() as web:
        location = sign_in_over_http(web, h, params, username, PASSWORD)
    return query_of(location)["code"]


def _exchange(server: Server, h: Hosted, code: str) -> httpx.Response:
    data = {"grant_type": "authorization_code", "code": code, "client_id": h.client_id, "redirect_uri": CALLBACK}
    return httpx.post(f"{server.url}/_domain/{h.domain}/oauth2/token", data=data, timeout=30)


def _exchange_status(server: Server, h: Hosted, code: str) -> str:
    return str(_exchange(server, h, code).status_code)


def test_authorization_code_redeemed_once_across_nodes(nodes: tuple[Server, Server]) -> None:
    a, b = nodes
    h = make_hosted(a)
    try:
        add_user(h, "olga")
        code = _authorization_code(h, "olga")
        first = _exchange(b, h, code)
        assert first.status_code == 200, first.text
        replay = _exchange(a, h, code)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
        # the replay on node A revoked what node B issued for the code (RFC 9700 §4.5.3), on B too
        bearer = {"authorization": f"Bearer {first.json()['access_token']}"}
        info = httpx.get(f"{b.url}/_domain/{h.domain}/oauth2/userInfo", headers=bearer, timeout=30)
        assert info.status_code == 401, info.text
        # /oauth2/revoke on one node: the refresh token is refused at the other's token endpoint
        tokens = _exchange(a, h, _authorization_code(h, "olga")).json()
        info = httpx.get(
            f"{b.url}/_domain/{h.domain}/oauth2/userInfo",
            timeout=30,
            headers={"authorization": f"Bearer {tokens['access_token']}"},
        )
        assert info.status_code == 200, info.text
        revoked = httpx.post(
            f"{a.url}/_domain/{h.domain}/oauth2/revoke",
            timeout=30,
            data={"token": tokens["refresh_token"], "client_id": h.client_id},
        )
        assert revoked.status_code == 200, revoked.text
        again = httpx.post(
            f"{b.url}/_domain/{h.domain}/oauth2/token",
            timeout=30,
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": h.client_id},
        )
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant", again.text
        info = httpx.get(
            f"{b.url}/_domain/{h.domain}/oauth2/userInfo",
            timeout=30,
            headers={"authorization": f"Bearer {tokens['access_token']}"},
        )
        assert info.status_code == 401, info.text
        for _ in range(ROUNDS):
            code = _authorization_code(h, "olga")
            statuses = _at_once([partial(_exchange_status, node, h, code) for node in (a, b)])
            assert sorted(statuses) == ["200", "400"], statuses
    finally:
        h.idp.delete_user_pool(UserPoolId=h.pool_id)
        h.idp.close()


def _srp_answer(pool: Pool, node: int, name: str) -> dict[str, str]:
    srp = AWSSRP(username=name, password=PASSWORD, pool_id=pool.id, client_id=pool.client_id, client=pool.apps[node])
    first = pool.apps[node].initiate_auth(
        ClientId=pool.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp.get_auth_params()
    )
    answer: dict[str, str] = srp.process_challenge(first["ChallengeParameters"], {"USERNAME": name})
    return answer


def _srp_respond(pool: Pool, node: int, answer: dict[str, str]) -> str:
    return _outcome(
        lambda: pool.apps[node].respond_to_auth_challenge(
            ClientId=pool.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
        )
    )


def test_srp_proof_used_on_one_node_cannot_be_replayed_on_the_other(pool: Pool) -> None:
    pool.user("sam")
    answer = _srp_answer(pool, 0, "sam")
    assert _srp_respond(pool, 0, answer) == "ok"
    assert _srp_respond(pool, 1, answer) == "NotAuthorizedException"
    for round_ in range(ROUNDS):
        answer = _srp_answer(pool, round_ % 2, "sam")
        _exactly_one_wins(_at_once([partial(_srp_respond, pool, node, answer) for node in (0, 1)]))


def _new_password_session(pool: Pool, node: int, name: str, temporary: str) -> str:
    challenge = pool.sign_in(node, name, temporary)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    return str(challenge["Session"])


def test_challenge_session_answered_on_both_nodes_at_once_is_taken_once(pool: Pool) -> None:
    for round_ in range(ROUNDS):
        name, temporary = f"newbie-{round_}", "Temp-Pass-1!"
        pool.admin.admin_create_user(
            UserPoolId=pool.id, Username=name, TemporaryPassword=temporary, MessageAction="SUPPRESS"
        )
        session = _new_password_session(pool, round_ % 2, name, temporary)

        def answer(node: int, name: str = name, session: str = session) -> str:
            return _outcome(
                lambda: pool.apps[node].respond_to_auth_challenge(
                    ClientId=pool.client_id,
                    ChallengeName="NEW_PASSWORD_REQUIRED",
                    Session=session,
                    ChallengeResponses={"USERNAME": name, "NEW_PASSWORD": NEW_PASSWORD + str(node)},
                )
            )

        _exactly_one_wins(_at_once([lambda: answer(0), lambda: answer(1)]))


class Totp:
    """A user with a verified software token in a pool whose MFA is ON; codes of steps not used yet."""

    def __init__(self, pool: Pool, name: str) -> None:
        self.pool, self.name = pool, name
        if pool.admin.get_user_pool_mfa_config(UserPoolId=pool.id)["MfaConfiguration"] == "OFF":
            pool.admin.set_user_pool_mfa_config(
                UserPoolId=pool.id, MfaConfiguration="OPTIONAL", SoftwareTokenMfaConfiguration={"Enabled": True}
            )
        pool.user(name)
        access = pool.sign_in(0, name)["AuthenticationResult"]["AccessToken"]
        self.secret = pool.apps[0].associate_software_token(AccessToken=access)["SecretCode"]
        self.step = int(time.time()) // 30
        verified = pool.apps[1].verify_software_token(AccessToken=access, UserCode=self.code_of(self.step))
        assert verified["Status"] == "SUCCESS"
        pool.apps[0].set_user_mfa_preference(
            AccessToken=access, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )

    def code_of(self, step: int) -> str:
        return str(pyotp.TOTP(self.secret).at(step * 30 + 1))

    def fresh(self) -> str:
        """A code of a step the server has not taken: the current one, else the next (±1 step accepted)."""
        self.step = max(int(time.time()) // 30, self.step + 1)
        return self.code_of(self.step)

    def challenge(self, node: int) -> str:
        out = self.pool.sign_in(node, self.name)
        assert out["ChallengeName"] == "SOFTWARE_TOKEN_MFA", out
        return str(out["Session"])

    def answer(self, node: int, session: str, code: str) -> str:
        return _outcome(
            lambda: self.pool.apps[node].respond_to_auth_challenge(
                ClientId=self.pool.client_id,
                ChallengeName="SOFTWARE_TOKEN_MFA",
                Session=session,
                ChallengeResponses={"USERNAME": self.name, "SOFTWARE_TOKEN_MFA_CODE": code},
            )
        )


def test_totp_code_used_on_one_node_is_refused_on_the_other(pool: Pool) -> None:
    totp = Totp(pool, "tia")
    code = totp.fresh()
    assert totp.answer(0, totp.challenge(0), code) == "ok"
    assert totp.answer(1, totp.challenge(1), code) == "ExpiredCodeException"


def test_totp_code_sent_to_both_nodes_at_once_signs_in_once(pool: Pool) -> None:
    for round_ in range(ROUNDS):  # a user each round: a software token has a fresh step about every 30 s
        totp = Totp(pool, f"tom-{round_}")
        code = totp.fresh()
        # two sign-ins (a stolen password and a phished code), each answered on its own node
        sessions = [totp.challenge(0), totp.challenge(1)]
        outcomes = _at_once([partial(totp.answer, node, sessions[node], code) for node in (0, 1)])
        _exactly_one_wins(outcomes)


def test_totp_session_answered_on_both_nodes_at_once_signs_in_once(pool: Pool) -> None:
    for round_ in range(ROUNDS):
        totp = Totp(pool, f"tess-{round_}")
        code = totp.fresh()
        session = totp.challenge(round_ % 2)
        _exactly_one_wins(_at_once([partial(totp.answer, node, session, code) for node in (0, 1)]))


def test_rotated_refresh_token_sent_to_both_nodes_at_once_is_taken_once(nodes: tuple[Server, Server]) -> None:
    """With rotation and no grace period a refresh token is single use: of two refreshes with the
    same token at once, on two nodes, one gets the next token and the other is refused."""
    p = Pool(nodes)
    try:
        client_id = p.admin.create_user_pool_client(
            UserPoolId=p.id,
            ClientName="rotating",
            ExplicitAuthFlows=FLOWS,
            RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 0},
        )["UserPoolClient"]["ClientId"]
        p.user("rory")
        token = p.apps[0].initiate_auth(
            ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "rory", "PASSWORD": PASSWORD}
        )["AuthenticationResult"]["RefreshToken"]
        issued: list[str] = []

        def rotate(node: int, token: str) -> str:
            try:
                out = p.apps[node].get_tokens_from_refresh_token(RefreshToken=token, ClientId=client_id)
            except ClientError as err:
                return str(err.response["Error"]["Code"])
            issued.append(out["AuthenticationResult"]["RefreshToken"])
            return "ok"

        for _ in range(ROUNDS):
            issued.clear()
            _exactly_one_wins(_at_once([partial(rotate, node, token) for node in (0, 1)]))
            assert rotate(0, token) == "NotAuthorizedException"  # spent
            (token,) = issued  # the winner's token is the lineage's current one, on either node
            assert rotate(1, token) == "ok"
            token = issued[-1]
    finally:
        p.admin.delete_user_pool(UserPoolId=p.id)
        p.close()
