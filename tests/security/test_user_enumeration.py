"""User enumeration where the app client sets PreventUserExistenceErrors=ENABLED (issue 10, item 6).

An attacker who does not know whether a user exists must get, for an unknown username, the answer a
real user would have given: shape for shape (same keys, same lengths and formats), stable where a real
user's answer is stable (an SRP salt, a masked destination), the same errors, the same lockout after
the same number of failures, and the same work on the server (counted through the
``ostiary_password_work_total`` metric, never by wall time). AWS documents what ENABLED changes in
the Cognito Developer Guide, "Managing user existence error responses".
"""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

import boto3
import httpx
import pytest
import sqlalchemy as sa
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from ostiary.userpools import srp
from tests.conftest import REGION, Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

ENABLED = {"PreventUserExistenceErrors": "ENABLED"}
INCORRECT = ("NotAuthorizedException", "Incorrect username or password.")
LOCKED = ("NotAuthorizedException", "Password attempts exceeded")
WRONG = "Wrong-Passw0rd!"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SALT_RE = re.compile(r"[1-7][0-9a-f]{31}")
MASKED_EMAIL = re.compile(r"[^@*]\*\*\*@[^@*]\*\*\*")
MASKED_PHONE = re.compile(r"\+\*{7}\d{4}")


@pytest.fixture(scope="module")
def dev_server(server_factory: Any) -> Server:
    """A server in development mode (codes readable from the outbox over HTTP)."""
    srv: Server = server_factory(args=("--dev",))
    return srv


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _app(server: Server) -> Any:
    """An app's client: unsigned, as a browser or mobile app calls these operations."""
    return boto3.client(
        "cognito-idp", endpoint_url=server.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )


def _pool(idp: Any, pool_args: dict[str, Any] | None = None, client_args: dict[str, Any] | None = None) -> PoolSetup:
    return make_pool(idp, pool_args, {**ENABLED, **(client_args or {})})


def _work(server: Server) -> dict[str, float]:
    """The server's password-work counters by kind (argon2_verify, argon2_hash, srp_session_key)."""
    out: dict[str, float] = {}
    for line in httpx.get(server.url + "/metrics").text.splitlines():
        m = re.fullmatch(r'ostiary_password_work_total\{kind="([a-z0-9_]+)"\} ([0-9.e+]+)', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def _delta(server: Server, before: dict[str, float]) -> dict[str, float]:
    after = _work(server)
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


def _srp_start(app: Any, s: PoolSetup, username: str, password: str = PASSWORD) -> tuple[AWSSRP, dict[str, Any]]:
    client = AWSSRP(username=username, password=password, pool_id=s.pool_id, client_id=s.client_id, client=app)
    first = app.initiate_auth(ClientId=s.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=client.get_auth_params())
    return client, first


def _srp_answer(app: Any, s: PoolSetup, client: AWSSRP, first: dict[str, Any]) -> Any:
    params = first["ChallengeParameters"]
    return app.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=client.process_challenge(params, {"USERNAME": params["USER_ID_FOR_SRP"]}),
    )


def _shape(first: dict[str, Any]) -> dict[str, Any]:
    """What a PASSWORD_VERIFIER challenge looks like, values aside."""
    p = first["ChallengeParameters"]
    big_b = int(p["SRP_B"], 16)
    assert 1 < big_b < srp.N and big_b % srp.N != 0
    assert p["SRP_B"] == format(big_b, "x")
    assert SALT_RE.fullmatch(p["SALT"]), p["SALT"]
    return {
        "ChallengeName": first["ChallengeName"],
        "keys": sorted(first),
        "parameters": sorted(p),
        "salt": len(p["SALT"]),
        "block": len(base64.b64decode(p["SECRET_BLOCK"])),
        "same-name": p["USERNAME"] == p["USER_ID_FOR_SRP"],
    }


# --------------------------------------------------------------------------------------------
# USER_SRP_AUTH


def test_srp_challenge_for_unknown_user_looks_like_a_real_one(server: Server, idp: Any) -> None:
    s = _pool(idp)
    create_confirmed_user(s, "alice")
    app = _app(server)
    real = [_srp_start(app, s, "alice")[1] for _ in range(3)]
    fake = [_srp_start(app, s, "bobby")[1] for _ in range(3)]
    other = _srp_start(app, s, "carol")[1]
    assert [_shape(r) for r in real] == [_shape(f) for f in fake] == [_shape(other)] * 3
    # the salt is the user's: stable for one name (a real user's salt is stored), not shared by names
    assert len({f["ChallengeParameters"]["SALT"] for f in fake}) == 1
    assert len({r["ChallengeParameters"]["SALT"] for r in real}) == 1
    assert other["ChallengeParameters"]["SALT"] != fake[0]["ChallengeParameters"]["SALT"]
    # B is fresh on every call, as a real user's is
    assert len({f["ChallengeParameters"]["SRP_B"] for f in fake}) == 3
    assert len({r["ChallengeParameters"]["SRP_B"] for r in real}) == 3
    # the internal name a plain-username pool answers is the name as given, for both
    assert fake[0]["ChallengeParameters"]["USER_ID_FOR_SRP"] == "bobby"
    assert real[0]["ChallengeParameters"]["USER_ID_FOR_SRP"] == "alice"


def test_srp_user_id_for_unknown_email_is_a_stable_uuid(server: Server, idp: Any) -> None:
    """In a pool whose usernames are email addresses the internal user id is a UUID: an unknown
    address gets a UUID too (AWS: the same salt and internal id for the same name and pool)."""
    s = _pool(idp, {"UsernameAttributes": ["email"]})
    s.idp.admin_create_user(
        UserPoolId=s.pool_id,
        Username="alice@example.com",
        UserAttributes=[{"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    s.idp.admin_set_user_password(UserPoolId=s.pool_id, Username="alice@example.com", Password=PASSWORD, Permanent=True)
    app = _app(server)
    real = _srp_start(app, s, "alice@example.com")[1]
    fake1 = _srp_start(app, s, "bobby@example.com")[1]
    fake2 = _srp_start(app, s, "Bobby@Example.com")[1]
    other = _srp_start(app, s, "carol@example.com")[1]
    assert _shape(real) == _shape(fake1) == _shape(other)
    ids = [x["ChallengeParameters"]["USER_ID_FOR_SRP"] for x in (real, fake1, fake2, other)]
    for value in ids:
        assert UUID_RE.fullmatch(value), value
    assert ids[1] == ids[2]  # addresses are matched without regard to case, as a real user's are
    assert ids[1] != ids[3]
    assert fake1["ChallengeParameters"]["SALT"] == fake2["ChallengeParameters"]["SALT"]


def test_srp_proof_for_unknown_user_fails_like_a_wrong_password(server: Server, idp: Any) -> None:
    s = _pool(idp)
    create_confirmed_user(s, "alice")
    app = _app(server)
    for name, password in (("alice", WRONG), ("bobby", PASSWORD)):
        client, first = _srp_start(app, s, name, password)
        before = _work(server)
        with pytest.raises(ClientError) as exc:
            _srp_answer(app, s, client, first)
        assert _err(exc) == INCORRECT, name
        # the same work for both: one SRP session key (two 3072-bit exponentiations)
        assert _delta(server, before) == {"srp_session_key": 1.0}, name
    client, first = _srp_start(app, s, "alice")
    assert _srp_answer(app, s, client, first)["AuthenticationResult"]["AccessToken"]


# --------------------------------------------------------------------------------------------
# passwords: the same work, the same lockout


def _password(app: Any, s: PoolSetup, username: str, password: str = WRONG) -> Any:
    return app.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": username, "PASSWORD": password}
    )


def test_password_sign_in_does_the_same_work(server: Server, idp: Any) -> None:
    s = _pool(idp)
    create_confirmed_user(s, "alice")
    app = _app(server)
    for name in ("alice", "bobby"):
        before = _work(server)
        with pytest.raises(ClientError) as exc:
            _password(app, s, name)
        assert _err(exc) == INCORRECT
        assert _delta(server, before) == {"argon2_verify": 1.0}, name
        before = _work(server)
        with pytest.raises(ClientError) as exc:
            s.idp.admin_initiate_auth(
                UserPoolId=s.pool_id,
                ClientId=s.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": name, "PASSWORD": WRONG},
            )
        assert _err(exc) == INCORRECT
        assert _delta(server, before) == {"argon2_verify": 1.0}, name


def _first_lock(attempt: Any, limit: int = 14) -> int | None:
    """The number of the first attempt answered "Password attempts exceeded" (1-based)."""
    for n in range(1, limit + 1):
        try:
            attempt()
        except ClientError as err:
            code = (err.response["Error"]["Code"], err.response["Error"]["Message"])
            if code == LOCKED:
                return n
            assert code == INCORRECT, code
        else:
            raise AssertionError("a wrong password was accepted")
    return None


def test_lockout_answers_unknown_users_too(server: Server, idp: Any) -> None:
    s = _pool(idp)
    create_confirmed_user(s, "alice")
    app = _app(server)
    real = _first_lock(lambda: _password(app, s, "alice"))
    fake = _first_lock(lambda: _password(app, s, "bobby"))
    # five free failures, then the lock (1 s, doubling): both are locked, neither before the sixth
    assert real is not None and real >= 6
    assert fake is not None and fake >= 6

    def srp_failure() -> None:
        client, first = _srp_start(app, s, "carol", WRONG)
        _srp_answer(app, s, client, first)

    srp_lock = _first_lock(srp_failure)
    assert srp_lock is not None and srp_lock >= 6
    # an unknown name's counter is kept under a keyed hash of the name, never the name itself
    engine = sa.create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            keys = (
                conn.execute(
                    sa.text("SELECT key FROM counters WHERE key LIKE :prefix"),
                    {"prefix": f"signin-fail:user:{s.pool_id}:%"},
                )
                .scalars()
                .all()
            )
    finally:
        engine.dispose()
    assert len(keys) == 3
    assert not [k for k in keys if "bobby" in k or "carol" in k]


def test_lockout_rows_of_unknown_users_expire(server: Server, idp: Any) -> None:
    """Counting failures of unknown names must not grow without bound: a counter idle for 15 minutes
    is reset (as AWS resets a lockout after 15 minutes without attempts) and swept."""
    import datetime as dt

    from ostiary.userpools import lockout

    s = _pool(idp)
    app = _app(server)
    names = [f"ghost{n}" for n in range(6)]
    for name in names:
        with pytest.raises(ClientError):
            _password(app, s, name)
    assert _first_lock(lambda: _password(app, s, "ghost0")) is not None
    engine = sa.create_engine(server.database_url)
    prefix = f"signin-fail:%:{s.pool_id}:%"
    try:
        with engine.begin() as conn:
            count = sa.text("SELECT count(*) FROM counters WHERE key LIKE :p")
            assert conn.execute(count, {"p": prefix}).scalar_one() == len(names) + 1  # + the address
            past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
            conn.execute(sa.text("UPDATE counters SET window_start = :t WHERE key LIKE :p"), {"t": past, "p": prefix})
        # idle for more than 15 minutes: ghost0 starts again from zero
        with pytest.raises(ClientError) as exc:
            _password(app, s, "ghost0")
        assert _err(exc) == INCORRECT
        with pytest.raises(ClientError) as exc:
            _password(app, s, "ghost0")
        assert _err(exc) == INCORRECT
        with engine.begin() as conn:
            lockout.sweep(conn, dt.datetime.now(dt.UTC))
            left = conn.execute(sa.text("SELECT count(*) FROM counters WHERE key LIKE :p"), {"p": prefix})
            assert left.scalar_one() == 2  # ghost0 and the address, both active; the idle ones are gone
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------
# ForgotPassword, ConfirmForgotPassword, ResendConfirmationCode


def _details(app: Any, s: PoolSetup, username: str) -> dict[str, str]:
    out: dict[str, str] = app.forgot_password(ClientId=s.client_id, Username=username)["CodeDeliveryDetails"]
    return out


def test_forgot_password_simulated_delivery_looks_real(server: Server, idp: Any) -> None:
    s = _pool(idp)
    create_confirmed_user(s, "alice", email="alice@example.com", email_verified="true")
    create_confirmed_user(s, "dora", email="dora@example.com", email_verified="true")
    create_confirmed_user(s, "nina", email="nina@example.com")  # not verified: nowhere to send a code
    s.idp.admin_disable_user(UserPoolId=s.pool_id, Username="dora")
    app = _app(server)
    real = _details(app, s, "alice")
    assert real == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    names = [f"user{n:02d}" for n in range(12)]
    fakes = [_details(app, s, n) for n in names]
    for fake in fakes:
        assert sorted(fake) == sorted(real)
        assert (fake["DeliveryMedium"], fake["AttributeName"]) == ("EMAIL", "email")
        assert MASKED_EMAIL.fullmatch(fake["Destination"]), fake
    assert [_details(app, s, n) for n in names[:3]] == fakes[:3]  # stable per name
    # not a transform of the name with a constant domain: addresses vary as real ones do
    assert len({f["Destination"].split("@")[1] for f in fakes}) > 1
    assert len({f["Destination"][0] for f in fakes}) > 1
    # a disabled user, or one without a verified address, is answered like an unknown one (AWS)
    for name in ("dora", "nina"):
        fake = _details(app, s, name)
        assert MASKED_EMAIL.fullmatch(fake["Destination"]) and fake["DeliveryMedium"] == "EMAIL", name
        assert _details(app, s, name) == fake


def test_forgot_password_simulated_sms_where_the_pool_recovers_by_phone(server: Server, idp: Any) -> None:
    s = _pool(
        idp,
        {
            "AutoVerifiedAttributes": ["phone_number"],
            "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "verified_phone_number", "Priority": 1}]},
        },
    )
    create_confirmed_user(s, "alice", phone_number="+15555550123", phone_number_verified="true")
    app = _app(server)
    real = _details(app, s, "alice")
    assert real == {"Destination": "+*******0123", "DeliveryMedium": "SMS", "AttributeName": "phone_number"}
    fake = _details(app, s, "bobby")
    assert sorted(fake) == sorted(real)
    assert (fake["DeliveryMedium"], fake["AttributeName"]) == ("SMS", "phone_number")
    assert MASKED_PHONE.fullmatch(fake["Destination"]), fake
    assert _details(app, s, "bobby") == fake
    assert _details(app, s, "carol") != fake


def test_confirm_forgot_password_answers_and_works_alike(dev_server: Server) -> None:
    from tests.userpools.conftest import outbox_code

    idp = dev_server.client("cognito-idp")
    s = _pool(idp)
    create_confirmed_user(s, "alice", email="alice@example.com", email_verified="true")
    create_confirmed_user(s, "dora", email="dora@example.com", email_verified="true")
    app = _app(dev_server)
    app.forgot_password(ClientId=s.client_id, Username="alice")
    app.forgot_password(ClientId=s.client_id, Username="dora")
    dora_code = outbox_code(dev_server, "dora@example.com")
    s.idp.admin_disable_user(UserPoolId=s.pool_id, Username="dora")
    for name in ("alice", "bobby"):
        with pytest.raises(ClientError) as exc:  # the password policy is checked for both
            app.confirm_forgot_password(ClientId=s.client_id, Username=name, ConfirmationCode="123456", Password="a")
        assert _err(exc)[0] == "InvalidPasswordException", name
        before = _work(dev_server)
        with pytest.raises(ClientError) as exc:
            app.confirm_forgot_password(
                ClientId=s.client_id, Username=name, ConfirmationCode="000000", Password="N3w-Passw0rd!"
            )
        assert _err(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
        assert _delta(dev_server, before) == {"argon2_hash": 1.0}, name
    # a disabled user: CodeMismatchException even with the right code (AWS), and the password stays
    with pytest.raises(ClientError) as exc:
        app.confirm_forgot_password(
            ClientId=s.client_id, Username="dora", ConfirmationCode=dora_code, Password="N3w-Passw0rd!"
        )
    assert _err(exc)[0] == "CodeMismatchException"
    s.idp.admin_enable_user(UserPoolId=s.pool_id, Username="dora")
    assert _password(app, s, "dora", PASSWORD)["AuthenticationResult"]


def test_resend_confirmation_code_for_unknown_and_disabled_users(server: Server, idp: Any) -> None:
    s = _pool(idp)
    app = _app(server)
    app.sign_up(
        ClientId=s.client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    app.sign_up(
        ClientId=s.client_id, Username="dora", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": "d@x.io"}]
    )
    s.idp.admin_disable_user(UserPoolId=s.pool_id, Username="dora")
    real = app.resend_confirmation_code(ClientId=s.client_id, Username="alice")["CodeDeliveryDetails"]
    assert real == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}
    for name in ("bobby", "dora"):
        fake = app.resend_confirmation_code(ClientId=s.client_id, Username=name)["CodeDeliveryDetails"]
        assert sorted(fake) == sorted(real) and fake["DeliveryMedium"] == "EMAIL"
        assert MASKED_EMAIL.fullmatch(fake["Destination"]), fake
        assert app.resend_confirmation_code(ClientId=s.client_id, Username=name)["CodeDeliveryDetails"] == fake
    # not the unknown name's initial at a constant domain
    fakes = [
        app.resend_confirmation_code(ClientId=s.client_id, Username=f"u{n}")["CodeDeliveryDetails"] for n in range(8)
    ]
    assert len({f["Destination"] for f in fakes}) > 1
    # a pool that verifies nothing automatically refuses to resend, for unknown users as for real ones
    quiet = _pool(idp, {"AutoVerifiedAttributes": []})
    app.sign_up(ClientId=quiet.client_id, Username="alice", Password=PASSWORD)
    for name in ("alice", "bobby"):
        with pytest.raises(ClientError) as exc:
            app.resend_confirmation_code(ClientId=quiet.client_id, Username=name)
        assert _err(exc) == ("InvalidParameterException", "Auto verification not turned on."), name


def test_email_otp_challenge_for_unknown_user_names_a_masked_address(server: Server, idp: Any) -> None:
    s = _pool(
        idp,
        {"Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP"]}}},
        {"ExplicitAuthFlows": ["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]},
    )
    create_confirmed_user(s, "alice", email="alice@example.com", email_verified="true")
    app = _app(server)
    shapes = []
    for name in ("alice", "bobby"):
        start = app.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_AUTH",
            AuthParameters={"USERNAME": name, "PREFERRED_CHALLENGE": "EMAIL_OTP"},
        )
        params = start["ChallengeParameters"]
        assert start["ChallengeName"] == "EMAIL_OTP", name
        assert MASKED_EMAIL.fullmatch(params["CODE_DELIVERY_DESTINATION"]), params
        shapes.append((sorted(start), sorted(params), params["CODE_DELIVERY_DELIVERY_MEDIUM"]))
    assert shapes[0] == shapes[1]


def test_sign_up_still_says_the_username_exists(server: Server, idp: Any) -> None:
    """AWS keeps UsernameExistsException with ENABLED (aliases are the way around it)."""
    s = _pool(idp)
    app = _app(server)
    app.sign_up(ClientId=s.client_id, Username="alice", Password=PASSWORD)
    with pytest.raises(ClientError) as exc:
        app.sign_up(ClientId=s.client_id, Username="alice", Password=PASSWORD)
    assert _err(exc) == ("UsernameExistsException", "User already exists")


def test_legacy_clients_still_say_user_not_found(server: Server, idp: Any) -> None:
    s = make_pool(idp, client_args={"PreventUserExistenceErrors": "LEGACY"})
    app = _app(server)
    with pytest.raises(ClientError) as exc:
        _srp_start(app, s, "nobody-" + secrets.token_hex(3))
    assert _err(exc) == ("UserNotFoundException", "User does not exist.")


def test_forgot_password_does_not_wait_for_the_mail_server(server_factory: Any) -> None:
    """A real user's ForgotPassword sends mail, an unknown one's does not: if the answer waited for
    the SMTP conversation, its delay would tell them apart (and the request would hold its database
    transaction meanwhile). Here the mail server accepts the connection and never answers (the sender
    gives up after 10 s): the request must still be answered at once (the client waits 4 s at most;
    before: a read timeout)."""
    import socket
    import threading

    from botocore.config import Config as BotoConfig

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)  # never greets: the SMTP client waits for "220"

    threading.Thread(target=hold, daemon=True).start()
    try:
        port = str(listener.getsockname()[1])
        srv = server_factory(env={"OSTIARY_SMTP_HOST": "127.0.0.1", "OSTIARY_SMTP_PORT": port})
        s = _pool(srv.client("cognito-idp"))
        create_confirmed_user(s, "quiet", email="quiet@example.com", email_verified="true")
        app = boto3.client(
            "cognito-idp",
            endpoint_url=srv.url,
            region_name=REGION,
            config=BotoConfig(signature_version=UNSIGNED, read_timeout=4, retries={"max_attempts": 1}),
        )
        for name in ("quiet", "nobody-" + secrets.token_hex(3)):
            details = app.forgot_password(ClientId=s.client_id, Username=name)["CodeDeliveryDetails"]
            assert details["DeliveryMedium"] == "EMAIL"
    finally:
        stop.set()
        for conn in accepted:
            conn.close()
        listener.close()
