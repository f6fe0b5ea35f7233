"""Temporary passwords Ostiary generates are kept with a fast keyed hash; passwords people choose never are
(issue 13: AdminCreateUser at >= 500/s per core "without lowering Argon2 for passwords people choose").

A generated temporary password has >= 128 bits of entropy, so an HMAC-SHA256 under a KEK-derived key
protects it as well as Argon2id would. The attacks: a password a person chose (an admin's
TemporaryPassword, AdminSetUserPassword, the new password of NEW_PASSWORD_REQUIRED, SignUp,
ChangePassword) stored with the fast hash would be cheap to guess offline for whoever holds the KEK;
a generated password that still signs in after it was changed; a fast hash accepted without the key.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from ostiary.crypto.passwords import GENERATED_PREFIX
from ostiary.store import tables as t
from ostiary.userpools import passwords as policy
from tests.conftest import Server
from tests.userpools.conftest import PoolSetup, make_pool

CHOSEN = "Chosen-Passw0rd!"


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    s: Server = server_factory(args=("--dev",))
    return s


@pytest.fixture(scope="module")
def engine(srv: Server) -> Iterator[sa.Engine]:
    eng = sa.create_engine(srv.database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def setup(srv: Server) -> PoolSetup:
    return make_pool(srv.client("cognito-idp"))


def _stored(engine: sa.Engine, pool_id: str, username: str) -> str:
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(t.users.c.password_hash).where(t.users.c.user_pool_id == pool_id, t.users.c.username == username)
        ).scalar_one()
    return str(value)


def _invite(srv: Server, setup: PoolSetup, username: str, **extra: Any) -> str:
    """AdminCreateUser with an email invitation; the temporary password from the outbox."""
    email = f"{username}@example.com"
    setup.idp.admin_create_user(
        UserPoolId=setup.pool_id,
        Username=username,
        DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": email}],
        **extra,
    )
    body = httpx.get(srv.url + "/_ostiary/outbox", params={"destination": email, "limit": 1}).json()["messages"][0]
    return str(body["body"].split("temporary password is ", 1)[1].rsplit(".", 1)[0])  # the template ends ". "


def _password_auth(setup: PoolSetup, username: str, password: str) -> dict[str, Any]:
    result: dict[str, Any] = setup.idp.initiate_auth(
        ClientId=setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return result


def _srp_auth(setup: PoolSetup, username: str, password: str) -> dict[str, Any]:
    srp_client = AWSSRP(
        username=username, password=password, pool_id=setup.pool_id, client_id=setup.client_id, client=setup.idp
    )
    first = setup.idp.initiate_auth(
        ClientId=setup.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=srp_client.get_auth_params()
    )
    answer = srp_client.process_challenge(first["ChallengeParameters"], {"USERNAME": username})
    result: dict[str, Any] = setup.idp.respond_to_auth_challenge(
        ClientId=setup.client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=answer
    )
    return result


def test_generated_passwords_carry_128_bits() -> None:
    symbols = "^$*.[]{}()?!@#%&/,><:;|_~=+-"
    alphabet = string.ascii_letters + string.digits + symbols
    for minimum in (6, 8, 20, 99):
        pw = policy.temporary_password({"MinimumLength": minimum})
        assert len(pw) >= max(minimum, 24) and set(pw) <= set(alphabet)
        assert policy.policy_problem(pw, {"MinimumLength": minimum}) is None
    # the characters after the four forced ones alone (uniform over the 90 of all classes)
    assert (policy.GENERATED_LENGTH - 4) * math.log2(len(alphabet)) >= 128


def test_a_generated_password_is_fast_hashed_and_works_once(srv: Server, setup: PoolSetup, engine: sa.Engine) -> None:
    temp = _invite(srv, setup, "gen")
    assert _stored(engine, setup.pool_id, "gen").startswith(GENERATED_PREFIX)
    # it signs in with USER_PASSWORD_AUTH and with SRP, and must then be changed
    assert _srp_auth(setup, "gen", temp)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    challenge = _password_auth(setup, "gen", temp)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    with pytest.raises(ClientError) as exc:  # a wrong password is refused as always
        _password_auth(setup, "gen", temp[:-1] + ("a" if temp[-1] != "a" else "b"))
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    done = setup.idp.respond_to_auth_challenge(
        ClientId=setup.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "gen", "NEW_PASSWORD": CHOSEN},
    )
    assert done["AuthenticationResult"]["AccessToken"]
    # the password the person chose is Argon2id; the generated one no longer signs in
    assert _stored(engine, setup.pool_id, "gen").startswith("$argon2id$")
    for attempt in (_password_auth, _srp_auth):
        with pytest.raises(ClientError) as exc:
            attempt(setup, "gen", temp)
        assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert _password_auth(setup, "gen", CHOSEN)["AuthenticationResult"]["AccessToken"]


def test_a_resent_generated_password_is_fast_hashed(srv: Server, setup: PoolSetup, engine: sa.Engine) -> None:
    first = _invite(srv, setup, "resent")
    second = _invite(srv, setup, "resent", MessageAction="RESEND")
    assert first != second
    assert _stored(engine, setup.pool_id, "resent").startswith(GENERATED_PREFIX)
    with pytest.raises(ClientError):
        _password_auth(setup, "resent", first)
    assert _password_auth(setup, "resent", second)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_chosen_passwords_never_get_the_fast_hash(srv: Server, setup: PoolSetup, engine: sa.Engine) -> None:
    idp, pool_id = setup.idp, setup.pool_id
    # an administrator's TemporaryPassword was chosen by a person
    idp.admin_create_user(UserPoolId=pool_id, Username="admin-temp", TemporaryPassword=CHOSEN, MessageAction="SUPPRESS")
    assert _stored(engine, pool_id, "admin-temp").startswith("$argon2id$")
    idp.admin_create_user(
        UserPoolId=pool_id, Username="admin-temp", TemporaryPassword="Other-Passw0rd!", MessageAction="RESEND"
    )
    assert _stored(engine, pool_id, "admin-temp").startswith("$argon2id$")
    # AdminSetUserPassword, temporary or permanent, on a user who had a generated password
    _invite(srv, setup, "set-later")
    for permanent in (False, True):
        idp.admin_set_user_password(UserPoolId=pool_id, Username="set-later", Password=CHOSEN, Permanent=permanent)
        assert _stored(engine, pool_id, "set-later").startswith("$argon2id$")
    # SignUp and ChangePassword
    idp.sign_up(ClientId=setup.client_id, Username="signed-up", Password=CHOSEN)
    assert _stored(engine, pool_id, "signed-up").startswith("$argon2id$")
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username="signed-up")
    token = _password_auth(setup, "signed-up", CHOSEN)["AuthenticationResult"]["AccessToken"]
    idp.change_password(AccessToken=token, PreviousPassword=CHOSEN, ProposedPassword="Changed-Passw0rd!")
    assert _stored(engine, pool_id, "signed-up").startswith("$argon2id$")


def test_a_fast_hash_not_made_with_the_servers_key_is_refused(srv: Server, setup: PoolSetup, engine: sa.Engine) -> None:
    """Someone who can write the database but does not hold the KEK cannot plant a password."""
    import base64
    import hashlib
    import hmac

    _invite(srv, setup, "planted")
    salt = b"\x00" * 16
    mac = hmac.new(b"\x01" * 32, salt + CHOSEN.encode(), hashlib.sha256).digest()
    forged = GENERATED_PREFIX + base64.urlsafe_b64encode(salt).decode().rstrip("=") + "$"
    forged += base64.urlsafe_b64encode(mac).decode().rstrip("=")
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.users)
            .where(t.users.c.user_pool_id == setup.pool_id, t.users.c.username == "planted")
            .values(password_hash=forged)
        )
    with pytest.raises(ClientError) as exc:
        _password_auth(setup, "planted", CHOSEN)
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
