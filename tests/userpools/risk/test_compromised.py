"""Compromised credentials (issue 16): the breached-password corpora (the shipped set, an operator's
Pwned Passwords range files or sorted file, SHA-1 and NTLM) and, through boto3 on the live server,
the checks at sign-up, password changes and password sign-in in AUDIT and ENFORCED mode, with
BLOCK and NO_ACTION, EventFilter, app-client configurations, and SRP (never checked)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pycognito.aws_srp import AWSSRP

from ostiary.config import Settings
from ostiary.userpools.risk import compromised
from tests.userpools.conftest import PoolSetup, make_pool
from tests.userpools.risk.conftest import OPERATOR_BREACHED, OPERATOR_RARE, RiskServer, write_range_files

BREACHED = "password1"  # in both shipped lists
BREACHED_MIXED_CASE = "Password1"  # its lowercase form is
STRONG = "mQ7#vL2!pX9$kR4"
RELAXED = {
    "PasswordPolicy": {
        "MinimumLength": 8,
        "RequireUppercase": False,
        "RequireLowercase": False,
        "RequireNumbers": False,
        "RequireSymbols": False,
    }
}


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


# --------------------------------------------------------------------------------------------
# the corpora


def test_hashes() -> None:
    assert compromised._md4(b"").hex() == "31d6cfe0d16ae931b73c59d7e0c089c0"  # RFC 1320
    assert compromised._md4(b"abc").hex() == "a448017aaf21d8525fc10ae87aa6729d"
    assert compromised.ntlm("password").hex() == "8846f7eaee8fb117ad06bdd830b7586c"
    assert compromised.sha1("password") == hashlib.sha1(b"password").digest()


def test_the_shipped_set() -> None:
    settings = Settings()
    corpus = compromised.shipped()
    assert corpus.count == compromised.SHIPPED.stat().st_size // 8 > 40000
    for password in ("123456", "qwerty", "password", BREACHED, BREACHED_MIXED_CASE, "iloveyou", "dragon"):
        assert compromised.breached(settings, password), password
    for password in (STRONG, "correct horse battery staple", "", "x" * 300):
        assert not compromised.breached(settings, password), password


@pytest.mark.parametrize("ntlm", [False, True])
def test_operator_range_files(tmp_path: Path, ntlm: bool) -> None:
    write_range_files(tmp_path, {"Zq7!breached": 5, "Zq7!once": 1, "Zq7!neighbour": 3}, ntlm=ntlm)
    corpus = compromised.PwnedPasswords(tmp_path, min_count=2)
    assert corpus.kind == ("ntlm" if ntlm else "sha1")
    assert corpus.count("Zq7!breached") == 5
    assert "Zq7!breached" in corpus and "Zq7!neighbour" in corpus
    assert "Zq7!once" not in corpus  # seen fewer times than min_count
    assert corpus.count("Zq7!once") == 1
    assert "Zq7!never-seen" not in corpus and corpus.count("Zq7!never-seen") == 0


def test_operator_sorted_file(tmp_path: Path) -> None:
    entries = {f"pw-{i}": i + 1 for i in range(500)}
    lines = sorted(f"{hashlib.sha1(p.encode()).hexdigest().upper()}:{c}" for p, c in entries.items())
    path = tmp_path / "pwned-passwords-sha1-ordered-by-hash.txt"
    path.write_text("\n".join(lines) + "\n")
    corpus = compromised.PwnedPasswords(path)
    assert corpus.kind == "sha1"
    assert all(corpus.count(p) == c for p, c in entries.items())
    assert corpus.count("pw-none") == 0
    # the first and last lines, and a lower-case file
    path.write_text("\n".join(line.lower() for line in lines))
    lower = compromised.PwnedPasswords(path)
    assert lower.count("pw-0") == 1 and lower.count("pw-499") == 500


def test_an_unusable_operator_path_falls_back_to_the_shipped_set(tmp_path: Path) -> None:
    settings = Settings(pwned_passwords_path=str(tmp_path / "missing"))
    assert compromised.operator_corpus(settings) is None
    assert compromised.breached(settings, BREACHED)
    assert not compromised.breached(settings, STRONG)


def test_the_decision() -> None:
    block = {"Actions": {"EventAction": "BLOCK"}}
    sign_in = compromised.Event.SIGN_IN
    assert compromised.decide("ENFORCED", block, sign_in, False) == compromised.CLEAN
    assert compromised.decide("AUDIT", block, sign_in, True) == compromised.Finding(True, False)
    assert compromised.decide("ENFORCED", None, sign_in, True) == compromised.Finding(True, False)
    assert compromised.decide("ENFORCED", block, sign_in, True) == compromised.Finding(True, True)
    no_action = {"Actions": {"EventAction": "NO_ACTION"}}
    assert compromised.decide("ENFORCED", no_action, sign_in, True) == compromised.Finding(True, False)
    filtered = {**block, "EventFilter": ["SIGN_UP"]}
    assert not compromised.decide("ENFORCED", filtered, sign_in, True).blocked
    assert compromised.decide("ENFORCED", filtered, compromised.Event.SIGN_UP, True).blocked


# --------------------------------------------------------------------------------------------
# through the API


@contextlib.contextmanager
def _pool(idp: Any, mode: str, action: str | None = None, events: list[str] | None = None) -> Iterator[PoolSetup]:
    s = make_pool(idp, {"UserPoolAddOns": {"AdvancedSecurityMode": mode}, "UserPoolTier": "PLUS", "Policies": RELAXED})
    try:
        if action is not None:
            section: dict[str, Any] = {"Actions": {"EventAction": action}}
            if events is not None:
                section["EventFilter"] = events
            idp.set_risk_configuration(UserPoolId=s.pool_id, CompromisedCredentialsRiskConfiguration=section)
        yield s
    finally:
        with contextlib.suppress(Exception):
            idp.delete_user_pool(UserPoolId=s.pool_id)


def _user(s: PoolSetup, name: str, password: str) -> None:
    s.idp.admin_create_user(UserPoolId=s.pool_id, Username=name, MessageAction="SUPPRESS")
    s.idp.admin_set_user_password(UserPoolId=s.pool_id, Username=name, Password=password, Permanent=True)


def _sign_in(s: PoolSetup, name: str, password: str) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": password}
    )
    return out


def _events(s: PoolSetup, name: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = s.idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username=name)["AuthEvents"]
    return out


def _sign_up(s: PoolSetup, name: str, password: str) -> dict[str, Any]:
    out: dict[str, Any] = s.idp.sign_up(
        ClientId=s.client_id,
        Username=name,
        Password=password,
        UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}],
    )
    return out


def test_off_checks_nothing(idp: Any) -> None:
    with _pool(idp, "OFF") as s:
        _sign_up(s, "olga", BREACHED)
        _user(s, "oscar", BREACHED)
        assert "AuthenticationResult" in _sign_in(s, "oscar", BREACHED)


def test_audit_records_and_never_blocks(idp: Any) -> None:
    with _pool(idp, "AUDIT", "BLOCK") as s:
        _sign_up(s, "ada", BREACHED)
        [event] = _events(s, "ada")
        assert event["EventType"] == "SignUp" and event["EventResponse"] == "Pass"
        assert event["EventRisk"]["CompromisedCredentialsDetected"] is True
        assert event["EventRisk"]["RiskDecision"] == "NoRisk"
        idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="ada")
        assert "AuthenticationResult" in _sign_in(s, "ada", BREACHED)
        newest = _events(s, "ada")[0]
        assert newest["EventType"] == "SignIn" and newest["EventResponse"] == "Pass"
        assert newest["EventRisk"]["CompromisedCredentialsDetected"] is True
        # a strong password: nothing detected
        _sign_up(s, "bea", STRONG)
        assert _events(s, "bea")[0]["EventRisk"]["CompromisedCredentialsDetected"] is False


def test_enforced_block_refuses_breached_passwords_where_they_are_set(idp: Any) -> None:
    with _pool(idp, "ENFORCED", "BLOCK") as s:
        for password in (BREACHED, BREACHED_MIXED_CASE):
            with pytest.raises(ClientError) as exc:
                _sign_up(s, "carl", password)
            assert _err(exc) == ("InvalidPasswordException", compromised.BREACHED)
        with pytest.raises(ClientError):
            idp.admin_get_user(UserPoolId=s.pool_id, Username="carl")  # never created
        _sign_up(s, "carl", STRONG)  # a strong password passes
        idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="carl")
        with pytest.raises(ClientError) as exc:
            idp.admin_set_user_password(UserPoolId=s.pool_id, Username="carl", Password=BREACHED, Permanent=True)
        assert _err(exc) == ("InvalidPasswordException", compromised.BREACHED)
        token = _sign_in(s, "carl", STRONG)["AuthenticationResult"]["AccessToken"]
        with pytest.raises(ClientError) as exc:
            idp.change_password(PreviousPassword=STRONG, ProposedPassword=BREACHED, AccessToken=token)
        assert _err(exc) == ("InvalidPasswordException", compromised.BREACHED)
        refused = _events(s, "carl")[0]
        assert refused["EventType"] == "PasswordChange" and refused["EventResponse"] == "Fail"
        assert refused["EventRisk"] == {"RiskDecision": "Block", "CompromisedCredentialsDetected": True}
        idp.change_password(PreviousPassword=STRONG, ProposedPassword=STRONG + "-2", AccessToken=token)
        assert _events(s, "carl")[0]["EventRisk"]["CompromisedCredentialsDetected"] is False
        # ConfirmForgotPassword: refused before the code is looked at, for a real or an unknown user
        for name in ("carl", "nobody-here"):
            with pytest.raises(ClientError) as exc:
                idp.confirm_forgot_password(
                    ClientId=s.client_id, Username=name, ConfirmationCode="123456", Password=BREACHED
                )
            assert _err(exc)[0] in ("InvalidPasswordException", "UserNotFoundException")


def test_enforced_block_at_sign_in_requires_a_reset(idp: Any) -> None:
    # only sign-in is filtered: the administrator may still set the breached password
    with _pool(idp, "ENFORCED", "BLOCK", ["SIGN_IN"]) as s:
        _user(s, "dora", BREACHED)
        with pytest.raises(ClientError) as exc:
            _sign_in(s, "dora", BREACHED)
        assert _err(exc) == ("PasswordResetRequiredException", "Password reset required for the user")
        assert idp.admin_get_user(UserPoolId=s.pool_id, Username="dora")["UserStatus"] == "RESET_REQUIRED"
        event = _events(s, "dora")[0]
        assert event["EventType"] == "SignIn" and event["EventResponse"] == "Fail"
        assert event["EventRisk"]["RiskDecision"] == "Block"
        assert event["EventRisk"]["CompromisedCredentialsDetected"] is True
        # a wrong password is only a wrong password (nothing to check)
        _user(s, "dan", BREACHED)
        with pytest.raises(ClientError) as exc:
            _sign_in(s, "dan", "not-the-password")
        assert _err(exc)[0] == "NotAuthorizedException"
        assert idp.admin_get_user(UserPoolId=s.pool_id, Username="dan")["UserStatus"] == "CONFIRMED"
        # SRP never shows the password: not checked, the sign-in passes
        srp = AWSSRP(username="dan", password=BREACHED, pool_id=s.pool_id, client_id=s.client_id, client=idp)
        assert "AccessToken" in srp.authenticate_user()["AuthenticationResult"]
        # a strong password signs in
        _user(s, "dave", STRONG)
        assert "AuthenticationResult" in _sign_in(s, "dave", STRONG)


def test_enforced_no_action_records_and_passes(idp: Any) -> None:
    with _pool(idp, "ENFORCED", "NO_ACTION") as s:
        _sign_up(s, "eve", BREACHED)
        idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="eve")
        assert "AuthenticationResult" in _sign_in(s, "eve", BREACHED)
        event = _events(s, "eve")[0]
        assert event["EventResponse"] == "Pass"
        assert event["EventRisk"]["CompromisedCredentialsDetected"] is True
        assert event["EventRisk"]["RiskDecision"] != "Block"


def test_an_app_clients_configuration_replaces_the_pools(idp: Any) -> None:
    with _pool(idp, "ENFORCED", "BLOCK") as s:
        lenient = idp.create_user_pool_client(UserPoolId=s.pool_id, ClientName="lenient")["UserPoolClient"]["ClientId"]
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            ClientId=lenient,
            CompromisedCredentialsRiskConfiguration={"Actions": {"EventAction": "NO_ACTION"}},
        )
        idp.sign_up(ClientId=lenient, Username="fay", Password=BREACHED)
        with pytest.raises(ClientError) as exc:
            _sign_up(s, "gus", BREACHED)
        assert _err(exc)[0] == "InvalidPasswordException"


def test_the_operators_corpus(risk_server: RiskServer) -> None:
    idp = risk_server.idp
    with _pool(idp, "ENFORCED", "BLOCK") as s:
        assert not compromised.breached(Settings(), OPERATOR_BREACHED)  # not in the shipped set
        with pytest.raises(ClientError) as exc:
            _sign_up(s, "hal", OPERATOR_BREACHED)
        assert _err(exc) == ("InvalidPasswordException", compromised.BREACHED)
        _sign_up(s, "hal", OPERATOR_RARE)  # seen once: below pwned_passwords_min_count (2)
        with pytest.raises(ClientError) as exc:
            _sign_up(s, "ida", BREACHED)  # the shipped set still applies
        assert _err(exc)[0] == "InvalidPasswordException"


def test_admin_password_sign_in_and_new_password_required(idp: Any) -> None:
    with _pool(idp, "ENFORCED", "BLOCK", ["SIGN_IN", "PASSWORD_CHANGE"]) as s:
        # NEW_PASSWORD_REQUIRED: a temporary password is not checked, the new one is
        idp.admin_create_user(UserPoolId=s.pool_id, Username="jon", TemporaryPassword=STRONG, MessageAction="SUPPRESS")
        challenge = idp.admin_initiate_auth(
            UserPoolId=s.pool_id,
            ClientId=s.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "jon", "PASSWORD": STRONG},
        )
        assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
        with pytest.raises(ClientError) as exc:
            idp.respond_to_auth_challenge(
                ClientId=s.client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=challenge["Session"],
                ChallengeResponses={"USERNAME": "jon", "NEW_PASSWORD": BREACHED},
            )
        assert _err(exc) == ("InvalidPasswordException", compromised.BREACHED)
        done = idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="NEW_PASSWORD_REQUIRED",
            Session=challenge["Session"],
            ChallengeResponses={"USERNAME": "jon", "NEW_PASSWORD": STRONG + "-new"},
        )
        assert "AuthenticationResult" in done
    with _pool(idp, "ENFORCED", "BLOCK", ["SIGN_IN"]) as s:
        _user(s, "kim", BREACHED)
        with pytest.raises(ClientError) as exc:
            idp.admin_initiate_auth(
                UserPoolId=s.pool_id,
                ClientId=s.client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "kim", "PASSWORD": BREACHED},
            )
        assert _err(exc)[0] == "PasswordResetRequiredException"
        assert idp.admin_get_user(UserPoolId=s.pool_id, Username="kim")["UserStatus"] == "RESET_REQUIRED"
