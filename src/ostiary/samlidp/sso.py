"""Answering a sign-in to a SAML application (no HTTP here: ``web.py`` calls these).

``application_for_request`` finds the application an AuthnRequest's Issuer names and checks the
request against its settings; ``respond`` decides whether the signed-in directory user may use it
(``ssoadmin.applications.user_may_use``: ENABLED, assigned directly or through a group, or assignment
not required) and makes the signed Response: the NameID in the application's format (``persistent``:
an HMAC of the application and the user under a key derived from the KEK, stable and opaque, different
per application; ``transient``: random each time), the mapped attributes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import RowMapping

from ostiary.audit import recorder as audit
from ostiary.config import Settings
from ostiary.crypto.secrets import SecretBox
from ostiary.identitystore import directory
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.protocol.errors import AccessDenied
from ostiary.samlidp import attributes, config, identity, responses
from ostiary.samlidp.config import SamlConfig
from ostiary.samlidp.requests import AuthnRequest, RequestError
from ostiary.ssoadmin import applications
from ostiary.store import tables as t
from ostiary.store.db import Store


class Refused(Exception):
    """A sign-in the IdP will not answer: a readable page (title, message, HTTP status)."""

    def __init__(self, title: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.title, self.message, self.status = title, message, status


@dataclass(frozen=True)
class Answer:
    acs_url: str
    saml_response: str  # base64
    relay_state: str | None
    application_name: str


def application_arn(instance: RowMapping, application_id: str) -> str:
    """An application's ARN from its ``apl-…`` id (AWS's ARN: the owner's account, the instance id)."""
    instance_id = str(instance["instance_arn"]).rsplit("/", 1)[-1]
    return f"arn:aws:sso::{instance['account_id']}:application/{instance_id}/{application_id}"


def application_for_request(store: Store, instance: RowMapping, request: AuthnRequest) -> tuple[str, SamlConfig]:
    """(application ARN, settings) of the application that sent ``request``; Refused otherwise."""
    with store.read() as conn:
        found = config.by_entity_id(conn, instance["instance_arn"], request.issuer)
    if found is None:
        raise Refused("Unknown application", "No application of this portal has that SAML audience.", 400)
    arn, settings = found
    if request.acs_index not in (None, "0") and request.acs_url is None:
        raise Refused("Invalid request", "The application asked for an assertion consumer service it has not.", 400)
    if request.acs_url is not None and request.acs_url != settings.acs_url:
        raise Refused(
            "Invalid request", "The application asked for an assertion consumer service URL it was not given.", 400
        )
    return arn, settings


def _name_id(box: SecretBox, settings: SamlConfig, arn: str, user: RowMapping, groups: list[str]) -> str:
    fmt = settings.name_id_format
    if fmt == "persistent":
        key = box.mac_key("samlidp-persistent-nameid")
        return hmac.new(key, f"{arn}|{user['user_id']}".encode(), hashlib.sha256).hexdigest()
    if fmt == "transient":
        return "_" + secrets.token_hex(20)
    default = "${user:email}" if fmt == "emailAddress" else "${user:subject}"
    values = attributes.resolve(settings.subject or default, user, groups)
    if not values or not values[0]:
        raise Refused(
            "Sign-in not possible",
            "Your user has no value for the attribute this application identifies users by. Ask your administrator.",
        )
    return values[0]


def _audit(
    runtime: Runtime,
    instance: RowMapping,
    arn: str,
    user: RowMapping | None,
    address: str,
    refused: str | None = None,
) -> None:
    """The ``Federate`` event of a sign-in to an application (CloudTrail's, ``sso.amazonaws.com``), in
    the instance owner's account; a refusal is a failure with its reason."""
    ctx = RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        service="sso",
        operation=audit.Event.FEDERATE.value,
        region=runtime.settings.region,
        principal=None,
        source_ip=address,
    )
    details = {"identityStoreId": str(instance["identity_store_id"]), "applicationArn": arn}
    if user is not None:
        details["userId"] = str(user["user_id"])
    if refused:
        details["failureReason"] = refused
    with runtime.store.tx() as conn:
        audit.record(
            conn,
            ctx,
            event=audit.Event.FEDERATE,
            error=AccessDenied(refused) if refused else None,
            username=str(user["user_name"]) if user is not None else audit.HIDDEN,
            account_id=str(instance["account_id"]),
            resource=("AWS::SSO::Application", arn),
            details=details,
        )


def respond(
    runtime: Runtime,
    instance: RowMapping,
    arn: str,
    user_id: str,
    in_response_to: str | None,
    relay_state: str | None,
    now: dt.datetime,
    address: str = "",
) -> Answer:
    """The signed Response for the signed-in user, or Refused (both audited as ``Federate``)."""
    store, box, server = runtime.store, runtime.box, runtime.settings
    store_id = str(instance["identity_store_id"])
    with store.read() as conn:
        app = applications.application(conn, arn)
        if app is None or app["instance_arn"] != instance["instance_arn"]:
            raise Refused("Application not found", "There is no such application in this portal.", 404)
        settings = config.get(conn, arn)
        if settings is None:
            raise Refused(
                "Application not configured",
                f"{app['name']} has no SAML settings yet. Ask your administrator to configure it.",
                400,
            )
        user = directory.user(conn, store_id, user_id)
        allowed = user is not None and directory.enabled(user) and applications.user_may_use(conn, arn, user_id)
    if not allowed:
        _audit(runtime, instance, arn, user, address, "The user is not assigned to the application.")
        raise Refused(
            "No access", f"You do not have access to {app['name']}. Ask your administrator to assign it to you."
        )
    assert user is not None
    with store.read() as conn:
        x = t.identitystore_external_ids.c
        external = [
            {"Issuer": r.issuer, "Id": r.external_id}
            for r in conn.execute(
                select(x.issuer, x.external_id)
                .where(x.identity_store_id == store_id, x.user_id == user_id, x.resource_type == "USER")
                .order_by(x.id)
            )
        ]
        group_ids = directory.groups_of_user(conn, store_id, user_id)
        g = t.identitystore_groups.c
        group_names = (
            [
                str(r[0])
                for r in conn.execute(
                    select(g.display_name).where(g.identity_store_id == store_id, g.group_id.in_(group_ids))
                )
            ]
            if group_ids
            else []
        )
    key_pem, cert_pem = identity.credentials_of(store, box, instance)
    user = {**user, "document": {**(user["document"] or {}), "ExternalIds": external}}  # type: ignore[assignment]
    mapped = []
    for mapping in settings.attributes:
        values = attributes.resolve(mapping.value, user, sorted(group_names))
        if values:
            mapped.append(responses.Attribute(mapping.name, config.ATTRIBUTE_FORMATS[mapping.format], tuple(values)))
    subject = responses.Subject(
        _name_id(box, settings, arn, user, sorted(group_names)),
        settings.name_id_format_uri,
        settings.sp_entity_id if settings.name_id_format in ("persistent", "transient") else None,
    )
    encoded = responses.signed_response(
        issuer=identity.entity_id(server, instance),
        key_pem=key_pem,
        cert_pem=cert_pem,
        subject=subject,
        acs_url=settings.acs_url,
        audience=settings.sp_entity_id,
        in_response_to=in_response_to,
        session_index="_" + secrets.token_hex(16),
        attributes=mapped,
        now=now,
    )
    relay = relay_state if in_response_to is not None else (relay_state or settings.relay_state)
    _audit(runtime, instance, arn, user, address)
    return Answer(settings.acs_url, encoded, relay, str(app["name"]))


def not_passive(
    store: Store, box: SecretBox, server: Settings, instance: RowMapping, arn: str, request_id: str, relay: str | None
) -> Answer:
    """The answer to an ``IsPassive`` request when no one is signed in: a signed Responder/NoPassive
    status to the application's ACS (SAML Core §3.4.1: the IdP must not show the user a page)."""
    with store.read() as conn:
        app = applications.application(conn, arn)
        settings = config.get(conn, arn)
    if app is None or settings is None:
        raise Refused("Application not found", "There is no such application in this portal.", 404)
    key_pem, cert_pem = identity.credentials_of(store, box, instance)
    encoded = responses.signed_status_response(
        issuer=identity.entity_id(server, instance),
        key_pem=key_pem,
        cert_pem=cert_pem,
        acs_url=settings.acs_url,
        in_response_to=request_id,
        status=responses.RESPONDER,
        sub_status=responses.NO_PASSIVE,
        now=dt.datetime.now(dt.UTC),
    )
    return Answer(settings.acs_url, encoded, relay, str(app["name"]))


__all__ = ["Answer", "Refused", "RequestError", "application_arn", "application_for_request", "not_passive", "respond"]
