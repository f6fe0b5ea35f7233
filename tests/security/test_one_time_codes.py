"""One-time codes cannot be guessed across re-issues (issue 10, item 3).

A code allows a few wrong guesses, but every kind of code can be sent again (ResendConfirmationCode,
ForgotPassword, GetUserAttributeVerificationCode, UpdateUserAttributes, EMAIL_OTP / SMS_OTP sign-in,
SMS / email MFA): if each new code brought fresh guesses, an attacker would guess, ask for a new code,
guess again... until a 6-digit code falls. Failed verifications are counted per user and kind of code
across re-issues, issuance is limited per user and per destination, and past the limits the server
answers AWS's ``LimitExceededException`` ("Attempt limit exceeded, please try after some time.") until
a back-off has passed; a successful verification resets the count. Where PreventUserExistenceErrors is
ENABLED an unknown user is limited exactly as a real one is, so the limits tell no one who exists.

Codes are read from the development outbox. The servers here use the default limits (5 failures,
5 codes per user and kind, 10 per destination, per hour; 900 s back-off), except ``quick``, whose
back-off is 1 s so that one test can see it pass.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.conftest import Server

PASSWORD = "Corr3ct-Horse!"
NEW_PASSWORD = "N3w-Horse-Battery!"
LIMIT = ("LimitExceededException", "Attempt limit exceeded, please try after some time.")
MISMATCH = "CodeMismatchException"
SMS_CONFIG = {"SnsCallerArn": "arn:aws:iam::123456789012:role/sns", "ExternalId": "x"}
FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
OTP_POLICY = {"SignInPolicy": {"AllowedFirstAuthFactors": ["PASSWORD", "EMAIL_OTP", "SMS_OTP"]}}


@pytest.fixture(scope="module")
def srv(server_factory: Any) -> Server:
    server: Server = server_factory(args=("--dev",))
    return server


@pytest.fixture(scope="module")
def quick(server_factory: Any) -> Server:
    server: Server = server_factory(args=("--dev",), env={"OSTIARY_CODE_BACKOFF_SECONDS": "1"})
    return server


class Pool:
    def __init__(self, server: Server, hide_users: bool = False, **pool_args: Any) -> None:
        self.server = server
        self.idp = server.client("cognito-idp")
        args: dict[str, Any] = {"PoolName": "codes-" + secrets.token_hex(4), "AutoVerifiedAttributes": ["email"]}
        args.update(pool_args)
        self.id = self.idp.create_user_pool(**args)["UserPool"]["Id"]
        client_args: dict[str, Any] = {
            "UserPoolId": self.id,
            "ClientName": "app",
            "ExplicitAuthFlows": FLOWS,
            "PreventUserExistenceErrors": "ENABLED" if hide_users else "LEGACY",
        }
        self.client_id = self.idp.create_user_pool_client(**client_args)["UserPoolClient"]["ClientId"]

    def user(self, name: str, **attributes: str) -> None:
        """A confirmed user with a password and the given (verified) attributes."""
        attrs = [{"Name": k, "Value": v} for k, v in attributes.items()]
        self.idp.admin_create_user(UserPoolId=self.id, Username=name, UserAttributes=attrs, MessageAction="SUPPRESS")
        self.idp.admin_set_user_password(UserPoolId=self.id, Username=name, Password=PASSWORD, Permanent=True)

    def sign_in(self, name: str) -> str:
        result = self.idp.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
        )
        return str(result["AuthenticationResult"]["AccessToken"])


def _address() -> str:
    return f"v-{secrets.token_hex(5)}@example.com"


def _phone() -> str:
    return "+1555" + str(secrets.randbelow(10**7)).zfill(7)


def _messages(server: Server, destination: str) -> list[dict[str, Any]]:
    r = httpx.get(server.url + "/_ostiary/outbox", params={"destination": destination, "limit": 100})
    r.raise_for_status()
    return list(r.json()["messages"])


def _code(server: Server, destination: str) -> str:
    """The newest code sent to ``destination``."""
    found = _messages(server, destination)
    assert found, f"no message to {destination}"
    m = re.search(r"\b(\d{6})\b", found[0]["body"])
    assert m, found[0]["body"]
    return m.group(1)


def _wrong(real: str, k: int = 0) -> str:
    return f"{(int(real) + 1 + k) % 10**6:06d}"


def _outcome(call: Callable[[], Any]) -> str:
    """The error code of a call, or "ok"."""
    try:
        call()
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    return "ok"


def _limited(exc: pytest.ExceptionInfo[ClientError]) -> None:
    response = exc.value.response
    assert (response["Error"]["Code"], response["Error"]["Message"]) == LIMIT
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def _attack(guess: Callable[[str], None], reissue: Callable[[], None], newest: Callable[[], str]) -> int:
    """Guess wrong twice, ask for a new code, guess again ... as an attacker would. Returns how many wrong
    guesses were checked (answered CodeMismatchException) before the server said LimitExceededException;
    fails if it never does."""
    checked = 0
    for _round in range(12):
        real = newest()
        for k in range(2):
            try:
                guess(_wrong(real, k))
            except ClientError as err:
                code = err.response["Error"]["Code"]
                if code == LIMIT[0]:
                    assert err.response["Error"]["Message"] == LIMIT[1]
                    return checked
                assert code in (MISMATCH, "NotAuthorizedException"), code
                checked += 1
            else:
                raise AssertionError("a wrong code was accepted")
        try:
            reissue()
        except ClientError as err:
            if err.response["Error"]["Code"] == LIMIT[0]:
                return checked
            raise
    raise AssertionError(f"{checked} wrong guesses across re-issued codes, and never LimitExceededException")


# --------------------------------------------------------------------------------------------
# the attack, for each kind of code


def test_confirmation_codes_resent_do_not_restore_guesses(srv: Server) -> None:
    p = Pool(srv)
    email = _address()
    p.idp.sign_up(
        ClientId=p.client_id, Username="ada", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}]
    )

    def guess(code: str) -> None:
        p.idp.confirm_sign_up(ClientId=p.client_id, Username="ada", ConfirmationCode=code)

    def reissue() -> None:
        p.idp.resend_confirmation_code(ClientId=p.client_id, Username="ada")

    assert _attack(guess, reissue, lambda: _code(srv, email)) <= 5
    with pytest.raises(ClientError) as exc:  # the real code is refused while locked
        guess(_code(srv, email))
    _limited(exc)
    with pytest.raises(ClientError) as exc:  # and no new code is sent
        reissue()
    _limited(exc)
    assert p.idp.admin_get_user(UserPoolId=p.id, Username="ada")["UserStatus"] == "UNCONFIRMED"


def test_forgot_password_codes_reissued_do_not_restore_guesses(srv: Server) -> None:
    p = Pool(srv)
    email = _address()
    p.user("bea", email=email, email_verified="true")

    def guess(code: str) -> None:
        p.idp.confirm_forgot_password(
            ClientId=p.client_id, Username="bea", ConfirmationCode=code, Password=NEW_PASSWORD
        )

    def reissue() -> None:
        p.idp.forgot_password(ClientId=p.client_id, Username="bea")

    reissue()
    assert _attack(guess, reissue, lambda: _code(srv, email)) <= 5
    with pytest.raises(ClientError) as exc:
        guess(_code(srv, email))
    _limited(exc)
    p.sign_in("bea")  # the password did not change


def test_attribute_verification_codes_reissued_do_not_restore_guesses(srv: Server) -> None:
    p = Pool(srv)
    p.user("cleo", email=_address(), email_verified="true")
    access = p.sign_in("cleo")
    claimed = _address()  # an address cleo does not own: she must not get it verified by guessing
    p.idp.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "email", "Value": claimed}])

    def guess(code: str) -> None:
        p.idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=code)

    def reissue() -> None:
        p.idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")

    assert _attack(guess, reissue, lambda: _code(srv, claimed)) <= 5
    with pytest.raises(ClientError) as exc:
        guess(_code(srv, claimed))
    _limited(exc)
    attrs = {a["Name"]: a["Value"] for a in p.idp.get_user(AccessToken=access)["UserAttributes"]}
    assert attrs["email_verified"] == "false"


@pytest.mark.parametrize("challenge", ["EMAIL_OTP", "SMS_OTP"])
def test_sign_in_codes_reissued_do_not_restore_guesses(srv: Server, challenge: str) -> None:
    p = Pool(srv, Policies=OTP_POLICY)
    email, phone = _address(), _phone()
    p.user("dora", email=email, email_verified="true", phone_number=phone, phone_number_verified="true")
    destination = email if challenge == "EMAIL_OTP" else phone
    field = f"{challenge}_CODE"
    session: dict[str, str] = {}

    def reissue() -> None:
        start = p.idp.initiate_auth(
            ClientId=p.client_id,
            AuthFlow="USER_AUTH",
            AuthParameters={"USERNAME": "dora", "PREFERRED_CHALLENGE": challenge},
        )
        assert start["ChallengeName"] == challenge
        session["id"] = start["Session"]

    def guess(code: str) -> None:
        p.idp.respond_to_auth_challenge(
            ClientId=p.client_id,
            ChallengeName=challenge,
            Session=session["id"],
            ChallengeResponses={"USERNAME": "dora", field: code},
        )

    reissue()
    assert _attack(guess, reissue, lambda: _code(srv, destination)) <= 5
    with pytest.raises(ClientError) as exc:
        guess(_code(srv, destination))
    _limited(exc)


def test_mfa_codes_reissued_do_not_restore_guesses(srv: Server) -> None:
    """An attacker who has the password, not the phone."""
    p = Pool(srv)
    p.idp.set_user_pool_mfa_config(
        UserPoolId=p.id, MfaConfiguration="ON", SmsMfaConfiguration={"SmsConfiguration": SMS_CONFIG}
    )
    phone = _phone()
    p.user("eve", phone_number=phone, phone_number_verified="true")
    session: dict[str, str] = {}

    def reissue() -> None:
        start = p.idp.initiate_auth(
            ClientId=p.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "eve", "PASSWORD": PASSWORD},
        )
        assert start["ChallengeName"] == "SMS_MFA"
        session["id"] = start["Session"]

    def guess(code: str) -> None:
        p.idp.respond_to_auth_challenge(
            ClientId=p.client_id,
            ChallengeName="SMS_MFA",
            Session=session["id"],
            ChallengeResponses={"USERNAME": "eve", "SMS_MFA_CODE": code},
        )

    reissue()
    assert _attack(guess, reissue, lambda: _code(srv, phone)) <= 5
    with pytest.raises(ClientError) as exc:
        guess(_code(srv, phone))
    _limited(exc)


def test_concurrent_guesses_are_counted_one_by_one(srv: Server) -> None:
    """Guesses sent at once cannot slip past the count (the code's row is locked while checked)."""
    from concurrent.futures import ThreadPoolExecutor

    p = Pool(srv)
    email = _address()
    p.user("fay", email=email, email_verified="true")
    p.idp.forgot_password(ClientId=p.client_id, Username="fay")
    real = _code(srv, email)
    clients = [srv.client("cognito-idp") for _ in range(8)]

    def guess(k: int) -> str:
        return _outcome(
            lambda: clients[k % 8].confirm_forgot_password(
                ClientId=p.client_id, Username="fay", ConfirmationCode=_wrong(real, k), Password=NEW_PASSWORD
            )
        )

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(guess, range(24)))
    assert outcomes.count(MISMATCH) <= 5
    assert outcomes.count(MISMATCH) + outcomes.count(LIMIT[0]) == 24


# --------------------------------------------------------------------------------------------
# issuance limits


def test_issuance_is_limited_per_user(srv: Server) -> None:
    p = Pool(srv)
    email = _address()
    p.user("finn", email=email, email_verified="true")
    for _ in range(5):
        p.idp.forgot_password(ClientId=p.client_id, Username="finn")
    with pytest.raises(ClientError) as exc:
        p.idp.forgot_password(ClientId=p.client_id, Username="finn")
    _limited(exc)
    assert len(_messages(srv, email)) == 5
    # another kind of code has its own count
    access = p.sign_in("finn")
    p.idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    assert len(_messages(srv, email)) == 6


def test_resending_confirmation_codes_is_limited(srv: Server) -> None:
    p = Pool(srv)
    email = _address()
    p.idp.sign_up(
        ClientId=p.client_id, Username="gus", Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}]
    )
    for _ in range(4):
        p.idp.resend_confirmation_code(ClientId=p.client_id, Username="gus")
    with pytest.raises(ClientError) as exc:
        p.idp.resend_confirmation_code(ClientId=p.client_id, Username="gus")
    _limited(exc)
    # the newest code still confirms the user (nothing failed)
    p.idp.confirm_sign_up(ClientId=p.client_id, Username="gus", ConfirmationCode=_code(srv, email))


def test_issuance_is_limited_per_destination(srv: Server) -> None:
    """Many users sharing a victim's address cannot be used to flood it."""
    p = Pool(srv)
    victim = _address()
    for i in range(10):
        p.idp.sign_up(
            ClientId=p.client_id,
            Username=f"flood{i}",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": victim}],
        )
    with pytest.raises(ClientError) as exc:
        p.idp.sign_up(
            ClientId=p.client_id,
            Username="flood10",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": victim}],
        )
    _limited(exc)
    with pytest.raises(ClientError) as exc:
        p.idp.resend_confirmation_code(ClientId=p.client_id, Username="flood0")
    _limited(exc)
    # the address is compared as the user typed it, whatever the case
    with pytest.raises(ClientError) as exc:
        p.idp.sign_up(
            ClientId=p.client_id,
            Username="flood11",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": victim.upper()}],
        )
    _limited(exc)
    assert len(_messages(srv, victim)) == 10
    # the same address in another pool is counted there
    other = Pool(srv)
    other.idp.sign_up(
        ClientId=other.client_id,
        Username="flood0",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": victim}],
    )


def test_a_flooded_destination_tells_nothing_where_users_are_hidden(srv: Server) -> None:
    p = Pool(srv, hide_users=True)
    victim = _address()
    for i in range(11):
        p.user(f"share{i}", email=victim, email_verified="true")
    for i in range(10):
        p.idp.forgot_password(ClientId=p.client_id, Username=f"share{i}")
    assert len(_messages(srv, victim)) == 10
    # the eleventh is answered as any other (an unknown user's would be), and nothing is sent
    answer = p.idp.forgot_password(ClientId=p.client_id, Username="share10")
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert len(_messages(srv, victim)) == 10


# --------------------------------------------------------------------------------------------
# success resets, the back-off passes


def test_a_successful_verification_resets_the_failures(srv: Server) -> None:
    p = Pool(srv)
    email = _address()
    p.user("hugo", email=email, email_verified="true")

    def confirm(code: str, password: str) -> str:
        return _outcome(
            lambda: p.idp.confirm_forgot_password(
                ClientId=p.client_id, Username="hugo", ConfirmationCode=code, Password=password
            )
        )

    p.idp.forgot_password(ClientId=p.client_id, Username="hugo")
    real = _code(srv, email)
    assert [confirm(_wrong(real, k), NEW_PASSWORD) for k in range(4)] == [MISMATCH] * 4
    assert confirm(real, NEW_PASSWORD) == "ok"
    p.idp.forgot_password(ClientId=p.client_id, Username="hugo")
    real = _code(srv, email)
    outcomes = [confirm(_wrong(real, k), PASSWORD) for k in range(6)]
    assert outcomes == [MISMATCH] * 5 + [LIMIT[0]]


def test_the_back_off_passes(quick: Server) -> None:
    p = Pool(quick)
    p.user("iris", email=_address(), email_verified="true")
    access = p.sign_in("iris")
    claimed = _address()
    p.idp.update_user_attributes(AccessToken=access, UserAttributes=[{"Name": "email", "Value": claimed}])

    def verify(code: str) -> str:
        return _outcome(lambda: p.idp.verify_user_attribute(AccessToken=access, AttributeName="email", Code=code))

    real = _code(quick, claimed)
    assert [verify(_wrong(real, k)) for k in range(6)] == [MISMATCH] * 5 + [LIMIT[0]]

    def ask() -> None:
        p.idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")

    # the server's back-off is 1 s; a request for a new code within it is refused and counts nothing
    deadline = time.monotonic() + 30
    while (asked := _outcome(ask)) != "ok":
        assert asked == LIMIT[0] and time.monotonic() < deadline, asked
        time.sleep(0.1)
    assert verify(_code(quick, claimed)) == "ok"


# --------------------------------------------------------------------------------------------
# no user enumeration through the limits


def test_unknown_users_are_limited_as_real_ones(srv: Server) -> None:
    p = Pool(srv, hide_users=True)
    kurt = _address()
    p.user("jade", email=_address(), email_verified="true")
    p.user("kurt", email=kurt, email_verified="true")

    def forgot(name: str) -> list[str]:
        return [_outcome(lambda: p.idp.forgot_password(ClientId=p.client_id, Username=name)) for _ in range(7)]

    assert forgot("jade") == forgot("nobody-j") == ["ok"] * 5 + [LIMIT[0]] * 2

    p.idp.forgot_password(ClientId=p.client_id, Username="kurt")
    wrong = [_wrong(_code(srv, kurt), k) for k in range(7)]

    def confirm(name: str) -> list[str]:
        return [
            _outcome(
                lambda code=code: p.idp.confirm_forgot_password(
                    ClientId=p.client_id, Username=name, ConfirmationCode=code, Password=NEW_PASSWORD
                )
            )
            for code in wrong
        ] + [_outcome(lambda: p.idp.forgot_password(ClientId=p.client_id, Username=name))]

    expected = [MISMATCH] * 5 + [LIMIT[0]] * 3
    assert confirm("kurt") == confirm("nobody-k") == expected


def test_unknown_users_sign_in_codes_are_limited_as_real_ones(srv: Server) -> None:
    p = Pool(srv, hide_users=True, Policies=OTP_POLICY)
    lena = _address()
    p.user("lena", email=lena, email_verified="true")

    def run(name: str) -> list[str]:
        out: list[str] = []
        for _ in range(4):
            try:
                start = p.idp.initiate_auth(
                    ClientId=p.client_id,
                    AuthFlow="USER_AUTH",
                    AuthParameters={"USERNAME": name, "PREFERRED_CHALLENGE": "EMAIL_OTP"},
                )
            except ClientError as err:
                out.append(str(err.response["Error"]["Code"]))
                continue
            out.append(start["ChallengeName"])
            real = _code(srv, lena) if name == "lena" else "000000"
            for k in range(2):
                answer = {"USERNAME": name, "EMAIL_OTP_CODE": _wrong(real, k)}
                out.append(
                    _outcome(
                        lambda s=start["Session"], a=answer: p.idp.respond_to_auth_challenge(
                            ClientId=p.client_id, ChallengeName="EMAIL_OTP", Session=s, ChallengeResponses=a
                        )
                    )
                )
        return out

    real, unknown = run("lena"), run("nobody-l")
    assert real == unknown
    assert LIMIT[0] in real
