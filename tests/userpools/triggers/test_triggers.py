"""Lambda triggers end to end: handlers written as AWS documents them (handlers.py) run unchanged in
Ostiary's worker processes, an HTTP webhook works the same, failing, slow and malformed functions map
to AWS's errors and change nothing; custom authentication signs users in through the API and the
admin API."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt as pyjwt
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

HERE = Path(__file__).resolve().parent
FUNCTIONS = [
    "pre_signup",
    "post_confirmation",
    "user_migration",
    "pre_authentication",
    "post_authentication",
    "pre_token_generation_v2",
    "pre_token_generation_v1",
    "custom_message",
    "slow",
    "not_an_event",
    "crash",
    "context_probe",
    "define_auth_challenge",
    "create_auth_challenge",
    "verify_auth_challenge",
    "define_auth_challenge_srp_first",
    "custom_email_sender",
    "pre_token_generation_v3",
]


def arn(name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{name.replace('_', '-')}"


class _Hook(BaseHTTPRequestHandler):
    """A pre sign-up webhook: confirms everyone, refuses names starting with 'x'."""

    def do_POST(self) -> None:
        event = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if event["userName"].startswith("x"):
            body, status = json.dumps({"errorMessage": "names starting with x are reserved"}).encode(), 400
        else:
            event["response"]["autoConfirmUser"] = True
            body, status = json.dumps(event).encode(), 200
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/pre-signup"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("triggers")
    (folder / "legacy.json").write_text(
        json.dumps({"olduser": {"password": "Legacy-Passw0rd!", "email": "old@example.org"}})
    )
    return {"TRIGGER_LOG": str(folder / "log.jsonl"), "LEGACY_USERS": str(folder / "legacy.json")}


@pytest.fixture(scope="module")
def srv(server_factory: Any, env: dict[str, str], webhook: str) -> Server:
    mapping = {arn(name): f"python:handlers:{name}" for name in FUNCTIONS}
    mapping[arn("webhook")] = webhook
    s: Server = server_factory(
        env={
            **env,
            "OSTIARY_LAMBDA_FUNCTIONS": json.dumps(mapping),
            "OSTIARY_LAMBDA_PATH": str(HERE),
            "OSTIARY_LAMBDA_TIMEOUT_SECONDS": "2",
        },
        args=("--dev",),
    )
    return s


def _log(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["TRIGGER_LOG"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _pool(srv: Server, **lambda_config: Any) -> PoolSetup:
    return make_pool(srv.client("cognito-idp"), {"LambdaConfig": lambda_config})


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def test_pre_sign_up_and_post_confirmation(srv: Server, env: dict[str, str]) -> None:
    s = _pool(srv, PreSignUp=arn("pre_signup"), PostConfirmation=arn("post_confirmation"))
    out = s.idp.sign_up(
        ClientId=s.client_id,
        Username="ann",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "ann@example.com"}],
        ValidationData=[{"Name": "source", "Value": "test"}],
    )
    assert out["UserConfirmed"] is True  # autoConfirmUser
    user = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="ann")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    event = next(e for e in _log(env) if e.get("userName") == "ann")
    assert event["triggerSource"] == "PreSignUp_SignUp" and event["userPoolId"] == s.pool_id
    assert event["callerContext"]["clientId"] == s.client_id and event["request"]["validationData"] == {
        "source": "test"
    }

    with pytest.raises(ClientError) as exc:
        s.idp.sign_up(
            ClientId=s.client_id,
            Username="bob",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "bob@blocked.test"}],
        )
    assert _err(exc) == (
        "UserLambdaValidationException",
        "PreSignUp failed with error Sign-ups from this domain are not allowed.",
    )
    with pytest.raises(ClientError):
        s.idp.admin_get_user(UserPoolId=s.pool_id, Username="bob")  # nothing was created

    # a failing post confirmation leaves the user unconfirmed
    s.idp.sign_up(
        ClientId=s.client_id,
        Username="fay",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "fail@example.org"}],
    )
    with pytest.raises(ClientError) as exc:
        s.idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="fay")
    assert _err(exc) == ("UserLambdaValidationException", "PostConfirmation failed with error Provisioning failed.")
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="fay")["UserStatus"] == "UNCONFIRMED"


def test_user_migration_and_authentication_triggers(srv: Server, env: dict[str, str]) -> None:
    s = _pool(
        srv,
        UserMigration=arn("user_migration"),
        PreAuthentication=arn("pre_authentication"),
        PostAuthentication=arn("post_authentication"),
    )
    s.idp.add_custom_attributes(
        UserPoolId=s.pool_id, CustomAttributes=[{"Name": "blocked", "AttributeDataType": "String"}]
    )
    tokens = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "olduser", "PASSWORD": "Legacy-Passw0rd!"},
    )
    assert tokens["AuthenticationResult"]["AccessToken"]
    migrated = s.idp.admin_get_user(UserPoolId=s.pool_id, Username="olduser")
    assert migrated["UserStatus"] == "CONFIRMED"
    assert {"Name": "email", "Value": "old@example.org"} in migrated["UserAttributes"]
    # the migrated password now works without the legacy store, through SRP too
    s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "olduser", "PASSWORD": "Legacy-Passw0rd!"},
    )
    with pytest.raises(ClientError) as exc:
        s.idp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "nobody", "PASSWORD": "Whatever-1!"},
        )
    assert _err(exc) == ("UserLambdaValidationException", "UserMigration failed with error Bad password.")
    assert [e["userName"] for e in _log(env) if e["triggerSource"] == "PostAuthentication_Authentication"].count(
        "olduser"
    ) == 2

    create_confirmed_user(s, "carl", **{"custom:blocked": "yes"})
    with pytest.raises(ClientError) as exc:
        s.idp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "carl", "PASSWORD": PASSWORD},
        )
    assert _err(exc) == (
        "UserLambdaValidationException",
        "PreAuthentication failed with error This account is blocked.",
    )


def test_pre_token_generation_v1_and_v2(srv: Server) -> None:
    v2 = _pool(srv, PreTokenGenerationConfig={"LambdaVersion": "V2_0", "LambdaArn": arn("pre_token_generation_v2")})
    create_confirmed_user(v2, "tia", email="tia@example.com")
    result = v2.idp.initiate_auth(
        ClientId=v2.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "tia", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    access = pyjwt.decode(result["AccessToken"], options={"verify_signature": False})
    id_token = pyjwt.decode(result["IdToken"], options={"verify_signature": False})
    assert access["tenant"] == "acme" and access["plan"] == {"tier": "gold", "seats": 5}
    assert "orders/read" in access["scope"].split() and access["cognito:groups"] == ["from-trigger"]
    assert id_token["tenant"] == "acme" and "email" not in id_token
    refreshed = v2.idp.initiate_auth(
        ClientId=v2.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]}
    )
    assert (
        pyjwt.decode(refreshed["AuthenticationResult"]["AccessToken"], options={"verify_signature": False})["tenant"]
        == "acme"
    )

    v1 = _pool(srv, PreTokenGeneration=arn("pre_token_generation_v1"))
    create_confirmed_user(v1, "uri")
    result = v1.idp.initiate_auth(
        ClientId=v1.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "uri", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]
    assert pyjwt.decode(result["IdToken"], options={"verify_signature": False})["department"] == "research"
    assert "department" not in pyjwt.decode(result["AccessToken"], options={"verify_signature": False})


def test_custom_message(srv: Server, env: dict[str, str]) -> None:
    import httpx

    s = _pool(srv, CustomMessage=arn("custom_message"))
    s.idp.sign_up(
        ClientId=s.client_id,
        Username="meg",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "meg@example.net"}],
    )
    messages = httpx.get(srv.url + "/_ostiary/outbox", params={"destination": "meg@example.net"}).json()["messages"]
    assert messages[0]["subject"] == "Welcome to Acme"
    assert messages[0]["body"].startswith("Hello meg, your code is ") and "{####}" not in messages[0]["body"]
    s.idp.resend_confirmation_code(ClientId=s.client_id, Username="meg")
    s.idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="meg")
    s.idp.admin_update_user_attributes(
        UserPoolId=s.pool_id, Username="meg", UserAttributes=[{"Name": "email_verified", "Value": "true"}]
    )
    s.idp.forgot_password(ClientId=s.client_id, Username="meg")
    events = [e for e in _log(env) if e.get("userName") == "meg"]
    assert [e["triggerSource"] for e in events][:3] == [
        "CustomMessage_SignUp",
        "CustomMessage_ResendCode",
        "CustomMessage_ForgotPassword",
    ]
    assert events[0]["callerContext"]["clientId"] == s.client_id
    assert events[0]["request"]["codeParameter"] == "{####}"
    reset = httpx.get(srv.url + "/_ostiary/outbox", params={"destination": "meg@example.net"}).json()["messages"]
    assert any(m["subject"] == "Reset your password" and m["body"].startswith("Your reset code: ") for m in reset)
    access = s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "meg", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]["AccessToken"]
    s.idp.update_user_attributes(
        AccessToken=access,
        UserAttributes=[{"Name": "email", "Value": "meg2@example.net"}],
        ClientMetadata={"why": "moved"},
    )
    s.idp.get_user_attribute_verification_code(AccessToken=access, AttributeName="email")
    later = [e for e in _log(env) if e.get("userName") == "meg"][3:]
    assert [e["triggerSource"] for e in later] == [
        "CustomMessage_UpdateUserAttribute",
        "CustomMessage_VerifyUserAttribute",
    ]
    assert later[0]["request"]["clientMetadata"] == {"why": "moved"} and later[1]["request"]["clientMetadata"] == {}

    s.idp.admin_create_user(
        UserPoolId=s.pool_id,
        Username="ivy",
        TemporaryPassword="Temp-Passw0rd!",
        UserAttributes=[{"Name": "email", "Value": "ivy@example.net"}],
        DesiredDeliveryMediums=["EMAIL"],
    )
    invite = httpx.get(srv.url + "/_ostiary/outbox", params={"destination": "ivy@example.net"}).json()["messages"]
    assert invite[-1]["subject"] == "You are invited"
    assert invite[-1]["body"] == "Sign in as ivy with the password Temp-Passw0rd!"
    assert [e["request"]["usernameParameter"] for e in _log(env) if e.get("userName") == "ivy"] == ["{username}"]

    # a message without the code placeholder is an invalid answer; the sign-up does not happen
    with pytest.raises(ClientError) as exc:
        s.idp.sign_up(
            ClientId=s.client_id,
            Username="broken1",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "broken1@example.net"}],
        )
    assert _err(exc)[0] == "InvalidLambdaResponseException"
    with pytest.raises(ClientError):
        s.idp.admin_get_user(UserPoolId=s.pool_id, Username="broken1")


def test_webhook_slow_and_malformed_functions(srv: Server, env: dict[str, str]) -> None:
    s = _pool(srv, PreSignUp=arn("webhook"))
    assert s.idp.sign_up(ClientId=s.client_id, Username="hank", Password=PASSWORD)["UserConfirmed"] is True
    with pytest.raises(ClientError) as exc:
        s.idp.sign_up(ClientId=s.client_id, Username="xavier", Password=PASSWORD)
    assert _err(exc) == (
        "UserLambdaValidationException",
        "PreSignUp failed with error names starting with x are reserved.",
    )

    slow = _pool(srv, PreSignUp=arn("slow"))
    with pytest.raises(ClientError) as exc:
        slow.idp.sign_up(ClientId=slow.client_id, Username="sam", Password=PASSWORD)
    assert _err(exc) == (
        "UnexpectedLambdaException",
        "PreSignUp invocation failed due to error Socket timeout while invoking Lambda function.",
    )
    with pytest.raises(ClientError):
        slow.idp.admin_get_user(UserPoolId=slow.pool_id, Username="sam")

    bad = _pool(srv, PreSignUp=arn("not_an_event"))
    with pytest.raises(ClientError) as exc:
        bad.idp.sign_up(ClientId=bad.client_id, Username="bea", Password=PASSWORD)
    assert _err(exc)[0] == "InvalidLambdaResponseException"

    crash = _pool(srv, PreSignUp=arn("crash"))
    with pytest.raises(ClientError) as exc:  # the worker dies; the server does not
        crash.idp.sign_up(ClientId=crash.client_id, Username="cid", Password=PASSWORD)
    assert _err(exc)[0] == "UnexpectedLambdaException"
    assert s.idp.sign_up(ClientId=s.client_id, Username="hugo", Password=PASSWORD)["UserConfirmed"] is True

    unknown = _pool(srv, PreSignUp=f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:not-configured")
    with pytest.raises(ClientError) as exc:
        unknown.idp.sign_up(ClientId=unknown.client_id, Username="una", Password=PASSWORD)
    assert _err(exc)[0] == "UnexpectedLambdaException"

    probe = _pool(srv, PreSignUp=arn("context_probe"))
    probe.idp.sign_up(ClientId=probe.client_id, Username="pia", Password=PASSWORD)
    seen = [e for e in _log(env) if "function_name" in e][-1]
    # the remaining time counts down from the function's 2 s timeout (0 when a loaded machine took it all
    # before the handler ran: the value is bounded, not timed)
    assert seen["function_name"] == "context-probe" and 0 <= seen["remaining"] <= 2000 and seen["request_id"]


def test_custom_auth_flow(srv: Server) -> None:
    s = _pool(
        srv,
        DefineAuthChallenge=arn("define_auth_challenge"),
        CreateAuthChallenge=arn("create_auth_challenge"),
        VerifyAuthChallengeResponse=arn("verify_auth_challenge"),
    )
    create_confirmed_user(s, "cora")
    first = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "cora"})
    assert first["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert first["ChallengeParameters"] == {"hint": "the answer", "USERNAME": "cora"}
    wrong = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="CUSTOM_CHALLENGE",
        Session=first["Session"],
        ChallengeResponses={"USERNAME": "cora", "ANSWER": "000000"},
    )
    assert wrong["ChallengeName"] == "CUSTOM_CHALLENGE"  # Define asks again after a wrong answer
    done = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="CUSTOM_CHALLENGE",
        Session=wrong["Session"],
        ChallengeResponses={"USERNAME": "cora", "ANSWER": "424242"},
    )
    assert done["AuthenticationResult"]["IdToken"]

    # the admin API, and three wrong answers end the sign-in
    admin = s.idp.admin_initiate_auth(
        UserPoolId=s.pool_id, ClientId=s.client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "cora"}
    )
    session = admin["Session"]
    for _ in range(2):
        session = s.idp.admin_respond_to_auth_challenge(
            UserPoolId=s.pool_id,
            ClientId=s.client_id,
            ChallengeName="CUSTOM_CHALLENGE",
            Session=session,
            ChallengeResponses={"USERNAME": "cora", "ANSWER": "nope"},
        )["Session"]
    with pytest.raises(ClientError) as exc:
        s.idp.admin_respond_to_auth_challenge(
            UserPoolId=s.pool_id,
            ClientId=s.client_id,
            ChallengeName="CUSTOM_CHALLENGE",
            Session=session,
            ChallengeResponses={"USERNAME": "cora", "ANSWER": "nope"},
        )
    assert _err(exc)[0] == "NotAuthorizedException"
    ok = s.idp.admin_initiate_auth(
        UserPoolId=s.pool_id, ClientId=s.client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "cora"}
    )
    tokens = s.idp.admin_respond_to_auth_challenge(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        ChallengeName="CUSTOM_CHALLENGE",
        Session=ok["Session"],
        ChallengeResponses={"USERNAME": "cora", "ANSWER": "424242"},
    )
    assert tokens["AuthenticationResult"]["AccessToken"]


def test_custom_auth_after_srp(srv: Server, env: dict[str, str]) -> None:
    from pycognito.aws_srp import AWSSRP

    s = _pool(
        srv,
        PreAuthentication=arn("pre_authentication"),
        DefineAuthChallenge=arn("define_auth_challenge_srp_first"),
        CreateAuthChallenge=arn("create_auth_challenge"),
        VerifyAuthChallengeResponse=arn("verify_auth_challenge"),
    )
    create_confirmed_user(s, "sri")
    helper = AWSSRP(username="sri", password=PASSWORD, pool_id=s.pool_id, client_id=s.client_id, client=s.idp)
    params = {**helper.get_auth_params(), "CHALLENGE_NAME": "SRP_A"}
    verifier = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="CUSTOM_AUTH", AuthParameters=params)
    assert verifier["ChallengeName"] == "PASSWORD_VERIFIER"
    custom = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses=helper.process_challenge(verifier["ChallengeParameters"], params),
    )
    assert custom["ChallengeName"] == "CUSTOM_CHALLENGE"
    done = s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="CUSTOM_CHALLENGE",
        Session=custom["Session"],
        ChallengeResponses={"USERNAME": "sri", "ANSWER": "424242"},
    )
    assert done["AuthenticationResult"]["AccessToken"]
    sources = [e["triggerSource"] for e in _log(env) if e.get("userName") == "sri"]
    assert sources.count("PreAuthentication_Authentication") == 1  # once, though the custom flow starts SRP


def test_migration_on_forgot_password_and_custom_email_sender(srv: Server, env: dict[str, str]) -> None:
    import base64

    s = _pool(
        srv,
        UserMigration=arn("user_migration"),
        CustomEmailSender={"LambdaVersion": "V1_0", "LambdaArn": arn("custom_email_sender")},
    )
    out = s.idp.forgot_password(ClientId=s.client_id, Username="olduser")
    assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="olduser")["UserStatus"] == "RESET_REQUIRED"
    sent = [e for e in _log(env) if e.get("triggerSource") == "CustomEmailSender_ForgotPassword"][-1]
    assert sent["userPoolId"] == s.pool_id and sent["request"]["type"] == "customEmailSenderRequestV1"
    code = base64.b64decode(sent["request"]["code"]).decode()
    s.idp.confirm_forgot_password(
        ClientId=s.client_id, Username="olduser", ConfirmationCode=code, Password="Br4nd-New-Passw0rd!"
    )
    assert s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "olduser", "PASSWORD": "Br4nd-New-Passw0rd!"},
    )["AuthenticationResult"]


def test_client_metadata_reaches_the_triggers(srv: Server, env: dict[str, str]) -> None:
    """InitiateAuth's ClientMetadata is PreAuthentication's validationData; RespondToAuthChallenge's
    is the challenge triggers' clientMetadata (the operations' documentation)."""
    s = _pool(
        srv,
        PreAuthentication=arn("pre_authentication"),
        DefineAuthChallenge=arn("define_auth_challenge"),
        CreateAuthChallenge=arn("create_auth_challenge"),
        VerifyAuthChallengeResponse=arn("verify_auth_challenge"),
    )
    create_confirmed_user(s, "mina")
    first = s.idp.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="CUSTOM_AUTH",
        AuthParameters={"USERNAME": "mina"},
        ClientMetadata={"app": "kiosk"},
    )
    s.idp.respond_to_auth_challenge(
        ClientId=s.client_id,
        ChallengeName="CUSTOM_CHALLENGE",
        Session=first["Session"],
        ChallengeResponses={"USERNAME": "mina", "ANSWER": "424242"},
        ClientMetadata={"step": "answer"},
    )
    pre = [e for e in _log(env) if e.get("userName") == "mina" and e["triggerSource"].startswith("PreAuth")][-1]
    assert pre["request"]["validationData"] == {"app": "kiosk"}
    assert pre["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    verify = [e for e in _log(env) if e.get("userName") == "mina" and e["triggerSource"].startswith("Verify")][-1]
    assert verify["request"]["clientMetadata"] == {"step": "answer"}
    assert verify["callerContext"]["clientId"] == s.client_id


def test_a_slow_trigger_does_not_stall_other_requests(srv: Server, env: dict[str, str]) -> None:
    """Operations that may fire a trigger run off the event loop while functions are configured."""
    import time

    s = _pool(srv, PostConfirmation=arn("slow"))
    s.idp.sign_up(ClientId=s.client_id, Username="lou", Password=PASSWORD)
    outcome: dict[str, Any] = {}

    def confirm() -> None:
        try:
            s.idp.admin_confirm_sign_up(UserPoolId=s.pool_id, Username="lou")
        except ClientError as err:
            outcome["error"] = err.response["Error"]["Code"]
        outcome["done"] = time.monotonic()

    def started() -> bool:  # the slow function logs its event when it starts
        try:
            return any(e.get("userPoolId") == s.pool_id for e in _log(env))
        except ValueError:  # a line being written
            return False

    worker = threading.Thread(target=confirm)
    worker.start()
    deadline = time.monotonic() + 30
    while not started():
        assert time.monotonic() < deadline, "the slow function never started"
        time.sleep(0.02)
    s.idp.describe_user_pool(UserPoolId=s.pool_id)
    answered = time.monotonic()
    worker.join()
    assert outcome["error"] == "UnexpectedLambdaException"
    assert answered < outcome["done"]
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="lou")["UserStatus"] == "UNCONFIRMED"


def test_pre_token_generation_sources(srv: Server, env: dict[str, str]) -> None:
    """NEW_PASSWORD_REQUIRED ends with TokenGeneration_NewPasswordChallenge (with the answer's
    ClientMetadata), a refresh with TokenGeneration_RefreshTokens."""
    s = _pool(srv, PreTokenGeneration=arn("pre_token_generation_v1"))
    s.idp.admin_create_user(
        UserPoolId=s.pool_id, Username="noel", TemporaryPassword="Temp-Passw0rd!", MessageAction="SUPPRESS"
    )
    challenge = s.idp.admin_initiate_auth(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "noel", "PASSWORD": "Temp-Passw0rd!"},
    )
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = s.idp.admin_respond_to_auth_challenge(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "noel", "NEW_PASSWORD": PASSWORD},
        ClientMetadata={"origin": "invite"},
    )["AuthenticationResult"]
    s.idp.initiate_auth(
        ClientId=s.client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": done["RefreshToken"]}
    )
    events = [e for e in _log(env) if e.get("userName") == "noel"]
    assert [e["triggerSource"] for e in events] == [
        "TokenGeneration_NewPasswordChallenge",
        "TokenGeneration_RefreshTokens",
    ]
    assert events[0]["request"]["clientMetadata"] == {"origin": "invite"}
    assert events[1]["request"]["clientMetadata"] == {}
    assert events[0]["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"


def test_pre_authentication_of_an_unknown_user(srv: Server, env: dict[str, str]) -> None:
    """With PreventUserExistenceErrors, PreAuthentication runs for unknown users too (userNotFound)."""
    s = make_pool(
        srv.client("cognito-idp"),
        {"LambdaConfig": {"PreAuthentication": arn("pre_authentication")}},
        {"PreventUserExistenceErrors": "ENABLED"},
    )
    with pytest.raises(ClientError) as exc:
        s.idp.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "ghost", "PASSWORD": PASSWORD},
        )
    assert _err(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    seen = [e for e in _log(env) if e.get("userName") == "ghost"][-1]
    assert seen["request"]["userNotFound"] is True and seen["request"]["userAttributes"] == {}


def test_custom_auth_of_an_unknown_user(srv: Server, env: dict[str, str]) -> None:
    """With PreventUserExistenceErrors, an unknown user goes through the same challenge loop with
    userNotFound: true (a caller cannot tell), and never gets tokens even for a right answer."""
    s = make_pool(
        srv.client("cognito-idp"),
        {
            "LambdaConfig": {
                "DefineAuthChallenge": arn("define_auth_challenge"),
                "CreateAuthChallenge": arn("create_auth_challenge"),
                "VerifyAuthChallengeResponse": arn("verify_auth_challenge"),
            }
        },
        {"PreventUserExistenceErrors": "ENABLED"},
    )
    first = s.idp.initiate_auth(ClientId=s.client_id, AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "phantom"})
    assert first["ChallengeName"] == "CUSTOM_CHALLENGE"
    assert first["ChallengeParameters"] == {"hint": "the answer", "USERNAME": "phantom"}
    with pytest.raises(ClientError) as exc:
        s.idp.respond_to_auth_challenge(
            ClientId=s.client_id,
            ChallengeName="CUSTOM_CHALLENGE",
            Session=first["Session"],
            ChallengeResponses={"USERNAME": "phantom", "ANSWER": "424242"},
        )
    assert _err(exc) == ("NotAuthorizedException", "Incorrect username or password.")
    seen = [e for e in _log(env) if e.get("userName") == "phantom"][-1]
    assert seen["triggerSource"] == "VerifyAuthChallengeResponse_Authentication"
    assert seen["request"]["userNotFound"] is True and seen["request"]["userAttributes"] == {}


def test_pre_token_generation_v3_for_client_credentials(srv: Server, env: dict[str, str]) -> None:
    """A V3_0 trigger customizes machine-to-machine access tokens (TokenGeneration_ClientCredentials),
    with the token request's aws_client_metadata as clientMetadata."""
    idp = srv.client("cognito-idp")
    pool_id = idp.create_user_pool(
        PoolName="m2m-" + secrets.token_hex(3),
        LambdaConfig={
            "PreTokenGenerationConfig": {"LambdaVersion": "V3_0", "LambdaArn": arn("pre_token_generation_v3")}
        },
    )["UserPool"]["Id"]
    domain = "m2m-" + secrets.token_hex(4)
    idp.create_user_pool_domain(Domain=domain, UserPoolId=pool_id)
    idp.create_resource_server(
        UserPoolId=pool_id,
        Identifier="https://api.example.com",
        Name="orders",
        Scopes=[{"ScopeName": n, "ScopeDescription": n} for n in ("orders.read", "orders.write")],
    )
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="m2m",
        GenerateSecret=True,
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"],
        AllowedOAuthScopes=["https://api.example.com/orders.read", "https://api.example.com/orders.write"],
    )["UserPoolClient"]
    resp = httpx.post(
        f"{srv.url}/_domain/{domain}/oauth2/token",
        data={"grant_type": "client_credentials", "aws_client_metadata": json.dumps({"tenant": "acme"})},
        auth=(client["ClientId"], client["ClientSecret"]),
    )
    assert resp.status_code == 200, resp.text
    claims = json.loads(base64.urlsafe_b64decode(resp.json()["access_token"].split(".")[1] + "=="))
    assert claims["tenant"] == "acme" and claims["tier"] == 3
    assert claims["scope"] == "https://api.example.com/orders.read"
    event = [e for e in _log(env) if e.get("triggerSource") == "TokenGeneration_ClientCredentials"][-1]
    assert event["version"] == "3" and "userName" not in event
    assert event["callerContext"]["clientId"] == client["ClientId"]
    assert event["request"]["clientMetadata"] == {"tenant": "acme"} and event["request"]["userAttributes"] == {}
    assert set(event["request"]["scopes"]) == {
        "https://api.example.com/orders.read",
        "https://api.example.com/orders.write",
    }
