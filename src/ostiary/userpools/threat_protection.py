"""Threat protection of user pools: SetRiskConfiguration, DescribeRiskConfiguration,
AdminListUserAuthEvents, AdminUpdateAuthEventFeedback, UpdateAuthEventFeedback, and the part of
AWS's behaviour that can run without AWS's risk engine.

What runs, by ``UserPoolAddOns.AdvancedSecurityMode`` (OFF costs nothing: no read, no write):

- AUDIT or ENFORCED: every password sign-in (InitiateAuth / AdminInitiateAuth with a password,
  SRP or USER_AUTH's PASSWORD / PASSWORD_SRP, and the hosted UI's sign-in, which goes through the
  same functions) of a known user records one ``SignIn`` event: ``Pass``, ``Fail`` (wrong
  password), or ``InProgress`` while a challenge (MFA, NEW_PASSWORD_REQUIRED, a device) follows;
  the answer to an MFA challenge adds ``Mfa: Success`` (the event passes) or, once the challenge
  session is over, ``Mfa: Failure`` (it fails). Events older than 90 days (what AWS keeps) are
  swept now and then and never listed.
- ENFORCED: a sign-in from an address in ``BlockedIPRangeList`` is refused with
  ``NotAuthorizedException: Request not allowed due to security reasons.`` (event: ``Fail``,
  RiskDecision ``Block``), unless the address is also in ``SkippedIPRangeList``. The check runs
  where the PreAuthentication trigger would (``screen``): every first factor — password, SRP,
  USER_AUTH's choices (passkey and one-time codes included) and CUSTOM_AUTH. The app client's
  own risk configuration, when it has one, replaces the pool's (``ClientId`` absent = pool-wide).
  The address is the one adaptive authentication scores (``risk/signals.py``: ContextData's for
  the Admin calls, UserContextData's when the client propagates it, else the request's).
- AUDIT or ENFORCED: a password given in clear (sign-up, changes, resets, password sign-ins; never
  SRP) is checked for compromised credentials (``risk/compromised.py``): ``SignUp``,
  ``PasswordChange`` (ChangePassword) and ``ForgotPassword`` (ConfirmForgotPassword) events are
  recorded as well as sign-ins, each with CompromisedCredentialsDetected; in ENFORCED mode
  CompromisedCredentialsRiskConfiguration's BLOCK refuses the password, or the sign-in (the user
  then RESET_REQUIRED). Every recorded event is exported to the pool's userAuthEvents log
  destinations after commit (``log_delivery.py``).

- AUDIT or ENFORCED: adaptive authentication (``risk/adaptive.py``) scores every first factor of
  those sign-ins (a wrong password too) from what Ostiary observes — the address (ContextData's for
  the Admin calls, UserContextData's when the client propagates it), its network, the user-agent
  family, the device, failure velocity per user and per address, users per address — into
  RiskDecision ``AccountTakeover`` with a RiskLevel (Low / Medium / High) or ``NoRisk``; events carry
  EventContextData's IpAddress and DeviceName, and Ostiary's reasons (``OstiaryRisk``, shown by
  ``ostiary risk events``). ENFORCED takes AccountTakeoverRiskConfiguration's action (BLOCK,
  MFA_IF_CONFIGURED, MFA_REQUIRED; ``record_blocked``) and sends its notification e-mail with
  one-click feedback links (``risk/notifications.py``). Feedback teaches the engine: Valid makes
  what the sign-in showed known for the user, Invalid forgets it. docs/threat-protection.md has the
  signals, weights and actions.

Not built: GeoIP (no city, country or time zone in EventContextData; no new-country or
impossible-travel signal); ResendCode events, custom authentication flows
(AdvancedSecurityAdditionalFlows) and passkey / one-time-password sign-ins are neither recorded nor
scored.

The FeedbackToken of UpdateAuthEventFeedback is what AWS puts in its notification emails; here it is
``risk/notifications.feedback_token`` (re-exported): an HMAC of the pool and event ids under a key
derived from the server's key-encryption key, checked by recomputing it — nothing secret is stored
with the event.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import secrets
import uuid
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Row

from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc
from ostiary.userpools import directory, log_delivery, paging
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import (
    InvalidParameterException,
    NotAuthorizedException,
    ResourceNotFoundException,
    UserNotFoundException,
    UserPoolAddOnNotEnabledException,
)
from ostiary.userpools.lookup import ClientView, client_in_pool, pool_by_id, pool_for_caller
from ostiary.userpools.risk import adaptive, notifications
from ostiary.userpools.risk.notifications import feedback_token

POOL_WIDE = "ALL"  # client_id of the pool's own risk configuration
NOT_ENABLED = "Advanced security features are not enabled for this user pool."
BLOCKED = "Request not allowed due to security reasons."
RETENTION = dt.timedelta(days=90)
MAX_RESULTS = 60
_SECTIONS = (
    "CompromisedCredentialsRiskConfiguration",
    "AccountTakeoverRiskConfiguration",
    "RiskExceptionConfiguration",
)


def mode(pool: PoolView) -> str:
    """OFF, AUDIT or ENFORCED."""
    return str((pool.config.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode") or "OFF")


def _require_enabled(pool: PoolView) -> None:
    if mode(pool) == "OFF":
        raise UserPoolAddOnNotEnabledException(NOT_ENABLED)


__all__ = ["feedback_token"]  # the FeedbackToken of an event: risk/notifications.py (its e-mails' links)


# --------------------------------------------------------------------------------------------
# risk configuration


def _networks(ranges: list[str], field: str) -> list[str]:
    for cidr in ranges:
        try:
            if "/" not in cidr:
                raise ValueError(cidr)
            ipaddress.ip_network(cidr.strip(), strict=False)
        except ValueError:
            raise InvalidParameterException(
                f"{field} must contain IP address ranges in CIDR notation: {cidr!r} is not one."
            ) from None
    return list(ranges)


def _check(params: Params) -> dict[str, Any]:
    """The stored document of a SetRiskConfiguration request (the model's own checks have run)."""
    config: dict[str, Any] = {}
    takeover = params.get("AccountTakeoverRiskConfiguration")
    if takeover is not None:
        actions = takeover.get("Actions") or {}
        notify = any(bool((actions.get(level) or {}).get("Notify")) for level in actions)
        if notify and not takeover.get("NotifyConfiguration"):
            raise InvalidParameterException(
                "NotifyConfiguration is required when an account takeover action notifies the user."
            )
        config["AccountTakeoverRiskConfiguration"] = takeover
    compromised = params.get("CompromisedCredentialsRiskConfiguration")
    if compromised is not None:
        if "EventFilter" in compromised:
            compromised = {**compromised, "EventFilter": list(dict.fromkeys(compromised["EventFilter"]))}
        config["CompromisedCredentialsRiskConfiguration"] = compromised
    exceptions = params.get("RiskExceptionConfiguration")
    if exceptions is not None:
        checked: dict[str, Any] = {}
        for field in ("BlockedIPRangeList", "SkippedIPRangeList"):
            if exceptions.get(field) is not None:
                checked[field] = _networks(exceptions[field], field)
        config["RiskExceptionConfiguration"] = checked
    return config


def _shape(pool_id: str, client_id: str, row: Row[Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"UserPoolId": pool_id}
    if client_id != POOL_WIDE:
        out["ClientId"] = client_id
    if row is not None:
        out.update({k: v for k, v in dict(row.config).items() if k in _SECTIONS})
        out["LastModifiedDate"] = utc(row.updated_at)
    return out


def _rows(conn: Connection, pool_id: str, client_id: str | None) -> dict[str, Row[Any]]:
    c = t.user_pool_risk_configurations.c
    wanted = [POOL_WIDE] if client_id is None else [POOL_WIDE, client_id]
    rows = conn.execute(
        select(t.user_pool_risk_configurations).where(c.user_pool_id == pool_id, c.client_id.in_(wanted))
    ).all()
    return {str(r.client_id): r for r in rows}


@operation("cognito-idp", "SetRiskConfiguration")
def set_risk_configuration(ctx: RequestContext, params: Params) -> Result:
    config = _check(params)
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _require_enabled(pool)
        client_id = client_in_pool(conn, ctx.box, pool, params["ClientId"]).id if params.get("ClientId") else POOL_WIDE
        c = t.user_pool_risk_configurations.c
        where = (c.user_pool_id == pool.id, c.client_id == client_id)
        conn.execute(delete(t.user_pool_risk_configurations).where(*where))
        if not config and client_id != POOL_WIDE:
            # UserPoolId and ClientId only: the client inherits the pool's configuration again
            rows = _rows(conn, pool.id, None)
            return {"RiskConfiguration": _shape(pool.id, POOL_WIDE, rows.get(POOL_WIDE))}
        # UserPoolId only: the pool's configuration returns to its defaults (nothing set)
        conn.execute(
            insert(t.user_pool_risk_configurations).values(
                user_pool_id=pool.id, client_id=client_id, config=config, updated_at=ctx.now
            )
        )
        row = conn.execute(select(t.user_pool_risk_configurations).where(*where)).first()
        return {"RiskConfiguration": _shape(pool.id, client_id, row)}


@operation("cognito-idp", "DescribeRiskConfiguration")
def describe_risk_configuration(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _require_enabled(pool)
        client_id = client_in_pool(conn, ctx.box, pool, params["ClientId"]).id if params.get("ClientId") else None
        rows = _rows(conn, pool.id, client_id)
    if client_id is not None and client_id in rows:
        return {"RiskConfiguration": _shape(pool.id, client_id, rows[client_id])}
    # no client-level configuration: the pool's applies (and is what this answers, without ClientId)
    return {"RiskConfiguration": _shape(pool.id, POOL_WIDE, rows.get(POOL_WIDE))}


def configuration(ctx: RequestContext, pool: PoolView, client_id: str | None) -> dict[str, Any]:
    """The risk configuration in force: the app client's own, when it has one, else the pool's
    (``client_id`` None: the pool's; AdminSetUserPassword has no client)."""
    with ctx.store.read() as conn:
        rows = _rows(conn, pool.id, client_id)
    row = (rows.get(client_id) if client_id else None) or rows.get(POOL_WIDE)
    return dict(row.config) if row is not None else {}


def _effective_exceptions(ctx: RequestContext, pool: PoolView, client: ClientView) -> dict[str, Any]:
    with ctx.store.read() as conn:
        rows = _rows(conn, pool.id, client.id)
    row = rows.get(client.id) or rows.get(POOL_WIDE)
    if row is None:
        return {}
    return dict(dict(row.config).get("RiskExceptionConfiguration") or {})


def _in_ranges(address: str, ranges: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for cidr in ranges:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
        if ip.version == net.version and ip in net:
            return True
    return False


def screen(ctx: RequestContext, pool: PoolView, client: ClientView, user: User | None) -> None:
    """Before a sign-in is evaluated (where PreAuthentication runs): in ENFORCED mode, refuse an
    address of the always-block list that the always-allow list does not name."""
    if mode(pool) != "ENFORCED":
        return
    exceptions = _effective_exceptions(ctx, pool, client)
    blocked = exceptions.get("BlockedIPRangeList") or []
    if not blocked:
        return
    source = adaptive.address(ctx, client)  # ContextData's for the Admin calls (risk/signals.py)
    if not _in_ranges(source, blocked) or _in_ranges(source, exceptions.get("SkippedIPRangeList") or []):
        return
    if user is not None:
        with ctx.store.tx() as conn:
            _insert(ctx, conn, pool, user, "Fail", [], {"RiskDecision": "Block"})
    raise NotAuthorizedException(BLOCKED)


# --------------------------------------------------------------------------------------------
# events


def _insert(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User,
    response: str,
    challenges: list[dict[str, str]],
    risk: dict[str, Any] | None = None,
    event_type: str = "SignIn",
    assessment: adaptive.Assessment | None = None,
) -> str:
    """Insert one event; its id. With an adaptive ``assessment``: its EventRisk (``risk``, when given,
    adds what the compromised-credentials check found and a Block decision), EventContextData and
    Ostiary's explanation (``OstiaryRisk``: never on the wire, ``ostiary risk events`` shows it)."""
    event_risk = dict(risk or {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False})
    context = {"IpAddress": ctx.source_ip} if ctx.source_ip else {}
    if assessment is not None:
        merged = assessment.event_risk()
        if risk:
            merged["CompromisedCredentialsDetected"] = bool(risk.get("CompromisedCredentialsDetected"))
            if risk.get("RiskDecision") not in (None, "NoRisk"):
                merged["RiskDecision"] = risk["RiskDecision"]
        event_risk, context = merged, assessment.context_data()
    details: dict[str, Any] = {
        "EventRisk": event_risk,
        "ChallengeResponses": challenges,
        "EventContextData": context,
    }
    if assessment is not None:
        details["OstiaryRisk"] = assessment.explanation()
    event_id = str(uuid.uuid4())
    conn.execute(
        insert(t.user_auth_events).values(
            event_id=event_id,
            user_pool_id=pool.id,
            user_id=user.id,
            event_type=event_type,
            response=response,
            details=details,
            created_at=ctx.now,
        )
    )
    log_delivery.auth_event(  # the pool's userAuthEvents log destinations, once this commits
        ctx,
        conn,
        pool,
        event_id=event_id,
        event_type=event_type,
        response=response,
        details=details,
        at=ctx.now,
        user_sub=user.id,
        username=user.username,
    )
    if secrets.randbelow(64) == 0:  # now and then, sweep this pool's events past AWS's 90 days
        e = t.user_auth_events.c
        conn.execute(delete(t.user_auth_events).where(e.user_pool_id == pool.id, e.created_at < ctx.now - RETENTION))
    return event_id


def record_sign_in(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User | None,
    result: dict[str, Any] | None,
    risk: dict[str, Any] | None = None,
) -> None:
    """After the password step (in its transaction): ``result`` None = a wrong password; a result
    with a ChallengeName = InProgress; any other = Pass. ``risk``: the event's EventRisk, when
    assessed (else NoRisk, nothing detected)."""
    if user is None or mode(pool) == "OFF":
        return
    if result is None:
        assessment = adaptive.failed(ctx, conn, pool, user)
        failure = [{"ChallengeName": "Password", "ChallengeResponse": "Failure"}]
        _insert(ctx, conn, pool, user, "Fail", failure, risk, assessment=assessment)
        return
    response = "InProgress" if result.get("ChallengeName") else "Pass"
    assessment = adaptive.current(ctx)
    success = [{"ChallengeName": "Password", "ChallengeResponse": "Success"}]
    event_id = _insert(ctx, conn, pool, user, response, success, risk, assessment=assessment)
    if assessment is None:
        return
    obs = assessment.observation
    if obs.ip not in (assessment.known or {}).get("ip", {}):
        adaptive.record_attempt(conn, pool, user.id, obs.ip, False, ctx.now)
    if response == "Pass":
        adaptive.learn(conn, pool, user.id, obs, ctx.now, assessment.known, last=assessment.last)
    _notify(ctx, conn, pool, user, event_id, assessment)


def _notify(
    ctx: RequestContext, conn: Connection, pool: PoolView, user: User, event_id: str, assessment: adaptive.Assessment
) -> None:
    """The level's e-mail, when its action notifies (ENFORCED only: AUDIT takes no action)."""
    if not assessment.notify or assessment.mode != "ENFORCED":
        return
    takeover = adaptive.takeover_configuration(conn, pool, assessment.client_id)
    sent = notifications.send(conn, ctx.settings, ctx.box, pool, user, event_id, assessment, takeover, ctx.now)
    if sent is not None:
        e = t.user_auth_events.c
        row = conn.execute(select(e.details).where(e.event_id == event_id)).first()
        if row is not None:
            details = dict(row.details)
            details["OstiaryRisk"] = {**details.get("OstiaryRisk", {}), "notified": sent}
            conn.execute(update(t.user_auth_events).where(e.event_id == event_id).values(details=details))


def record_blocked(ctx: RequestContext, pool: PoolView, blocked: adaptive.Blocked) -> NotAuthorizedException:
    """A sign-in adaptive authentication refused (``adaptive.Blocked``, raised inside the sign-in's
    transaction, which rolled back): its Fail event, its attempt and its e-mail, in a transaction of
    their own; the error to answer."""
    assessment, user = blocked.assessment, blocked.user
    with ctx.store.tx() as conn:
        success = [{"ChallengeName": "Password", "ChallengeResponse": "Success"}]
        event_id = _insert(ctx, conn, pool, user, "Fail", success, None, assessment=assessment)
        adaptive.record_attempt(conn, pool, user.id, assessment.observation.ip, False, ctx.now)
        _notify(ctx, conn, pool, user, event_id, assessment)
    return NotAuthorizedException(adaptive.BLOCKED)


def record_event(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User,
    event_type: str,
    response: str,
    risk: dict[str, Any] | None = None,
) -> None:
    """An event other than a sign-in's password step (SignUp, PasswordChange, a refused SignIn), in
    the transaction of ``conn``; nothing when the pool's threat protection is OFF."""
    if mode(pool) == "OFF":
        return
    _insert(ctx, conn, pool, user, response, [], risk, event_type)


def record_challenge(
    ctx: RequestContext,
    conn: Connection,
    pool: PoolView,
    user: User,
    mfa: bool | None,
    result: dict[str, Any] | Exception | None = None,
) -> None:
    """A later step of a sign-in whose event is InProgress (the user's newest SignIn event): an MFA
    answer (``mfa`` True / False, with the error a wrong answer gives: CodeMismatchException leaves
    the attempt open) or, with ``mfa`` None, the end of another challenge (a new password)."""
    if mode(pool) == "OFF":
        return
    if isinstance(result, Exception) and not isinstance(result, NotAuthorizedException):
        return  # a wrong code with attempts left: still in progress
    e = t.user_auth_events.c
    row = conn.execute(
        select(e.event_id, e.response, e.details)
        .where(e.user_id == user.id, e.event_type == "SignIn", e.created_at > ctx.now - dt.timedelta(days=1))
        .order_by(e.created_at.desc(), e.event_id.desc())
        .limit(1)
    ).first()
    if row is None or row.response != "InProgress":
        return
    details = dict(row.details)
    challenges = [c for c in details.get("ChallengeResponses") or [] if c.get("ChallengeName") != "Mfa"]
    if mfa is not None:
        challenges.append({"ChallengeName": "Mfa", "ChallengeResponse": "Success" if mfa else "Failure"})
    if mfa is False:
        response = "Fail"
    elif isinstance(result, dict) and result.get("ChallengeName"):
        response = "InProgress"
    else:
        response = "Pass"
    conn.execute(
        update(t.user_auth_events)
        .where(e.event_id == row.event_id)
        .values(response=response, details={**details, "ChallengeResponses": challenges})
    )
    if response != "InProgress":  # the sign-in's outcome, exported again (same EventId)
        log_delivery.auth_event(
            ctx,
            conn,
            pool,
            event_id=row.event_id,
            event_type="SignIn",
            response=response,
            details={**details, "ChallengeResponses": challenges},
            at=ctx.now,
            user_sub=user.id,
            username=user.username,
        )
    if response == "Pass":  # what the sign-in showed becomes known for the user
        obs = adaptive.observation_of(details)
        if obs is not None:
            adaptive.learn(conn, pool, user.id, obs, ctx.now)


def _event(row: Row[Any]) -> dict[str, Any]:
    details = dict(row.details)
    out: dict[str, Any] = {
        "EventId": row.event_id,
        "EventType": row.event_type,
        "CreationDate": utc(row.created_at),
        "EventResponse": row.response,
        "EventRisk": details.get("EventRisk") or {},
        "ChallengeResponses": details.get("ChallengeResponses") or [],
    }
    if details.get("EventContextData"):
        out["EventContextData"] = details["EventContextData"]
    if row.feedback_value:
        out["EventFeedback"] = {
            "FeedbackValue": row.feedback_value,
            "Provider": row.feedback_provider,
            "FeedbackDate": utc(row.feedback_at),
        }
    return out


def _user(conn: Connection, pool: PoolView, username: str) -> User:
    user = directory.find(conn, pool, username)
    if user is None:
        raise UserNotFoundException("User does not exist.")
    return user


@operation("cognito-idp", "AdminListUserAuthEvents")
def admin_list_user_auth_events(ctx: RequestContext, params: Params) -> Result:
    limit = int(params.get("MaxResults") or MAX_RESULTS)
    after = paging.decode(params.get("NextToken"))
    e = t.user_auth_events.c
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _require_enabled(pool)
        user = _user(conn, pool, params["Username"])
        query = select(t.user_auth_events).where(e.user_id == user.id, e.created_at >= ctx.now - RETENTION)
        if after:
            if len(after) != 2 or not all(isinstance(v, str) for v in after):
                raise InvalidParameterException("Invalid NextToken.")
            try:
                at = dt.datetime.fromisoformat(after[0])
            except ValueError:
                raise InvalidParameterException("Invalid NextToken.") from None
            query = query.where(or_(e.created_at < at, and_(e.created_at == at, e.event_id < after[1])))
        rows = conn.execute(query.order_by(e.created_at.desc(), e.event_id.desc()).limit(limit + 1)).all()
    out: dict[str, Any] = {"AuthEvents": [_event(r) for r in rows[:limit]]}
    if len(rows) > limit:
        last = rows[limit - 1]
        out["NextToken"] = paging.encode([utc(last.created_at).isoformat(), last.event_id])
    return out


def _feedback(
    ctx: RequestContext, conn: Connection, pool: PoolView, params: Params, provider: str, token: str | None
) -> None:
    _require_enabled(pool)
    if token is not None and not hmac.compare_digest(
        token.encode(), feedback_token(ctx.box, pool.id, params["EventId"]).encode()
    ):
        raise NotAuthorizedException("Invalid feedback token.")
    user = _user(conn, pool, params["Username"])
    e = t.user_auth_events.c
    done = conn.execute(
        update(t.user_auth_events)
        .where(e.event_id == params["EventId"], e.user_id == user.id, e.created_at >= ctx.now - RETENTION)
        .values(feedback_value=params["FeedbackValue"], feedback_provider=provider, feedback_at=ctx.now)
    )
    if done.rowcount == 0:
        raise ResourceNotFoundException("Auth event does not exist.")
    # feedback teaches adaptive authentication: Valid makes what the sign-in showed known, Invalid
    # forgets it (the next sign-in showing it again is scored as new)
    row = conn.execute(select(e.details).where(e.event_id == params["EventId"])).first()
    obs = adaptive.observation_of(dict(row.details)) if row is not None else None
    if obs is not None:
        if params["FeedbackValue"] == "Valid":  # what it showed, not when: the last sign-in stays
            adaptive.learn(conn, pool, user.id, obs, ctx.now, signed_in=False)
        else:
            adaptive.forget(conn, user.id, obs)


@operation("cognito-idp", "AdminUpdateAuthEventFeedback")
def admin_update_auth_event_feedback(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
        _feedback(ctx, conn, pool, params, "Admin", None)
    return {}


@operation("cognito-idp", "UpdateAuthEventFeedback")
def update_auth_event_feedback(ctx: RequestContext, params: Params) -> Result:
    """Unsigned: the FeedbackToken is the authority, so the pool is found by its id alone."""
    with ctx.store.tx() as conn:
        pool = pool_by_id(conn, params["UserPoolId"])
        if pool is None or pool.region != ctx.region:
            raise ResourceNotFoundException(f"User pool {params['UserPoolId']} does not exist.")
        _feedback(ctx, conn, pool, params, "User", params["FeedbackToken"])
    return {}
