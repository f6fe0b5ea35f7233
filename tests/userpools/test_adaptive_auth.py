"""Adaptive authentication against a live server, through boto3, with a real SMTP server for the
notification e-mails: the scripted attacks of issue 16 (many addresses guessing one user, one
address trying many users, a sign-in from a new device after a known one) in AUDIT and ENFORCED
mode; the risk, the action and the e-mail of each; the feedback links; the contextual data a public
client cannot forge.

Source addresses: AdminInitiateAuth's ContextData.IpAddress (the trusted server's word, as AWS takes
it), and InitiateAuth's UserContextData.IpAddress for a client with
EnablePropagateAdditionalUserContextData.

The server has a GeoIP database (``geoip_database_path``), a tiny MaxMind-format City database built
here, placing only the loopback addresses of ``PLACES``: the other tests' addresses are unknown to it,
so their scores have no GeoIP signal."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import sys
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
from mmdb_writer import MmdbF64, MmdbU16, MMDBWriter
from netaddr import IPSet

from tests.conftest import REGION, Server, free_port
from tests.userpools.conftest import PASSWORD, PoolSetup, create_confirmed_user, make_pool

BLOCKED = "Request not allowed due to security reasons."
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CURL = "curl/8.5.0"
HOME = "198.51.100.10"
PARIS, SYDNEY, VERSAILLES, SOMEWHERE_FR = "127.0.0.2", "127.0.0.3", "127.0.1.4", "127.0.2.5"
# address: (city, ISO code, country, time zone, latitude, longitude, accuracy radius in km)
PLACES: dict[str, tuple[str | None, str, str, str | None, float | None, float | None, int | None]] = {
    PARIS: ("Paris", "FR", "France", "Europe/Paris", 48.8566, 2.3522, 20),
    SYDNEY: ("Sydney", "AU", "Australia", "Australia/Sydney", -33.8688, 151.2093, 20),
    VERSAILLES: ("Versailles", "FR", "France", "Europe/Paris", 48.8049, 2.1204, 20),
    SOMEWHERE_FR: (None, "FR", "France", None, None, None, None),  # a country-only record
}


def write_geoip_database(path: Any) -> None:
    """A GeoLite2-City-shaped database of ``PLACES`` (IPv6 tree with the IPv4 space mapped, as MaxMind's)."""
    writer = MMDBWriter(ip_version=6, database_type="GeoLite2-City", ipv4_compatible=True)
    for address, (city, code, country, zone, lat, lon, radius) in PLACES.items():
        record: dict[str, Any] = {"country": {"iso_code": code, "names": {"en": country, "fr": country}}}
        if city:
            record["city"] = {"names": {"en": city}}
        if lat is not None and lon is not None and radius is not None and zone:
            record["location"] = {
                "latitude": MmdbF64(lat),
                "longitude": MmdbF64(lon),
                "accuracy_radius": MmdbU16(radius),
                "time_zone": zone,
            }
        writer.insert_network(IPSet([f"{address}/32"]), record)
    writer.to_db_file(str(path))


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, to: str, subject: str, timeout: float = 10) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages:
                if m["To"] == to and m["Subject"] == subject:
                    self.messages.remove(m)
                    return m
            time.sleep(0.05)
        raise AssertionError(f"no mail {subject!r} to {to}: {[(m['To'], m['Subject']) for m in self.messages]}")

    def to(self, to: str) -> list[Any]:
        return [m for m in self.messages if m["To"] == to]


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[_Inbox, int]]:
    box = _Inbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture(scope="module")
def srv(server_factory: Any, inbox: tuple[_Inbox, int], tmp_path_factory: pytest.TempPathFactory) -> Server:
    geo = tmp_path_factory.mktemp("geoip") / "City.mmdb"
    write_geoip_database(geo)
    env = {
        "OSTIARY_SMTP_HOST": "127.0.0.1",
        "OSTIARY_SMTP_PORT": str(inbox[1]),
        "OSTIARY_SMTP_FROM": "id@example.org",
        "OSTIARY_GEOIP_DATABASE_PATH": str(geo),
    }
    s: Server = server_factory(env=env)
    return s


@pytest.fixture(scope="module")
def idp(srv: Server) -> Any:
    return srv.client("cognito-idp")


NOTIFY = {
    "SourceArn": "arn:aws:ses:us-east-1:123456789012:identity/id@example.org",
    "From": "id@example.org",
    "BlockEmail": {
        "Subject": "Blocked sign-in",
        "TextBody": "Blocked {username} from {ip-address} on {device-name} at {login-time}. "
        "Yes: {one-click-link-valid} No: {one-click-link-invalid}",
    },
    "MfaEmail": {
        "Subject": "Sign-in needed MFA",
        "HtmlBody": "<p>{username} from {ip-address} ({device-name}).</p>"
        '<a href="{one-click-link-valid}">me</a> <a href="{one-click-link-invalid}">not me</a>',
    },
    "NoActionEmail": {"Subject": "New sign-in", "TextBody": "{username} {ip-address} {one-click-link-invalid}"},
}
ACTIONS = {
    "LowAction": {"Notify": True, "EventAction": "MFA_IF_CONFIGURED"},
    "MediumAction": {"Notify": True, "EventAction": "MFA_REQUIRED"},
    "HighAction": {"Notify": True, "EventAction": "BLOCK"},
}


@contextlib.contextmanager
def _pool(idp: Any, mode: str, devices: bool = False, client_args: dict[str, Any] | None = None) -> Iterator[PoolSetup]:
    args: dict[str, Any] = {"UserPoolAddOns": {"AdvancedSecurityMode": mode}, "UserPoolTier": "PLUS"}
    if devices:
        args["DeviceConfiguration"] = {"ChallengeRequiredOnNewDevice": False, "DeviceOnlyRememberedOnUserPrompt": True}
    s = make_pool(idp, args, client_args)
    try:
        idp.set_user_pool_mfa_config(
            UserPoolId=s.pool_id,
            MfaConfiguration="OPTIONAL",
            EmailMfaConfiguration={"Subject": "Your sign-in code", "Message": "Code {####}"},
        )
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            AccountTakeoverRiskConfiguration={"NotifyConfiguration": NOTIFY, "Actions": ACTIONS},
        )
        yield s
    finally:
        with contextlib.suppress(Exception):
            idp.delete_user_pool(UserPoolId=s.pool_id)


def _user(s: PoolSetup, name: str) -> str:
    email = f"{name}-{secrets.token_hex(3)}@example.com"
    create_confirmed_user(s, name, email=email, email_verified="true")
    return email


def _admin(s: PoolSetup, name: str, ip: str, agent: str = CHROME, password: str = PASSWORD, **auth: str) -> Any:
    return s.idp.admin_initiate_auth(
        UserPoolId=s.pool_id,
        ClientId=s.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": password, **auth},
        ContextData={
            "IpAddress": ip,
            "ServerName": "app.example.org",
            "ServerPath": "/sign-in",
            "HttpHeaders": [{"headerName": "User-Agent", "headerValue": agent}],
        },
    )


def _fail(s: PoolSetup, name: str, ip: str, agent: str = CURL) -> None:
    with pytest.raises(ClientError) as exc:
        _admin(s, name, ip, agent, password="Wrong-Guess!9")
    assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"


def _events(s: PoolSetup, name: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = s.idp.admin_list_user_auth_events(UserPoolId=s.pool_id, Username=name)["AuthEvents"]
    return [e for e in out if e["EventType"] == "SignIn"]


def _links(body: str) -> dict[str, str]:
    found = re.findall(r"(http://[^\s\"<]+/_feedback/auth-event\?[^\s\"<]+)", body)
    return {("valid" if "value=valid" in u else "invalid"): u.replace("&amp;", "&") for u in found}


def _body(mail: Any) -> str:
    if mail.is_multipart():
        parts = [p for p in mail.walk() if p.get_content_type() == "text/html"] or list(mail.walk())[1:]
        return str(parts[0].get_payload(decode=True).decode())
    return str(mail.get_payload(decode=True).decode())


@pytest.mark.parametrize("mode", ["AUDIT", "ENFORCED"])
def test_many_addresses_guessing_one_user(idp: Any, inbox: tuple[_Inbox, int], mode: str) -> None:
    box = inbox[0]
    with _pool(idp, mode) as s:
        email = _user(s, "vera")
        first = _admin(s, "vera", HOME)  # the first sign-in has no history: nothing is new
        assert "AuthenticationResult" in first
        for i in range(4):  # four guesses from four networks (the lockout engages at five)
            _fail(s, "vera", f"203.0.{113 + i}.7")
        answer = _admin(s, "vera", "192.0.2.44", FIREFOX)  # the right password, from elsewhere
        events = _events(s, "vera")
        newest = events[0]
        assert newest["EventRisk"] == {
            "RiskDecision": "AccountTakeover",
            "RiskLevel": "Medium",
            "CompromisedCredentialsDetected": False,
        }
        assert newest["EventContextData"] == {"IpAddress": "192.0.2.44", "DeviceName": "Firefox, Windows"}
        # the failures were scored too (newest first): the third and fourth guesses tripped the
        # per-user velocity on top of a new address, network and agent
        failures = [e for e in events if e["EventResponse"] == "Fail"]
        assert [e["EventRisk"]["RiskLevel"] for e in failures] == ["Medium", "Medium", "Low", "Low"]
        assert events[-1]["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}
        if mode == "AUDIT":
            assert "AuthenticationResult" in answer
            assert newest["EventResponse"] == "Pass"
            assert box.to(email) == []
            return
        # ENFORCED, Medium: MFA_REQUIRED; MFA is possible (e-mail) so the challenge is raised
        assert answer["ChallengeName"] == "EMAIL_OTP"
        assert newest["EventResponse"] == "InProgress"
        code_mail = box.wait_for(email, "Your sign-in code")
        code = re.search(r"Code (\d{6})", _body(code_mail)).group(1)  # type: ignore[union-attr]
        notice = box.wait_for(email, "Sign-in needed MFA")
        body = _body(notice)
        assert "vera from 192.0.2.44 (Firefox, Windows)" in body
        done = idp.admin_respond_to_auth_challenge(
            UserPoolId=s.pool_id,
            ClientId=s.client_id,
            ChallengeName="EMAIL_OTP",
            Session=answer["Session"],
            ChallengeResponses={"USERNAME": "vera", "EMAIL_OTP_CODE": code},
        )
        assert "AuthenticationResult" in done
        newest = _events(s, "vera")[0]
        assert newest["EventResponse"] == "Pass"
        assert {"ChallengeName": "Mfa", "ChallengeResponse": "Success"} in newest["ChallengeResponses"]
        # the one-click "not me" link records Invalid feedback for this event
        links = _links(body)
        r = httpx.get(links["invalid"])
        assert r.status_code == 200 and "not you" in r.text
        assert r.headers["referrer-policy"] == "no-referrer"
        fed = _events(s, "vera")[0]
        assert fed["EventFeedback"]["FeedbackValue"] == "Invalid" and fed["EventFeedback"]["Provider"] == "User"
        # a link altered to name another event is refused
        other = events[-1]["EventId"]
        forged = re.sub(r"event=[^&]+", f"event={other}", links["valid"])
        assert httpx.get(forged).status_code == 400
        assert "EventFeedback" not in _events(s, "vera")[-1]


@pytest.mark.parametrize("mode", ["AUDIT", "ENFORCED"])
def test_one_address_trying_many_users(idp: Any, inbox: tuple[_Inbox, int], mode: str) -> None:
    box = inbox[0]
    attacker = "192.0.2.66"
    with _pool(idp, mode) as s:
        email = _user(s, "willa")
        assert "AuthenticationResult" in _admin(s, "willa", HOME)
        for i in range(5):
            _user(s, f"other{i}")
            _fail(s, f"other{i}", attacker)
        if mode == "ENFORCED":
            with pytest.raises(ClientError) as exc:
                _admin(s, "willa", attacker, CURL)
            err = exc.value.response["Error"]
            assert (err["Code"], err["Message"]) == ("NotAuthorizedException", BLOCKED)
        else:
            assert "AuthenticationResult" in _admin(s, "willa", attacker, CURL)
        newest = _events(s, "willa")[0]
        assert newest["EventRisk"]["RiskLevel"] == "High"
        assert newest["EventRisk"]["RiskDecision"] == "AccountTakeover"
        assert newest["EventResponse"] == ("Fail" if mode == "ENFORCED" else "Pass")
        assert newest["EventContextData"] == {"IpAddress": attacker, "DeviceName": "curl"}
        if mode == "ENFORCED":
            mail = box.wait_for(email, "Blocked sign-in")
            body = _body(mail)
            assert body.startswith(f"Blocked willa from {attacker} on curl at ")
            # "yes, it was me": Valid feedback teaches the address, the network and the agent
            assert httpx.get(_links(body)["valid"]).status_code == 200
            assert _events(s, "willa")[0]["EventFeedback"]["FeedbackValue"] == "Valid"
        else:
            assert box.to(email) == []


@pytest.mark.parametrize("mode", ["AUDIT", "ENFORCED"])
def test_new_device_after_a_known_one(idp: Any, inbox: tuple[_Inbox, int], mode: str) -> None:
    box = inbox[0]
    with _pool(idp, mode, devices=True) as s:
        email = _user(s, "nora")
        first = _admin(s, "nora", HOME)
        key = first["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"]
        # the known device, from home: nothing new
        again = _admin(s, "nora", HOME, DEVICE_KEY=key)
        assert "AuthenticationResult" in again
        assert _events(s, "nora")[0]["EventRisk"]["RiskDecision"] == "NoRisk"
        # another device (no key), same network and browser: Low
        answer = _admin(s, "nora", HOME)
        newest = _events(s, "nora")[0]
        assert newest["EventRisk"] == {
            "RiskDecision": "AccountTakeover",
            "RiskLevel": "Low",
            "CompromisedCredentialsDetected": False,
        }
        if mode == "AUDIT":
            assert "AuthenticationResult" in answer
            assert box.to(email) == []
        else:  # MFA_IF_CONFIGURED, and e-mail MFA is possible
            assert answer["ChallengeName"] == "EMAIL_OTP"
            box.wait_for(email, "Your sign-in code")
            box.wait_for(email, "Sign-in needed MFA")


def test_mfa_required_without_a_way_blocks_and_if_configured_allows(idp: Any) -> None:
    with _pool(idp, "ENFORCED", devices=True) as s:
        create_confirmed_user(s, "ivo")  # no e-mail, no phone, no TOTP: MFA is not possible
        key = _admin(s, "ivo", HOME)["AuthenticationResult"]["NewDeviceMetadata"]["DeviceKey"]
        assert key
        # Low (a new device): MFA_IF_CONFIGURED lets the sign-in go on
        assert "AuthenticationResult" in _admin(s, "ivo", HOME)
        # Medium (new device, network, address and agent): MFA_REQUIRED refuses
        with pytest.raises(ClientError) as exc:
            _admin(s, "ivo", "192.0.2.99", FIREFOX)
        assert exc.value.response["Error"]["Message"] == BLOCKED
        newest = _events(s, "ivo")[0]
        assert newest["EventResponse"] == "Fail" and newest["EventRisk"]["RiskLevel"] == "Medium"


def test_client_configuration_overrides_the_pools(idp: Any) -> None:
    with _pool(idp, "ENFORCED") as s:
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            ClientId=s.client_id,
            AccountTakeoverRiskConfiguration={
                "Actions": {
                    "LowAction": {"Notify": False, "EventAction": "NO_ACTION"},
                    "MediumAction": {"Notify": False, "EventAction": "NO_ACTION"},
                    "HighAction": {"Notify": False, "EventAction": "NO_ACTION"},
                }
            },
        )
        _user(s, "otto")
        _admin(s, "otto", HOME)
        for i in range(4):
            _fail(s, "otto", f"203.0.{113 + i}.8")
        # Medium, but this client's configuration takes no action
        assert "AuthenticationResult" in _admin(s, "otto", "192.0.2.45", FIREFOX)
        assert _events(s, "otto")[0]["EventRisk"]["RiskLevel"] == "Medium"


def _secret_hash(username: str, client_id: str, secret: str) -> str:
    mac = hmac.new(secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def _public(srv: Server) -> Any:
    return boto3.client(
        "cognito-idp", endpoint_url=srv.url, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )


@pytest.mark.parametrize("propagate", [False, True])
def test_user_context_data_address_only_when_the_client_propagates(srv: Server, idp: Any, propagate: bool) -> None:
    """A public caller claiming another address in UserContextData is believed only by a client with
    EnablePropagateAdditionalUserContextData (as AWS); otherwise the request's own address counts."""
    client_args = {"GenerateSecret": True, "EnablePropagateAdditionalUserContextData": propagate}
    with _pool(idp, "AUDIT", client_args=client_args) as s, contextlib.closing(_public(srv)) as app:
        create_confirmed_user(s, "pia")
        assert s.client_secret
        app.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={
                "USERNAME": "pia",
                "PASSWORD": PASSWORD,
                "SECRET_HASH": _secret_hash("pia", s.client_id, s.client_secret),
            },
            UserContextData={"IpAddress": "192.0.2.200"},
        )
        seen = _events(s, "pia")[0]["EventContextData"]["IpAddress"]
        assert seen == ("192.0.2.200" if propagate else "127.0.0.1")


def test_encoded_data_user_agent_and_feedback_link_tampering(srv: Server, idp: Any) -> None:
    with _pool(idp, "AUDIT") as s, contextlib.closing(_public(srv)) as app:
        create_confirmed_user(s, "eli")
        payload = json.dumps({"contextData": {"UserAgent": FIREFOX, "DeviceId": "dev-123"}, "username": "eli"})
        encoded = base64.b64encode(json.dumps({"payload": payload, "version": "JS20171115"}).encode()).decode()
        app.initiate_auth(
            ClientId=s.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "eli", "PASSWORD": PASSWORD},
            UserContextData={"EncodedData": encoded},
        )
        assert _events(s, "eli")[0]["EventContextData"]["DeviceName"] == "Firefox, Windows"
        # a link with a made-up token, or incomplete, records nothing
        event = _events(s, "eli")[0]["EventId"]
        bad = httpx.get(
            srv.url + "/_feedback/auth-event",
            params={"pool": s.pool_id, "username": "eli", "event": event, "value": "invalid", "token": "x" * 43},
        )
        assert bad.status_code == 400
        assert httpx.get(srv.url + "/_feedback/auth-event", params={"pool": s.pool_id}).status_code == 400
        assert "EventFeedback" not in _events(s, "eli")[0]


def test_risk_events_cli_explains_each_decision(srv: Server, idp: Any) -> None:
    """`ostiary risk events` (a real process on the server's store): the signals and their weights."""
    with _pool(idp, "ENFORCED") as s:
        _user(s, "cleo")
        _admin(s, "cleo", HOME)
        for i in range(5):
            _user(s, f"guess{i}")
            _fail(s, f"guess{i}", "192.0.2.77")
        with pytest.raises(ClientError):
            _admin(s, "cleo", "192.0.2.77", CURL)
        cmd = [
            sys.executable, "-m", "ostiary.cli", "risk", "events",
            "--data-dir", str(srv.data_dir), "--database-url", srv.database_url,
            "--user-pool-id", s.pool_id, "--username", "cleo", "--json",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
        newest = json.loads(done.stdout)[0]
        assert newest["EventResponse"] == "Fail" and newest["EventRisk"]["RiskLevel"] == "High"
        explained = newest["OstiaryRisk"]
        fired = {sig["name"]: sig["weight"] for sig in explained["signals"]}
        assert fired == {
            "new_agent": 10,
            "new_ip": 5,
            "new_network": 15,
            "address_failures": 20,
            "address_users": 20,
        }
        assert explained["score"] == 70 and explained["action"] == "BLOCK" and explained["done"] == "BLOCK"
        assert explained["notified"] == "BlockEmail"
        wide = {**os.environ, "COLUMNS": "250"}
        table = subprocess.run(cmd[:-1], capture_output=True, text=True, timeout=60, check=True, env=wide).stdout
        assert "address_users +20" in table and "BLOCK" in table


def test_address_lists_use_the_contextual_address(idp: Any) -> None:
    """RiskExceptionConfiguration with ContextData's address: always-allow skips risk detection (the
    attack scores NoRisk and passes), always-block refuses before the password."""
    with _pool(idp, "ENFORCED") as s:
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            AccountTakeoverRiskConfiguration={"NotifyConfiguration": NOTIFY, "Actions": ACTIONS},
            RiskExceptionConfiguration={
                "SkippedIPRangeList": ["192.0.2.0/24"],
                "BlockedIPRangeList": ["203.0.113.0/24"],
            },
        )
        _user(s, "abel")
        _admin(s, "abel", HOME)
        for i in range(5):
            _user(s, f"try{i}")
            _fail(s, f"try{i}", "192.0.2.88")
        assert "AuthenticationResult" in _admin(s, "abel", "192.0.2.88", CURL)
        assert _events(s, "abel")[0]["EventRisk"] == {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False}
        with pytest.raises(ClientError) as exc:
            _admin(s, "abel", "203.0.113.5")
        assert exc.value.response["Error"]["Message"] == BLOCKED
        assert _events(s, "abel")[0]["EventRisk"]["RiskDecision"] == "Block"


# --------------------------------------------------------------------------------------------
# GeoIP: new country, impossible travel, the place in events and e-mails


def _risk(s: PoolSetup, name: str) -> dict[str, Any]:
    risk: dict[str, Any] = _events(s, name)[0]["EventRisk"]
    return risk


def _explained(srv: Server, s: PoolSetup, name: str, as_json: bool = True) -> Any:
    """``ostiary risk events`` (a real process on the server's store): the JSON, or the table's text."""
    cmd = [
        sys.executable, "-m", "ostiary.cli", "risk", "events",
        "--data-dir", str(srv.data_dir), "--database-url", srv.database_url,
        "--user-pool-id", s.pool_id, "--username", name,
    ]  # fmt: skip
    wide = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run(cmd + ["--json"] * as_json, capture_output=True, text=True, timeout=60, check=True, env=wide)
    return json.loads(done.stdout) if as_json else done.stdout


def test_geoip_places_new_country_and_impossible_travel(srv: Server, idp: Any) -> None:
    with _pool(idp, "AUDIT") as s:
        _user(s, "gael")
        assert "AuthenticationResult" in _admin(s, "gael", PARIS)
        first = _events(s, "gael")[0]
        assert first["EventContextData"] == {
            "IpAddress": PARIS,
            "DeviceName": "Chrome, Linux",
            "City": "Paris",
            "Country": "France",
            "Timezone": "Europe/Paris",
        }
        assert first["EventRisk"]["RiskDecision"] == "NoRisk"
        # 17 km away a moment later: within the accuracy radii, no travel; a new address and network
        # only (5 + 15: Low; with impossible travel it would be Medium)
        _admin(s, "gael", VERSAILLES)
        assert _risk(s, "gael").get("RiskLevel") == "Low"
        # Sydney a moment after Paris: a new address (5), a new country (15), 17,000 km in seconds (30)
        _admin(s, "gael", SYDNEY)
        newest = _events(s, "gael")[0]
        sydney_event = newest["EventId"]
        assert newest["EventRisk"]["RiskLevel"] == "Medium"
        assert newest["EventContextData"]["City"] == "Sydney"
        assert newest["EventContextData"]["Country"] == "Australia"
        assert newest["EventContextData"]["Timezone"] == "Australia/Sydney"
        explained = _explained(srv, s, "gael")[0]["OstiaryRisk"]
        fired = {sig["name"]: sig for sig in explained["signals"]}
        assert {name: sig["weight"] for name, sig in fired.items()} == {
            "new_ip": 5,
            "new_country": 15,
            "impossible_travel": 30,
        }
        assert fired["new_country"]["detail"] == "country Australia (AU)"
        travel = fired["impossible_travel"]["detail"]
        assert travel.startswith(f"16978 km from the last sign-in's place ({VERSAILLES}) in 0 minutes: "), travel
        assert explained["observation"]["city"] == "Sydney" and explained["observation"]["accuracy_km"] == 20
        assert "Sydney, Australia" in _explained(srv, s, "gael", as_json=False)
        # a record with a country only: shown; France is known and there is no location to travel from
        _admin(s, "gael", SOMEWHERE_FR)
        newest = _events(s, "gael")[0]
        assert newest["EventContextData"]["Country"] == "France" and "City" not in newest["EventContextData"]
        assert newest["EventRisk"]["RiskLevel"] == "Low"  # new address and network: 20; France is known
        # an address the database does not know: no place, nothing GeoIP fires
        _admin(s, "gael", HOME)
        unknown = _events(s, "gael")[0]["EventContextData"]
        assert "Country" not in unknown and "City" not in unknown
        # "not me" on the Sydney sign-in forgets Australia: Sydney again is a new country (and, the last
        # sign-in being unlocated, no travel)
        idp.admin_update_auth_event_feedback(
            UserPoolId=s.pool_id, Username="gael", EventId=sydney_event, FeedbackValue="Invalid"
        )
        _admin(s, "gael", SYDNEY)
        fired = {sig["name"] for sig in _explained(srv, s, "gael")[0]["OstiaryRisk"]["signals"]}
        assert fired == {"new_ip", "new_network", "new_country"}


def test_geoip_impossible_travel_in_enforced_mode_names_the_place_in_the_mail(
    idp: Any, inbox: tuple[_Inbox, int]
) -> None:
    box = inbox[0]
    with _pool(idp, "ENFORCED") as s:
        notify = {
            **NOTIFY,
            "MfaEmail": {"Subject": "Where are you", "TextBody": "{username} in {city}, {country} at {ip-address}"},
        }
        idp.set_risk_configuration(
            UserPoolId=s.pool_id,
            AccountTakeoverRiskConfiguration={"NotifyConfiguration": notify, "Actions": ACTIONS},
        )
        email = _user(s, "hugo")
        assert "AuthenticationResult" in _admin(s, "hugo", PARIS)
        # Medium (new address, new country, impossible travel): MFA_REQUIRED, e-mail MFA possible
        answer = _admin(s, "hugo", SYDNEY)
        assert answer["ChallengeName"] == "EMAIL_OTP"
        body = _body(box.wait_for(email, "Where are you"))
        assert body.strip() == f"hugo in Sydney, Australia at {SYDNEY}"
        box.wait_for(email, "Your sign-in code")
        # the same from a new browser too (High: BLOCK)
        with pytest.raises(ClientError) as exc:
            _admin(s, "hugo", SYDNEY, FIREFOX)
        assert exc.value.response["Error"]["Message"] == BLOCKED
        assert _risk(s, "hugo")["RiskLevel"] == "High"
