"""Adaptive authentication (Cognito Developer Guide, "Working with adaptive authentication"; API
Reference: AccountTakeoverRiskConfigurationType, AccountTakeoverActionType, EventRiskType): each
first factor of a sign-in scored from what Ostiary can observe, the level's configured action taken
in ENFORCED mode, and every decision explained.

Signals and their weights (points; docs/threat-protection.md, "Adaptive authentication"):

=================  ======  ==============================================================
signal             weight  fires when
=================  ======  ==============================================================
new_device         20      the user has signed in through a device before and this
                           sign-in presents no known one (device key or EncodedData's
                           DeviceId)
new_agent          10      a user-agent family (Chrome, Boto3…) the user never signed in with
new_ip             5       an address the user never signed in from
new_network        15      a /24 (IPv4) or /48 (IPv6) the user never signed in from
user_failures      25/40   3 / 10 wrong passwords for this user in 15 minutes (any address)
address_failures   20/40   5 / 20 wrong passwords from this address in 15 minutes (any user)
address_users      20/40   5 / 20 different users tried from this address in an hour
new_country        15      a country the user never signed in from (GeoIP database set)
impossible_travel  30      from the last passing sign-in's place faster than 900 km/h, beyond
                           both places' accuracy radii and at least 100 km (GeoIP database set)
=================  ======  ==============================================================

The novelty signals (device, agent, address, network) need a history: a user's first successful
sign-in, and a user whose history is empty, shows nothing new. Levels: under 20 NoRisk, 20 Low, 40
Medium, 60 High. What a user has shown is learned when a sign-in passes (and from Valid feedback),
forgotten on Invalid feedback (``feedback``); at most ``MAX_KNOWN`` values per kind are kept.

Actions (ENFORCED only; AUDIT scores and records): NO_ACTION lets the sign-in go on; BLOCK refuses it
(``Blocked``: NotAuthorizedException); MFA_IF_CONFIGURED challenges when MFA is possible for the user
and lets the sign-in go on otherwise; MFA_REQUIRED challenges when possible and refuses otherwise
(``step_up``). An MFA challenge the user's own MFA settings raise comes first: adaptive MFA matters
only for a user who would otherwise not be asked. ``Notify`` sends the level's e-mail
(``notifications.py``). The app client's AccountTakeoverRiskConfiguration replaces the pool's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Integer, and_, bindparam, delete, insert, or_, select, type_coerce, update
from sqlalchemy.types import NullType

from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.store import tables as t
from ostiary.store.raw import RawSelect
from ostiary.store.upserts import insert_ignore
from ostiary.userpools import mfa
from ostiary.userpools.directory import PoolView, User
from ostiary.userpools.errors import NotAuthorizedException
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.risk import geoip
from ostiary.userpools.risk.signals import Observation, in_ranges, observe

BLOCKED = "Request not allowed due to security reasons."
POOL_WIDE = "ALL"
MAX_KNOWN = 20  # values per user and kind
ATTEMPTS_KEPT = dt.timedelta(hours=1)
FAILURE_WINDOW = dt.timedelta(minutes=15)
USERS_WINDOW = dt.timedelta(hours=1)
MAX_ADDRESS_ROWS = 200  # an address's recent attempts read per sign-in, at most
MAX_SUBJECT_ROWS = 50  # a user's recent attempts read per sign-in, at most

WEIGHTS: dict[str, int] = {
    "new_device": 20,
    "new_agent": 10,
    "new_ip": 5,
    "new_network": 15,
    "new_country": 15,
    "impossible_travel": 30,
}
IMPOSSIBLE_SPEED_KMH = 900.0  # faster than an airliner, from the last passing sign-in's place
TRAVEL_FLOOR_KM = 100.0  # beyond both places' accuracy radii, a journey shorter than this is never impossible
# (threshold, weight): the highest threshold reached counts
VELOCITY: dict[str, tuple[tuple[int, int], ...]] = {
    "user_failures": ((3, 25), (10, 40)),
    "address_failures": ((5, 20), (20, 40)),
    "address_users": ((5, 20), (20, 40)),
}
LEVELS: tuple[tuple[int, str], ...] = ((60, "High"), (40, "Medium"), (20, "Low"))
ACTION_KEYS = {"Low": "LowAction", "Medium": "MediumAction", "High": "HighAction"}
_SUBJECT_KEY = "risk-unknown-subject"


def enabled(pool: PoolView) -> bool:
    return str((pool.config.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode") or "OFF") in (
        "AUDIT",
        "ENFORCED",
    )


def enforced(pool: PoolView) -> bool:
    return (pool.config.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode") == "ENFORCED"


def level_of(score: int) -> str | None:
    """Low / Medium / High, or None (NoRisk)."""
    return next((name for floor, name in LEVELS if score >= floor), None)


@dataclass(frozen=True)
class Signal:
    name: str
    weight: int
    detail: str


@dataclass
class Assessment:
    """One sign-in's score, the signals that fired, and what was done about it."""

    observation: Observation
    signals: list[Signal]
    mode: str  # AUDIT | ENFORCED
    client_id: str | None = None
    known: Known | None = None  # what the user had shown when scored (learning skips what is fresh)
    last: LastSignIn | None = None  # the user's last passing sign-in, when GeoIP read it
    action: str | None = None  # the configured EventAction of the level (None: NoRisk or none configured)
    notify: bool = False
    done: str = "NONE"  # what happened: NONE, BLOCK, MFA (a challenge raised), MFA_UNAVAILABLE (allowed)
    notify_template: str | None = None

    @property
    def score(self) -> int:
        return sum(s.weight for s in self.signals)

    @property
    def level(self) -> str | None:
        return level_of(self.score)

    def event_risk(self, blocked: bool = False) -> dict[str, Any]:
        """EventRisk as AdminListUserAuthEvents answers it (CompromisedCredentialsDetected: issue 16's
        compromised-credentials part sets it)."""
        risk: dict[str, Any] = {
            "RiskDecision": "AccountTakeover" if self.level else "NoRisk",
            "CompromisedCredentialsDetected": False,
        }
        if self.level:
            risk["RiskLevel"] = self.level
        return risk

    def context_data(self) -> dict[str, Any]:
        """EventContextData."""
        out: dict[str, Any] = {}
        if self.observation.ip:
            out["IpAddress"] = self.observation.ip
        if self.observation.device_name:
            out["DeviceName"] = self.observation.device_name
        if self.observation.city:
            out["City"] = self.observation.city
        country = self.observation.country_name or self.observation.country
        if country:
            out["Country"] = country
        if self.observation.timezone:
            out["Timezone"] = self.observation.timezone
        return out

    def explanation(self) -> dict[str, Any]:
        """Ostiary's extension, kept with the event (``ostiary risk events`` shows it; not on the wire)."""
        return {
            "score": self.score,
            "level": self.level or "NoRisk",
            "mode": self.mode,
            "signals": [{"name": s.name, "weight": s.weight, "detail": s.detail} for s in self.signals],
            "action": self.action,
            "done": self.done,
            "notified": self.notify_template,
            "observation": self.observation.as_document(),
        }


@dataclass
class SignInRisk:
    """What a sign-in request carries for the engine (``RequestContext.risk``)."""

    context_data: dict[str, Any] | None = None
    trusted: bool = False  # ContextData of an Admin call
    assessment: Assessment | None = None


class Blocked(NotAuthorizedException):
    """A sign-in the configured action refuses (BLOCK, or MFA_REQUIRED without MFA): the sign-in's
    entry point records it in a transaction of its own and answers NotAuthorizedException."""

    def __init__(self, user: User, assessment: Assessment) -> None:
        super().__init__(BLOCKED)
        self.user = user
        self.assessment = assessment


def begin(ctx: RequestContext, context_data: dict[str, Any] | None, *, trusted: bool) -> None:
    """At a sign-in operation's start: the request's ContextData (``trusted``) or UserContextData."""
    ctx.risk = SignInRisk(context_data=context_data, trusted=trusted)


def state(ctx: RequestContext) -> SignInRisk:
    if not isinstance(ctx.risk, SignInRisk):
        ctx.risk = SignInRisk()
    return ctx.risk


def current(ctx: RequestContext) -> Assessment | None:
    """This request's assessment, if one was made."""
    return ctx.risk.assessment if isinstance(ctx.risk, SignInRisk) else None


# --------------------------------------------------------------------------------------------
# configuration


_c = t.user_pool_risk_configurations.c
_CONFIGURATIONS = RawSelect(
    select(_c.client_id, _c.config).where(
        _c.user_pool_id == bindparam("pool_id"),
        or_(_c.client_id == bindparam("pool_wide"), _c.client_id == bindparam("client_id")),
    )
)


def risk_configuration(conn: Connection, pool: PoolView, client_id: str | None) -> dict[str, Any]:
    """The risk configuration that applies: the client's own when it has one (it replaces the pool's
    whole), else the pool's."""
    params = {"pool_id": pool.id, "pool_wide": POOL_WIDE, "client_id": client_id or POOL_WIDE}
    rows = {str(r.client_id): r.config for r in _CONFIGURATIONS.rows(conn, params)}
    chosen = rows.get(client_id) if client_id is not None and client_id in rows else rows.get(POOL_WIDE)
    return dict(chosen or {})


def takeover_configuration(conn: Connection, pool: PoolView, client_id: str | None) -> dict[str, Any]:
    """The AccountTakeoverRiskConfiguration that applies."""
    return dict(risk_configuration(conn, pool, client_id).get("AccountTakeoverRiskConfiguration") or {})


def skipped(configuration: dict[str, Any], address: str) -> bool:
    """RiskExceptionConfiguration's SkippedIPRangeList ("always allow"): no risk detection for it."""
    ranges = (configuration.get("RiskExceptionConfiguration") or {}).get("SkippedIPRangeList") or []
    return bool(ranges) and in_ranges(address, ranges)


def address(ctx: RequestContext, client: ClientView | None) -> str:
    """The address a sign-in is taken to come from (signals.observe's rules)."""
    return _observation(ctx, client, None, locate=False).ip


# --------------------------------------------------------------------------------------------
# scoring


Known = dict[str, dict[str, dt.datetime]]  # kind -> value -> last seen


# The engine's reads run on the driver's cursor (store/raw.py: compiled once, no Core execution
# overhead), bounded by LIMIT and newest first; the time windows are applied to the rows read.
_k, _a = t.risk_known.c, t.risk_attempts.c
_KNOWN = RawSelect(select(_k.kind, _k.value, _k.last_seen).where(_k.user_id == bindparam("user_id")))
_BY_SUBJECT = RawSelect(
    select(_a.failed, _a.at)
    .where(_a.user_pool_id == bindparam("pool_id"), _a.subject == bindparam("subject"))
    .order_by(_a.at.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)
_BY_ADDRESS = RawSelect(
    select(_a.subject, _a.failed, _a.at)
    .where(_a.user_pool_id == bindparam("pool_id"), _a.address == bindparam("address"))
    .order_by(_a.at.desc())
    .limit(bindparam("limit", type_=Integer))
    .offset(bindparam("offset", type_=Integer))
)


def _known(conn: Connection, user_id: str) -> Known:
    out: Known = {}
    for row in _KNOWN.rows(conn, {"user_id": user_id}):
        out.setdefault(str(row.kind), {})[str(row.value)] = row.last_seen
    return out


def _velocity(name: str, count: int) -> int:
    weight = 0
    for threshold, points in VELOCITY[name]:
        if count >= threshold:
            weight = points
    return weight


def score(
    conn: Connection, pool: PoolView, user: User, obs: Observation, now: dt.datetime
) -> tuple[list[Signal], Known]:
    """The signals that fire for ``user`` signing in as ``obs`` shows (bounded: one read of the user's
    known values, the user's last MAX_SUBJECT_ROWS attempts, the address's last MAX_ADDRESS_ROWS)."""
    signals: list[Signal] = []
    known = _known(conn, user.id)
    if known:  # novelty needs a history
        devices = known.get("device", {}).keys() | known.get("fp", {}).keys()
        if devices:
            presented = [v for v in (obs.device_key, obs.fingerprint) if v]
            if not any(v in devices for v in presented):
                detail = "device key not known to the user" if obs.device_key else "no known device presented"
                signals.append(Signal("new_device", WEIGHTS["new_device"], detail))
        if obs.agent and known.get("agent") and obs.agent not in known["agent"]:
            signals.append(Signal("new_agent", WEIGHTS["new_agent"], f"user agent family {obs.agent}"))
        if obs.ip and known.get("ip") and obs.ip not in known["ip"]:
            signals.append(Signal("new_ip", WEIGHTS["new_ip"], f"address {obs.ip}"))
        if obs.network and known.get("net") and obs.network not in known["net"]:
            signals.append(Signal("new_network", WEIGHTS["new_network"], f"network {obs.network}"))
        if obs.country and known.get("country") and obs.country not in known["country"]:
            named = f"{obs.country_name} ({obs.country})" if obs.country_name else obs.country
            signals.append(Signal("new_country", WEIGHTS["new_country"], f"country {named}"))
    recent = now - FAILURE_WINDOW
    mine = _BY_SUBJECT.rows(conn, {"pool_id": pool.id, "subject": user.id, "limit": MAX_SUBJECT_ROWS, "offset": 0})
    user_failures = sum(1 for r in mine if r.failed and r.at > recent)
    weight = _velocity("user_failures", int(user_failures))
    if weight:
        signals.append(Signal("user_failures", weight, f"{user_failures} wrong passwords for the user in 15 minutes"))
    if obs.ip:
        hour = now - USERS_WINDOW
        rows = [
            r
            for r in _BY_ADDRESS.rows(
                conn, {"pool_id": pool.id, "address": obs.ip, "limit": MAX_ADDRESS_ROWS, "offset": 0}
            )
            if r.at > hour
        ]
        failures = sum(1 for r in rows if r.failed and r.at > recent)
        users = len({r.subject for r in rows} | {user.id})
        weight = _velocity("address_failures", failures)
        if weight:
            signals.append(
                Signal("address_failures", weight, f"{failures} wrong passwords from {obs.ip} in 15 minutes")
            )
        weight = _velocity("address_users", users)
        if weight:
            signals.append(Signal("address_users", weight, f"{users} users tried from {obs.ip} in an hour"))
    return signals, known


@dataclass(frozen=True)
class LastSignIn:
    """The user's last passing sign-in (``risk_last_sign_ins``; ``at`` is rewritten at most every
    REFRESH while the place stays the same, so the elapsed time is never underestimated)."""

    at: dt.datetime
    ip: str
    latitude: float | None
    longitude: float | None


_l = t.risk_last_sign_ins.c
# the coordinates untyped: the driver's floats as they come (PostgreSQL's Float result processor
# needs the cursor's column type, which RawSelect does not pass)
_LAST = RawSelect(
    select(
        _l.at,
        _l.ip,
        type_coerce(_l.latitude, NullType()).label("latitude"),
        type_coerce(_l.longitude, NullType()).label("longitude"),
    ).where(_l.user_id == bindparam("user_id"))
)


def travel(
    conn: Connection, settings: Settings, user: User, obs: Observation, now: dt.datetime
) -> tuple[list[Signal], LastSignIn | None]:
    """``impossible_travel`` (GeoIP): the great-circle distance from the last passing sign-in's place,
    less both places' accuracy radii, is over TRAVEL_FLOOR_KM and was covered faster than
    IMPOSSIBLE_SPEED_KMH. One primary-key read, only when this sign-in's address is located."""
    if not obs.located:
        return [], None
    rows = _LAST.rows(conn, {"user_id": user.id})
    if not rows:
        return [], None
    row = rows[0]
    last = LastSignIn(at=row.at, ip=str(row.ip), latitude=row.latitude, longitude=row.longitude)
    if last.latitude is None or last.longitude is None or obs.latitude is None or obs.longitude is None:
        return [], last
    distance = geoip.distance_km(last.latitude, last.longitude, obs.latitude, obs.longitude)
    beyond = distance - (obs.accuracy_km or 0)
    if beyond <= TRAVEL_FLOOR_KM:  # near (the usual case): the previous place's radius is not needed
        return [], last
    before = geoip.lookup(settings, last.ip)  # its accuracy radius, as the database says now
    beyond -= (before.accuracy_km or 0) if before else 0
    if beyond <= TRAVEL_FLOOR_KM:
        return [], last
    seconds = max((now - last.at).total_seconds(), 0.0)
    speed = beyond / (seconds / 3600) if seconds else float("inf")
    if speed <= IMPOSSIBLE_SPEED_KMH:
        return [], last
    pace = f"{speed:.0f} km/h" if seconds else "at once"
    detail = (
        f"{distance:.0f} km from the last sign-in's place ({last.ip}) in {seconds / 60:.0f} minutes: {pace} "
        f"({beyond:.0f} km beyond the accuracy radii)"
    )
    return [Signal("impossible_travel", WEIGHTS["impossible_travel"], detail)], last


def _observation(
    ctx: RequestContext, client: ClientView | None, device_key: str | None, *, locate: bool = True
) -> Observation:
    st = state(ctx)
    propagate = bool(client is not None and client.config.get("EnablePropagateAdditionalUserContextData"))
    obs = observe(
        ctx.source_ip,
        ctx.user_agent,
        st.context_data,
        trusted=st.trusted,
        propagate=propagate,
        device_key=device_key,
    )
    return locate_observation(ctx.settings, obs) if locate else obs


def locate_observation(settings: Settings, obs: Observation) -> Observation:
    """``obs`` with its address's place, when the GeoIP database knows it."""
    if not settings.geoip_database_path:
        return obs
    place = geoip.lookup(settings, obs.ip)
    if place is None:
        return obs
    return dataclasses.replace(
        obs,
        city=place.city,
        country=place.country,
        country_name=place.country_name,
        timezone=place.timezone,
        latitude=place.latitude,
        longitude=place.longitude,
        accuracy_km=place.accuracy_km,
    )


def assess(
    ctx: RequestContext, conn: Connection, pool: PoolView, client: ClientView, user: User, device_key: str | None
) -> Assessment | None:
    """After a right first factor (before MFA): score the sign-in, keep the assessment on the request,
    and in ENFORCED mode act on BLOCK (raising ``Blocked``). None when threat protection is OFF."""
    if not enabled(pool):
        return None
    obs = _observation(ctx, client, device_key)
    configuration = risk_configuration(conn, pool, client.id)
    if skipped(configuration, obs.ip):
        return None  # always-allow: no risk detection (the event says NoRisk)
    signals, known = score(conn, pool, user, obs, ctx.now)
    moved, last = travel(conn, ctx.settings, user, obs, ctx.now)
    mode = "ENFORCED" if enforced(pool) else "AUDIT"
    assessment = Assessment(
        observation=obs, signals=signals + moved, mode=mode, client_id=client.id, known=known, last=last
    )
    level = assessment.level
    if level:
        takeover = configuration.get("AccountTakeoverRiskConfiguration") or {}
        action = (takeover.get("Actions") or {}).get(ACTION_KEYS[level]) or {}
        assessment.action = action.get("EventAction")
        assessment.notify = bool(action.get("Notify"))
    st = state(ctx)
    st.assessment = assessment
    if mode == "ENFORCED" and assessment.action == "BLOCK":
        assessment.done = "BLOCK"
        raise Blocked(user, assessment)
    return assessment


def failed(ctx: RequestContext, conn: Connection, pool: PoolView, user: User) -> Assessment | None:
    """A wrong password: counted (``risk_attempts``) and scored for the event (no action: the sign-in
    fails anyway)."""
    if not enabled(pool):
        return None
    obs = _observation(ctx, None, None)
    record_attempt(conn, pool, user.id, obs.ip, True, ctx.now)
    if skipped(risk_configuration(conn, pool, ctx.app_client_id), obs.ip):
        return None
    signals, _ = score(conn, pool, user, obs, ctx.now)
    moved, _last = travel(conn, ctx.settings, user, obs, ctx.now)
    assessment = Assessment(observation=obs, signals=signals + moved, mode="ENFORCED" if enforced(pool) else "AUDIT")
    state(ctx).assessment = assessment
    return assessment


def unknown_subject(ctx: RequestContext, pool: PoolView, username: str) -> str:
    """The attempts' subject for a name no user has (a keyed hash: the name itself is not kept)."""
    key = ctx.box.mac_key(_SUBJECT_KEY)
    return "u:" + hmac.new(key, f"{pool.id}/{username}".encode(), hashlib.sha256).hexdigest()[:40]


def failed_unknown(ctx: RequestContext, conn: Connection, pool: PoolView, username: str) -> None:
    """A sign-in with a name no user has: counted for its address (one address trying many users)."""
    if enabled(pool):
        record_attempt(
            conn,
            pool,
            unknown_subject(ctx, pool, username),
            _observation(ctx, None, None, locate=False).ip,
            True,
            ctx.now,
        )


def record_attempt(
    conn: Connection, pool: PoolView, subject: str, address: str, failed: bool, now: dt.datetime
) -> None:
    """One attempt for the velocity signals: every failure; a success only from an address new to the
    user (``succeeded``): a user signing in from a usual address is no news about that address."""
    if not address:
        return
    conn.execute(
        insert(t.risk_attempts).values(
            user_pool_id=pool.id, address=address[:45], subject=subject[:64], failed=failed, at=now
        )
    )
    if secrets.randbelow(64) == 0:  # now and then, forget this pool's attempts older than an hour
        a = t.risk_attempts.c
        conn.execute(delete(t.risk_attempts).where(a.user_pool_id == pool.id, a.at < now - ATTEMPTS_KEPT))


# --------------------------------------------------------------------------------------------
# acting


def _mfa_possible(pool: PoolView, user: User) -> tuple[str, ...]:
    """The MFA challenges adaptive authentication can raise for ``user`` (AccountTakeoverActionType:
    "users must have an email address or phone number attribute, or a registered TOTP factor"), the
    pool offering the factor; in order of preference: the user's preferred and enabled factors, a
    registered TOTP, SMS, e-mail."""
    offered = mfa.pool_factors(pool)
    out: list[str] = []
    preferred = user.mfa.get("PreferredMfaSetting")
    usable = {
        mfa.TOTP: bool(user.mfa.get("totp_secret")),
        mfa.SMS: bool(user.attributes.get("phone_number")),
        mfa.EMAIL: bool(user.attributes.get("email")),
    }
    for factor in [preferred, *mfa.user_factors(user), mfa.TOTP, mfa.SMS, mfa.EMAIL]:
        if factor in offered and usable.get(str(factor)) and mfa.CHALLENGE_OF[str(factor)] not in out:
            out.append(mfa.CHALLENGE_OF[str(factor)])
    return tuple(out)


def step_up(ctx: RequestContext, pool: PoolView, user: User) -> str | None:
    """When the user's own MFA settings ask for nothing: the MFA challenge this request's assessment
    calls for (ENFORCED, MFA_IF_CONFIGURED / MFA_REQUIRED), or None; ``Blocked`` for MFA_REQUIRED
    when MFA is not possible for the user."""
    assessment = current(ctx)
    if assessment is None or assessment.mode != "ENFORCED" or assessment.done != "NONE":
        return None
    if assessment.action not in ("MFA_IF_CONFIGURED", "MFA_REQUIRED"):
        return None
    possible = _mfa_possible(pool, user)
    if possible:
        assessment.done = "MFA"
        return possible[0]
    if assessment.action == "MFA_REQUIRED":
        assessment.done = "BLOCK"
        raise Blocked(user, assessment)
    assessment.done = "MFA_UNAVAILABLE"
    return None


# --------------------------------------------------------------------------------------------
# learning


REFRESH = dt.timedelta(hours=1)  # a known value's last_seen (and the last sign-in) is rewritten at most this often


def learn(
    conn: Connection,
    pool: PoolView,
    user_id: str,
    obs: Observation,
    now: dt.datetime,
    known: Known | None = None,
    *,
    last: LastSignIn | None = None,
    signed_in: bool = True,
) -> None:
    """A sign-in passed (or was confirmed Valid: ``signed_in`` False, the last sign-in stays): what it
    showed becomes known for the user. With ``known`` (what scoring read), values seen within REFRESH
    are not written again: a user signing in as usual costs no write here. A located sign-in (GeoIP)
    becomes the last sign-in when its place differs from ``last``'s or ``last`` is older than
    REFRESH (impossible travel compares the next one with it)."""
    values = [
        ("device", obs.device_key),
        ("fp", obs.fingerprint),
        ("agent", obs.agent),
        ("ip", obs.ip),
        ("net", obs.network),
        ("country", obs.country),
    ]
    present = [(kind, v) for kind, v in values if v]
    if known is not None:
        present = [(kind, v) for kind, v in present if now - known.get(kind, {}).get(v, now - 2 * REFRESH) >= REFRESH]
    moved = obs.located and (
        last is None or (last.latitude, last.longitude) != (obs.latitude, obs.longitude) or now - last.at >= REFRESH
    )
    if present:
        _remember(conn, pool, user_id, present, now)
    if signed_in and (present or moved):
        _last_sign_in(conn, pool, user_id, obs, now)


def _remember(conn: Connection, pool: PoolView, user_id: str, present: list[tuple[str, str]], now: dt.datetime) -> None:
    k = t.risk_known.c
    for kind, value in present:
        conn.execute(
            update(t.risk_known).where(k.user_id == user_id, k.kind == kind, k.value == value).values(last_seen=now)
        )
    inserted = insert_ignore(
        conn,
        t.risk_known,
        ["user_id", "kind", "value"],
        [
            {
                "user_id": user_id,
                "kind": kind,
                "value": value,
                "user_pool_id": pool.id,
                "first_seen": now,
                "last_seen": now,
            }
            for kind, value in present
        ],
    )
    if inserted:
        _prune(conn, user_id, {kind for kind, _ in present})


def _last_sign_in(conn: Connection, pool: PoolView, user_id: str, obs: Observation, now: dt.datetime) -> None:
    """The user's last passing sign-in: when, from where (an unlocated one clears the place: the next
    sign-in is not compared with an older place)."""
    place = {"latitude": obs.latitude, "longitude": obs.longitude, "country": obs.country}
    last = t.risk_last_sign_ins.c
    done = conn.execute(
        update(t.risk_last_sign_ins).where(last.user_id == user_id).values(at=now, ip=obs.ip[:45], **place)
    )
    if done.rowcount == 0:
        insert_ignore(
            conn,
            t.risk_last_sign_ins,
            ["user_id"],
            [{"user_id": user_id, "user_pool_id": pool.id, "at": now, "ip": obs.ip[:45], **place}],
        )


def _prune(conn: Connection, user_id: str, kinds: Iterable[str]) -> None:
    k = t.risk_known.c
    for kind in kinds:
        rows = conn.execute(
            select(k.value).where(k.user_id == user_id, k.kind == kind).order_by(k.last_seen.desc()).offset(MAX_KNOWN)
        ).all()
        if rows:
            conn.execute(
                delete(t.risk_known).where(
                    and_(k.user_id == user_id, k.kind == kind, k.value.in_([r.value for r in rows]))
                )
            )


def learn_device(conn: Connection, pool: PoolView, user_id: str, device_key: str, now: dt.datetime) -> None:
    """A device a passing sign-in was given (NewDeviceMetadata) is the user's from then on."""
    if enabled(pool):
        row = {"user_id": user_id, "kind": "device", "value": device_key[:128], "user_pool_id": pool.id}
        insert_ignore(conn, t.risk_known, ["user_id", "kind", "value"], [{**row, "first_seen": now, "last_seen": now}])


def forget(conn: Connection, user_id: str, obs: Observation) -> None:
    """Invalid feedback: what the sign-in showed is no longer known (its device, address, network and
    agent raise the next sign-in that shows them again)."""
    k = t.risk_known.c
    for kind, value in (
        ("device", obs.device_key),
        ("fp", obs.fingerprint),
        ("agent", obs.agent),
        ("ip", obs.ip),
        ("net", obs.network),
        ("country", obs.country),
    ):
        if value:
            conn.execute(delete(t.risk_known).where(k.user_id == user_id, k.kind == kind, k.value == value))


def observation_of(details: dict[str, Any]) -> Observation | None:
    """The observation an event's stored explanation kept."""
    doc = (details.get("OstiaryRisk") or {}).get("observation")
    return Observation.from_document(doc) if isinstance(doc, dict) else None
