"""Self-service flows end to end: sign-up with codes from the outbox and from a real SMTP server,
forgotten passwords, attribute verification, password change, deletion."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import boto3
import httpx
import pytest
from aiosmtpd.controller import Controller
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import REGION, Server, free_port
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool, outbox_code


def _app(server: Server) -> Any:
    return boto3.client(
        "cognito-idp",
        endpoint_url=server.url,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}),
    )


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = exc.value.response["Error"]
    return e["Code"], e["Message"]


@pytest.fixture
def dev_setup(dev_server: Server) -> PoolSetup:
    return make_pool(dev_server.client("cognito-idp"))


def test_sign_up_confirm_sign_in(dev_server: Server, dev_setup: PoolSetup) -> None:
    app = _app(dev_server)
    out = app.sign_up(
        ClientId=dev_setup.client_id,
        Username="nina",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "nina@example.com"}],
    )
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"] == {
        "Destination": "n***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    with pytest.raises(ClientError) as exc:
        app.initiate_auth(
            ClientId=dev_setup.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "nina", "PASSWORD": PASSWORD},
        )
    assert _err(exc) == ("UserNotConfirmedException", "User is not confirmed.")
    with pytest.raises(ClientError) as exc:
        app.confirm_sign_up(ClientId=dev_setup.client_id, Username="nina", ConfirmationCode="000000")
    assert _err(exc)[0] == "CodeMismatchException"
    code = outbox_code(dev_server, "nina@example.com")
    app.confirm_sign_up(ClientId=dev_setup.client_id, Username="nina", ConfirmationCode=code)
    with pytest.raises(ClientError) as exc:  # single use
        app.confirm_sign_up(ClientId=dev_setup.client_id, Username="nina", ConfirmationCode=code)
    assert _err(exc)[0] == "NotAuthorizedException"
    user = dev_setup.idp.admin_get_user(UserPoolId=dev_setup.pool_id, Username="nina")
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email_verified", "Value": "true"} in user["UserAttributes"]
    tokens = app.initiate_auth(
        ClientId=dev_setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "nina", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    assert tokens["AccessToken"]


def test_sign_up_rules(dev_server: Server, dev_setup: PoolSetup) -> None:
    app = _app(dev_server)
    with pytest.raises(ClientError) as exc:
        app.sign_up(ClientId=dev_setup.client_id, Username="weak", Password="password")
    assert _err(exc)[0] == "InvalidPasswordException"
    app.sign_up(ClientId=dev_setup.client_id, Username="dup", Password=PASSWORD)
    with pytest.raises(ClientError) as exc:
        app.sign_up(ClientId=dev_setup.client_id, Username="dup", Password=PASSWORD)
    assert _err(exc) == ("UsernameExistsException", "User already exists")
    with pytest.raises(ClientError) as exc:
        app.sign_up(
            ClientId=dev_setup.client_id,
            Username="x",
            Password=PASSWORD,
            UserAttributes=[{"Name": "custom:nope", "Value": "1"}],
        )
    assert _err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        app.sign_up(ClientId="nosuchclient", Username="x", Password=PASSWORD)
    assert _err(exc)[0] == "ResourceNotFoundException"


def test_email_as_username_and_required_attributes(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(
        idp,
        pool_args={"UsernameAttributes": ["email"], "Schema": [{"Name": "name", "Required": True, "Mutable": True}]},
    )
    app = _app(dev_server)
    with pytest.raises(ClientError) as exc:
        app.sign_up(
            ClientId=s.client_id,
            Username="not-an-email",
            Password=PASSWORD,
            UserAttributes=[{"Name": "name", "Value": "N"}],
        )
    assert _err(exc)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        app.sign_up(ClientId=s.client_id, Username="olga@example.com", Password=PASSWORD)
    assert _err(exc)[0] == "InvalidParameterException" and "name" in _err(exc)[1]
    out = app.sign_up(
        ClientId=s.client_id,
        Username="olga@example.com",
        Password=PASSWORD,
        UserAttributes=[{"Name": "name", "Value": "Olga"}],
    )
    code = outbox_code(dev_server, "olga@example.com")
    app.confirm_sign_up(ClientId=s.client_id, Username="OLGA@example.com", ConfirmationCode=code)
    got = idp.admin_get_user(UserPoolId=s.pool_id, Username="olga@example.com")
    assert got["Username"] == out["UserSub"]  # the internal username is a UUID, as in Cognito
    with pytest.raises(ClientError) as exc:
        app.sign_up(
            ClientId=s.client_id,
            Username="olga@example.com",
            Password=PASSWORD,
            UserAttributes=[{"Name": "name", "Value": "Again"}],
        )
    assert _err(exc)[0] == "UsernameExistsException"
    tokens = app.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "olga@example.com", "PASSWORD": PASSWORD},
    )
    assert tokens["AuthenticationResult"]["IdToken"]


def test_forgot_password(dev_server: Server, dev_setup: PoolSetup) -> None:
    app = _app(dev_server)
    create_confirmed_user(dev_setup, "pete", email="pete@example.com", email_verified="true")
    details = app.forgot_password(ClientId=dev_setup.client_id, Username="pete")["CodeDeliveryDetails"]
    assert details["DeliveryMedium"] == "EMAIL" and details["Destination"] == "p***@e***"
    code = outbox_code(dev_server, "pete@example.com")
    with pytest.raises(ClientError) as exc:
        app.confirm_forgot_password(
            ClientId=dev_setup.client_id, Username="pete", ConfirmationCode=code, Password="weak"
        )
    assert _err(exc)[0] == "InvalidPasswordException"
    app.confirm_forgot_password(
        ClientId=dev_setup.client_id, Username="pete", ConfirmationCode=code, Password="N3w-Password!"
    )
    with pytest.raises(ClientError) as exc:
        app.confirm_forgot_password(
            ClientId=dev_setup.client_id, Username="pete", ConfirmationCode=code, Password="Other-Pass1!"
        )
    assert _err(exc)[0] == "ExpiredCodeException"
    app.initiate_auth(
        ClientId=dev_setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "pete", "PASSWORD": "N3w-Password!"},
    )
    # an unknown user gets an answer shaped like a real one (PreventUserExistenceErrors=ENABLED)
    enabled = dev_setup.idp.create_user_pool_client(
        UserPoolId=dev_setup.pool_id, ClientName="enabled", PreventUserExistenceErrors="ENABLED"
    )["UserPoolClient"]["ClientId"]
    fake = app.forgot_password(ClientId=enabled, Username="ghost@example.com")["CodeDeliveryDetails"]
    assert fake["DeliveryMedium"] == "EMAIL"
    # no verified address to recover by: where the client prevents user existence errors, the
    # simulated answer an unknown user gets (AWS); an error where it does not (LEGACY, the default)
    create_confirmed_user(dev_setup, "quinn")
    simulated = app.forgot_password(ClientId=enabled, Username="quinn")["CodeDeliveryDetails"]
    assert simulated["DeliveryMedium"] == "EMAIL"
    legacy = dev_setup.client_id
    with pytest.raises(ClientError) as exc:
        app.forgot_password(ClientId=legacy, Username="quinn")
    assert _err(exc)[0] == "InvalidParameterException"


def test_code_attempts_are_limited(dev_server: Server, dev_setup: PoolSetup) -> None:
    app = _app(dev_server)
    app.sign_up(
        ClientId=dev_setup.client_id,
        Username="rita",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "rita@example.com"}],
    )
    code = outbox_code(dev_server, "rita@example.com")
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        with pytest.raises(ClientError):
            app.confirm_sign_up(ClientId=dev_setup.client_id, Username="rita", ConfirmationCode=wrong)
    with pytest.raises(ClientError) as exc:
        app.confirm_sign_up(ClientId=dev_setup.client_id, Username="rita", ConfirmationCode=code)
    assert _err(exc)[0] == "LimitExceededException"
    # a new code does not bring new guesses: none is sent until the back-off has passed
    # (code_backoff_seconds; tests/security/test_one_time_codes.py)
    with pytest.raises(ClientError) as exc:
        app.resend_confirmation_code(ClientId=dev_setup.client_id, Username="rita")
    assert _err(exc)[0] == "LimitExceededException"


def test_access_token_operations(dev_server: Server, dev_setup: PoolSetup) -> None:
    app = _app(dev_server)
    create_confirmed_user(dev_setup, "sam", email="sam@example.com", email_verified="true")
    token = app.initiate_auth(
        ClientId=dev_setup.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "sam", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    changed = app.update_user_attributes(
        AccessToken=token,
        UserAttributes=[{"Name": "email", "Value": "sam2@example.com"}, {"Name": "name", "Value": "Sam"}],
    )
    assert changed["CodeDeliveryDetailsList"][0]["AttributeName"] == "email"
    attrs = {a["Name"]: a["Value"] for a in app.get_user(AccessToken=token)["UserAttributes"]}
    assert attrs["email"] == "sam2@example.com" and attrs["email_verified"] == "false" and attrs["name"] == "Sam"
    code = outbox_code(dev_server, "sam2@example.com")
    app.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    attrs = {a["Name"]: a["Value"] for a in app.get_user(AccessToken=token)["UserAttributes"]}
    assert attrs["email_verified"] == "true"
    app.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    app.delete_user_attributes(AccessToken=token, UserAttributeNames=["name"])
    assert "name" not in {a["Name"] for a in app.get_user(AccessToken=token)["UserAttributes"]}
    with pytest.raises(ClientError) as exc:
        app.change_password(AccessToken=token, PreviousPassword="Wrong-Pass1!", ProposedPassword="N3w-Password!")
    assert _err(exc)[0] == "NotAuthorizedException"
    app.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="N3w-Password!")
    app.set_user_settings(AccessToken=token, MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}])
    assert app.get_user(AccessToken=token)["MFAOptions"][0]["DeliveryMedium"] == "SMS"
    app.delete_user(AccessToken=token)
    with pytest.raises(ClientError) as exc:
        app.get_user(AccessToken=token)
    assert _err(exc)[0] in ("UserNotFoundException", "NotAuthorizedException")


def test_dev_outbox_and_reset(dev_server: Server) -> None:
    assert httpx.get(dev_server.url + "/_ostiary/outbox").status_code == 200
    idp = dev_server.client("cognito-idp")
    s = make_pool(idp)
    assert httpx.post(dev_server.url + "/_ostiary/reset").json() == {"reset": True}
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=s.pool_id)
    assert _err(exc)[0] == "ResourceNotFoundException"
    assert httpx.get(dev_server.url + "/_ostiary/outbox").json() == {"messages": []}


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_confirmation_code_by_real_smtp(server_factory: Any, smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    srv = server_factory(
        env={"OSTIARY_SMTP_HOST": "127.0.0.1", "OSTIARY_SMTP_PORT": str(port), "OSTIARY_SMTP_FROM": "id@example.org"}
    )
    s = make_pool(
        srv.client("cognito-idp"),
        pool_args={
            "VerificationMessageTemplate": {"EmailSubject": "Your code", "EmailMessage": "Welcome! Code: {####}"}
        },
    )
    app = _app(srv)
    app.sign_up(
        ClientId=s.client_id,
        Username="tess",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "tess@example.com"}],
    )
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    mail = inbox.messages[0]
    assert mail["To"] == "tess@example.com" and mail["Subject"] == "Your code" and mail["From"] == "id@example.org"
    body = mail.get_payload(decode=True).decode()
    code = re.search(r"Code: (\d{6})", body).group(1)  # type: ignore[union-attr]
    app.confirm_sign_up(ClientId=s.client_id, Username="tess", ConfirmationCode=code)
    assert s.idp.admin_get_user(UserPoolId=s.pool_id, Username="tess")["UserStatus"] == "CONFIRMED"


def test_verified_email_kept_until_new_one_is_verified(dev_server: Server) -> None:
    idp = dev_server.client("cognito-idp")
    s = make_pool(
        idp,
        pool_args={
            "AutoVerifiedAttributes": ["email"],
            "AliasAttributes": ["email"],
            "UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]},
        },
    )
    create_confirmed_user(s, "ursula", email="old@example.com", email_verified="true")
    app = _app(dev_server)
    token = app.initiate_auth(
        ClientId=s.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": "ursula", "PASSWORD": PASSWORD}
    )["AuthenticationResult"]["AccessToken"]
    app.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    attrs = {a["Name"]: a["Value"] for a in app.get_user(AccessToken=token)["UserAttributes"]}
    assert attrs["email"] == "old@example.com" and attrs["email_verified"] == "true"
    # the old address still signs in while the new one waits
    app.initiate_auth(
        ClientId=s.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "old@example.com", "PASSWORD": PASSWORD},
    )
    app.verify_user_attribute(AccessToken=token, AttributeName="email", Code=outbox_code(dev_server, "new@example.com"))
    attrs = {a["Name"]: a["Value"] for a in app.get_user(AccessToken=token)["UserAttributes"]}
    assert attrs["email"] == "new@example.com" and attrs["email_verified"] == "true"
    with pytest.raises(ClientError):
        idp.create_user_pool(
            PoolName="bad", UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]}
        )


def test_sms_code_through_the_webhook_sender(server_factory: Any) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        srv = server_factory(env={"OSTIARY_SMS_WEBHOOK_URL": f"http://127.0.0.1:{hook.server_port}/sms"})
        s = make_pool(srv.client("cognito-idp"), pool_args={"AutoVerifiedAttributes": ["phone_number"]})
        app = _app(srv)
        out = app.sign_up(
            ClientId=s.client_id,
            Username="val",
            Password=PASSWORD,
            UserAttributes=[{"Name": "phone_number", "Value": "+15555550123"}],
        )
        assert out["CodeDeliveryDetails"] == {
            "Destination": "+*******0123",
            "DeliveryMedium": "SMS",
            "AttributeName": "phone_number",
        }
        deadline = time.monotonic() + 10  # messages are sent in the background, after the response
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received and received[0]["phoneNumber"] == "+15555550123" and received[0]["purpose"] == "SignUp"
        code = re.search(r"\b(\d{6})\b", received[0]["message"]).group(1)  # type: ignore[union-attr]
        app.confirm_sign_up(ClientId=s.client_id, Username="val", ConfirmationCode=code)
        attrs = {
            a["Name"]: a["Value"] for a in s.idp.admin_get_user(UserPoolId=s.pool_id, Username="val")["UserAttributes"]
        }
        assert attrs["phone_number_verified"] == "true"
    finally:
        hook.shutdown()
        hook.server_close()
