"""The access portal's sign-in of a directory user, step by step, without HTTP (the pages in
``pages.py`` drive it): the password; then the authenticator app's code when the user has one; then a
new password when the one used was a one-time password; then authenticator-app enrolment when the
instance requires MFA and the user has none yet.

No user enumeration: an unknown user name, a user without a password yet and a wrong password get
the same answer after the same Argon2 work, and failures count against the name either way (an unknown
name under a phantom id, an HMAC of the store and the name), so the lockout answer is the same too.
The counters are user pools' (``userpools/lockout.py``: rows of ``counters`` keyed by the identity
store id): a user is locked after 5 failures, for a time doubling from 1 s up to 15 minutes; a source
address after 100 failures in 15 minutes. Wrong authenticator codes count as failures too.

Each step is an audit event in its transaction, with AWS's sign-in event names (eventSource
``signin.amazonaws.com``): ``CredentialVerification`` for each password or code checked (success or
failure, ``credentialType`` PASSWORD or TOTP; an unknown user's name hidden), ``SignInLockoutEngaged`` when
a failure locks, and ``UserAuthentication`` when the sign-in is complete.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ostiary.accessportal import credentials
from ostiary.accessportal.credentials import Credentials
from ostiary.audit import recorder as audit
from ostiary.identitystore import directory
from ostiary.protocol.context import RequestContext, Runtime
from ostiary.userpools import lockout

INCORRECT = "Incorrect username or password."
LOCKED = "Too many failed sign-in attempts. Wait a few minutes, then try again."
WRONG_CODE = "The code is not correct. Enter the current code from your authenticator app."


class Step(enum.StrEnum):
    """What the user does next."""

    TOTP = "totp"  # enter the authenticator app's code
    NEW_PASSWORD = "new-password"  # replace a one-time password
    TOTP_SETUP = "totp-setup"  # enrol an authenticator app (the instance requires MFA)
    DONE = "done"  # signed in


class Refused(Exception):
    """A sign-in step that failed, with the sentence the page shows."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Progress:
    user_id: str
    user_name: str
    step: Step


def phantom_id(runtime: Runtime, store_id: str, name: str) -> str:
    """Whom an unknown user name's failures count against (never the name itself)."""
    key = runtime.box.mac_key("accessportal-phantom-user")
    return "phantom-" + hmac.new(key, f"{store_id}|{name.casefold()}".encode(), hashlib.sha256).hexdigest()[:40]


def _audit(
    conn: Connection,
    runtime: Runtime,
    instance: RowMapping,
    address: str,
    event: audit.Event,
    user_name: str | None,
    user_id: str | None,
    *,
    credential: str | None = None,
    failure: bool = False,
    lockout: str | None = None,
) -> None:
    """One sign-in audit event, in the caller's transaction, in the instance owner's account."""
    ctx = RequestContext(
        runtime=runtime,
        request_id=str(uuid.uuid4()),
        service="signin",
        operation=event.value,
        region=runtime.settings.region,
        principal=None,
        source_ip=address,
    )
    details: dict[str, str] = {"identityStoreId": instance["identity_store_id"]}
    if user_id:
        details["userId"] = user_id
    if credential:
        details["credentialType"] = credential
        details["credentialVerification"] = "Failure" if failure else "Success"
    if lockout:
        details["lockout"] = lockout
    audit.record(
        conn,
        ctx,
        event=event,
        outcome=audit.Outcome.FAILURE if failure else audit.Outcome.SUCCESS,
        username=user_name if user_name is not None else audit.HIDDEN,
        account_id=instance["account_id"],
        details=details,
    )


def _failed(
    conn: Connection,
    runtime: Runtime,
    instance: RowMapping,
    address: str,
    user: RowMapping | None,
    credential: str,
    outcome: lockout.Failure,
) -> None:
    name, user_id = (user["user_name"], user["user_id"]) if user is not None else (None, None)
    events = [audit.Event.CREDENTIAL_VERIFICATION]
    if outcome in (lockout.Failure.LOCKED, lockout.Failure.ADDRESS_LOCKED):
        events.append(audit.Event.LOCKOUT_ENGAGED)
    for event in events:
        _audit(
            conn,
            runtime,
            instance,
            address,
            event,
            name,
            user_id,
            credential=credential,
            failure=True,
            lockout=outcome.value,
        )


def signed_in(runtime: Runtime, instance: RowMapping, user_id: str, user_name: str, address: str) -> None:
    """The sign-in is complete (the pages start the session): ``UserAuthentication``."""
    with runtime.store.tx() as conn:
        _audit(conn, runtime, instance, address, audit.Event.USER_AUTHENTICATION, user_name, user_id)


def next_step(creds: Credentials | None, mfa_policy: str, totp_passed: bool) -> Step:
    has_totp = creds is not None and creds.has_totp
    if has_totp and not totp_passed:
        return Step.TOTP
    if creds is not None and creds.temporary:
        return Step.NEW_PASSWORD
    if not has_totp and mfa_policy == credentials.MFA_REQUIRED:
        return Step.TOTP_SETUP
    return Step.DONE


def password_step(
    runtime: Runtime, instance: RowMapping, user_name: str, password: str, address: str, now: dt.datetime
) -> Progress:
    """Check the user name and password; raises Refused."""
    store_id = instance["identity_store_id"]
    with runtime.store.read() as conn:
        user = directory.user_by_name(conn, store_id, user_name) if len(user_name) <= 128 else None
        if user is not None and not directory.enabled(user):
            user = None  # a disabled user (UpdateUser's UserStatus, SCIM's active) signs in as no one
        creds = credentials.get(conn, runtime.box, store_id, user["user_id"]) if user is not None else None
        subject = user["user_id"] if user is not None else phantom_id(runtime, store_id, user_name)
        check = lockout.is_locked(conn, store_id, subject, address, now)
    if check.locked:
        runtime.passwords.verify_dummy(password)  # the same work either way
        raise Refused(LOCKED)
    ok = credentials.verify_password(runtime.passwords, creds, password)
    with runtime.store.tx() as conn:
        if not ok or user is None:
            outcome = lockout.record_failure(conn, store_id, subject, address, now)
            _failed(conn, runtime, instance, address, user, "PASSWORD", outcome)
        else:
            lockout.record_success(conn, store_id, subject)
            _audit(
                conn,
                runtime,
                instance,
                address,
                audit.Event.CREDENTIAL_VERIFICATION,
                user["user_name"],
                user["user_id"],
                credential="PASSWORD",
            )
    if not ok or user is None:
        raise Refused(LOCKED if outcome in (lockout.Failure.LOCKED, lockout.Failure.ADDRESS_LOCKED) else INCORRECT)
    return Progress(user["user_id"], user["user_name"], next_step(creds, credentials.mfa_policy(instance), False))


def totp_step(
    runtime: Runtime, instance: RowMapping, user_id: str, code: str, address: str, now: dt.datetime
) -> Progress:
    """Check the authenticator app's code of a user who passed the password step; raises Refused."""
    store_id = instance["identity_store_id"]
    with runtime.store.read() as conn:
        user = directory.user(conn, store_id, user_id)
        check = lockout.is_locked(conn, store_id, user_id, address, now)
    if user is None or not directory.enabled(user):
        raise Refused(INCORRECT)
    if check.locked:
        raise Refused(LOCKED)
    with runtime.store.tx() as conn:
        creds = credentials.get(conn, runtime.box, store_id, user_id)
        ok = creds is not None and credentials.check_totp(conn, creds, code.strip(), now)
        if not ok:
            outcome = lockout.record_failure(conn, store_id, user_id, address, now)
            _failed(conn, runtime, instance, address, user, "TOTP", outcome)
        else:
            lockout.record_success(conn, store_id, user_id)
            _audit(
                conn,
                runtime,
                instance,
                address,
                audit.Event.CREDENTIAL_VERIFICATION,
                user["user_name"],
                user_id,
                credential="TOTP",
            )
    if not ok:
        raise Refused(LOCKED if outcome is lockout.Failure.LOCKED else WRONG_CODE)
    return Progress(user_id, user["user_name"], next_step(creds, credentials.mfa_policy(instance), True))


def new_password_step(
    runtime: Runtime, instance: RowMapping, user_id: str, password: str, confirm: str, now: dt.datetime
) -> Progress:
    """Replace a one-time password (the steps before it passed); raises Refused."""
    if password != confirm:
        raise Refused("The passwords do not match.")
    problem = credentials.password_problem(password)
    if problem:
        raise Refused(problem)
    store_id = instance["identity_store_id"]
    stored = credentials.hash_for(runtime.passwords, password)  # Argon2 outside the write transaction
    with runtime.store.tx() as conn:
        user = directory.user(conn, store_id, user_id)
        if user is None:
            raise Refused(INCORRECT)
        credentials.store_hash(conn, store_id, user_id, stored, now, temporary=False)
        creds = credentials.get(conn, runtime.box, store_id, user_id)
    return Progress(user_id, user["user_name"], next_step(creds, credentials.mfa_policy(instance), True))


def totp_setup_step(
    runtime: Runtime, instance: RowMapping, user_id: str, code: str, address: str, now: dt.datetime
) -> Progress:
    """Confirm enrolment of the pending authenticator secret with one of its codes; raises Refused."""
    store_id = instance["identity_store_id"]
    with runtime.store.tx() as conn:
        user = directory.user(conn, store_id, user_id)
        if user is None:
            raise Refused(INCORRECT)
        ok = credentials.confirm_totp(conn, runtime.box, store_id, user_id, code.strip(), now)
        if not ok:
            outcome = lockout.record_failure(conn, store_id, user_id, address, now)
            _failed(conn, runtime, instance, address, user, "TOTP", outcome)
    if not ok:
        raise Refused("That code did not match. Scan the new code below and try again.")
    return Progress(user_id, user["user_name"], Step.DONE)
