"""Reading audit events: CloudTrail's LookupEvents (awsJson 1.1, SigV4, ``cloudtrail:LookupEvents``)
and the query ``ostiary events`` shares with it.

LookupEvents (CloudTrail API Reference): at most one lookup attribute (EventId, EventName, ReadOnly,
Username, ResourceType, ResourceName, EventSource, AccessKeyId), StartTime/EndTime inclusive, newest
first, MaxResults 1-50 (default 50), an opaque NextToken valid only with the same parameters. A
caller sees its own account's events. Each event carries ``CloudTrailEvent``, the JSON record in
CloudTrail's format (eventVersion 1.08: userIdentity, eventTime, eventSource, eventName, awsRegion,
sourceIPAddress, userAgent, errorCode/errorMessage, requestParameters, additionalEventData,
requestID, eventID, readOnly, resources, eventType, recipientAccountId). Insights events: none.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select
from sqlalchemy.engine import Row

from ostiary.audit import spool
from ostiary.audit.errors import InvalidLookupAttributesException, InvalidNextTokenException, InvalidTimeRangeException
from ostiary.audit.recorder import Event
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

_A = t.audit_events.c

# events CloudTrail marks readOnly (temporary credentials are read, not written)
READ_ONLY = frozenset(
    {
        Event.ASSUME_ROLE,
        Event.ASSUME_ROLE_WITH_WEB_IDENTITY,
        Event.ASSUME_ROLE_WITH_SAML,
        Event.GET_FEDERATION_TOKEN,
        Event.GET_SESSION_TOKEN,
        Event.GET_CREDENTIALS_FOR_IDENTITY,
    }
)

_COLUMNS = {
    "EventId": _A.event_id,
    "EventName": _A.event_name,
    "Username": _A.username,
    "ResourceType": _A.resource_type,
    "ResourceName": _A.resource_name,
    "EventSource": _A.event_source,
    "AccessKeyId": _A.access_key_id,
}


@dataclass(frozen=True)
class Query:
    """Which events: an account's (None: every account, for the operator's CLI), one lookup
    attribute, a time range, and the CLI's own filters."""

    account_id: str | None = None
    attribute: tuple[str, str] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    pool_id: str | None = None
    username: str | None = None
    event_name: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.account_id is not None:
            where.append(_A.account_id == self.account_id)
        if self.attribute is not None:
            key, value = self.attribute
            if key == "ReadOnly":
                names = [e.value for e in READ_ONLY]
                where.append(_A.event_name.in_(names) if value == "true" else _A.event_name.not_in(names))
            else:
                where.append(_COLUMNS[key] == value)
        if self.start is not None:
            where.append(_A.event_time >= self.start)
        if self.end is not None:
            where.append(_A.event_time <= self.end)
        if self.pool_id is not None:
            where.append(_A.user_pool_id == self.pool_id)
        if self.username is not None:
            where.append(_A.username == self.username)
        if self.event_name is not None:
            where.append(_A.event_name == self.event_name)
        return where

    def fingerprint(self) -> str:
        """What a NextToken is bound to (the parameters of the first page)."""
        parts = [self.account_id, self.attribute, self.start, self.end, self.pool_id, self.username, self.event_name]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def rows(conn: Connection, query: Query, limit: int, after: tuple[dt.datetime, str] | None = None) -> list[Row[Any]]:
    """Up to ``limit`` events, newest first; ``after``: the (time, id) of the last event of the page before."""
    where = query.conditions()
    if after is not None:
        at, event_id = after
        where.append(or_(_A.event_time < at, and_(_A.event_time == at, _A.event_id < event_id)))
    stmt = select(t.audit_events).where(*where).order_by(_A.event_time.desc(), _A.event_id.desc()).limit(limit)
    return list(conn.execute(stmt).all())


def _token(query: Query, row: Row[Any]) -> str:
    doc = {"t": utc(row.event_time).isoformat(), "i": row.event_id, "q": query.fingerprint()}
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def _after(query: Query, token: str) -> tuple[dt.datetime, str]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
        at, event_id = dt.datetime.fromisoformat(doc["t"]), str(doc["i"])
        if doc["q"] != query.fingerprint() or at.tzinfo is None:
            raise ValueError(doc)
    except (ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidNextTokenException("Invalid NextToken.") from None
    return at, event_id


def _identity(row: Row[Any]) -> dict[str, Any]:
    """CloudTrail's userIdentity: the signed caller, or the user pool's user, or a federated subject."""
    arn = row.principal_arn
    if arn:
        kind = "IAMUser"
        if arn.endswith(":root"):
            kind = "Root"
        elif ":assumed-role/" in arn:
            kind = "AssumedRole"
        elif ":federated-user/" in arn:
            kind = "FederatedUser"
        out: dict[str, Any] = {"type": kind, "arn": arn, "accountId": row.account_id}
        if row.access_key_id:
            out["accessKeyId"] = row.access_key_id
        if kind == "IAMUser":
            out["userName"] = arn.rsplit("/", 1)[-1]
        return out
    federation = (row.details or {}).get("federation")
    if federation:
        kind = "SAMLUser" if federation.get("provider") == "saml" else "WebIdentityUser"
        provider = federation.get("provider_arn") or federation.get("provider")
        return {
            "type": kind,
            "principalId": f"{provider}:{row.username}",
            "userName": row.username,
            "identityProvider": provider,
        }
    out = {"type": "Unknown", "principalId": "Anonymous"}
    if row.username:
        out["userName"] = row.username
    return out


def cloudtrail_event(row: Row[Any]) -> dict[str, Any]:
    """The record in CloudTrail's format (the ``CloudTrailEvent`` JSON)."""
    details = dict(row.details or {})
    request = details.pop("requestParameters", None)
    details.pop("federation", None)
    if row.user_pool_id:
        details["userPoolId"] = row.user_pool_id
        if row.principal_arn and row.username:
            details["userName"] = row.username
    if row.user_sub:
        details["sub"] = row.user_sub
    record: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": _identity(row),
        "eventTime": utc(row.event_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": row.event_source,
        "eventName": row.event_name,
        "awsRegion": row.region,
        "sourceIPAddress": row.source_ip,
        "userAgent": row.user_agent,
    }
    if row.error_code:
        record["errorCode"] = row.error_code
        if row.error_message:
            record["errorMessage"] = row.error_message
    record.update(
        {
            "requestParameters": request,
            "responseElements": None,
            "additionalEventData": details or None,
            "requestID": row.request_id,
            "eventID": row.event_id,
            "readOnly": row.event_name in READ_ONLY,
            "resources": _resources(row),
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": row.account_id,
            "eventCategory": "Management",
        }
    )
    if not record["resources"]:
        del record["resources"]
    return record


def _resources(row: Row[Any]) -> list[dict[str, str]]:
    if not row.resource_name:
        return []
    out = {"ARN" if row.resource_name.startswith("arn:") else "name": row.resource_name}
    if row.resource_type:
        out["type"] = row.resource_type
    return [out]


def event_shape(row: Row[Any]) -> dict[str, Any]:
    """LookupEvents' Event shape."""
    out: dict[str, Any] = {
        "EventId": row.event_id,
        "EventName": row.event_name,
        "ReadOnly": "true" if row.event_name in READ_ONLY else "false",
        "EventTime": utc(row.event_time),
        "EventSource": row.event_source,
        "CloudTrailEvent": json.dumps(cloudtrail_event(row), separators=(",", ":")),
        "Resources": [{"ResourceType": row.resource_type, "ResourceName": row.resource_name}]
        if row.resource_name
        else [],
    }
    if row.access_key_id:
        out["AccessKeyId"] = row.access_key_id
    if row.username:
        out["Username"] = row.username
    return out


def _attribute(params: Params) -> tuple[str, str] | None:
    attributes = list(params.get("LookupAttributes") or [])
    if len(attributes) > 1:
        raise InvalidLookupAttributesException("You cannot specify more than one lookup attribute.")
    if not attributes:
        return None
    key, value = str(attributes[0]["AttributeKey"]), str(attributes[0]["AttributeValue"])
    if key == "ReadOnly" and value not in ("true", "false"):
        raise InvalidLookupAttributesException("The ReadOnly attribute value must be true or false.")
    return key, value


@operation("cloudtrail", "LookupEvents")
def lookup_events(ctx: RequestContext, params: Params) -> Result:
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException("Start time must be before the end time.")
    if params.get("EventCategory") == "insight":
        return {"Events": []}  # Ostiary records no Insights events
    # CloudTrail's times are whole seconds: both ends cover their whole second
    if start is not None:
        start = start.replace(microsecond=0)
    if end is not None:
        end = end.replace(microsecond=999999)
    query = Query(account_id=ctx.account_id, attribute=_attribute(params), start=start, end=end)
    after = _after(query, params["NextToken"]) if params.get("NextToken") else None
    size = int(params.get("MaxResults") or 50)
    spool.flush_all(ctx.store)  # this process's events still on their way (audit/spool.py) first
    with ctx.store.read() as conn:
        found = rows(conn, query, size + 1, after)
    out: dict[str, Any] = {"Events": [event_shape(r) for r in found[:size]]}
    if len(found) > size:
        out["NextToken"] = _token(query, found[size - 1])
    return out
