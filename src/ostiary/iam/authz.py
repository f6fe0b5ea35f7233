"""Authorization of signed calls: the account root directly, IAM users through the policy engine.

The request context carries the global condition keys IAM documents for these principals
(aws:username, aws:userid, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:SourceIp,
aws:CurrentTime, aws:EpochTime, aws:SecureTransport). A user's policies are read through a short
per-process cache (5 s), like access keys.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from sqlalchemy import select

from ostiary.iam import inline, policy
from ostiary.iam.principals import Decision, Principal, PrincipalKind, arn_account, authorize
from ostiary.store import tables as t
from ostiary.store.db import Store

CACHE_SECONDS = 5.0


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, list[policy.Policy], list[policy.Policy] | None]] = {}
        self._lock = threading.Lock()

    def _policies(self, principal: Principal) -> tuple[list[policy.Policy], list[policy.Policy] | None]:
        key = principal.access_key_id if principal.kind is PrincipalKind.ASSUMED_ROLE else principal.arn
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1], hit[2]
        identity, session = caller_policies(self.store, principal)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, identity, session)
        return identity, session

    def decide(
        self, principal: Principal, action: str, resource: str, source_ip: str, now: dt.datetime, secure: bool
    ) -> Decision:
        if principal.kind is PrincipalKind.ROOT:
            return authorize(principal, action, resource)
        if principal.kind not in (PrincipalKind.USER, PrincipalKind.ASSUMED_ROLE):
            return Decision.IMPLICIT_DENY
        is_user = principal.kind is PrincipalKind.USER
        keys = {
            "aws:username": [principal.arn.rsplit("/", 1)[-1]] if is_user else [],
            "aws:userid": [principal.user_id],
            "aws:PrincipalArn": [principal.arn],
            "aws:PrincipalAccount": [principal.account_id],
            "aws:PrincipalType": ["User" if is_user else "AssumedRole"],
            "aws:SourceIp": [source_ip] if source_ip else [],
            "aws:CurrentTime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
            "aws:EpochTime": [str(int(now.timestamp()))],
            "aws:SecureTransport": ["true" if secure else "false"],
        }
        request = policy.RequestContext(
            action=action,
            resource=resource,
            principal_arn=principal.arn,
            principal_account=principal.account_id,
            keys={k: v for k, v in keys.items() if v},
        )
        identity, session = self._policies(principal)
        outcome = policy.evaluate(request, identity=identity, session=session, resource_account=arn_account(resource))
        return {
            policy.Decision.ALLOW: Decision.ALLOW,
            policy.Decision.EXPLICIT_DENY: Decision.EXPLICIT_DENY,
            policy.Decision.IMPLICIT_DENY: Decision.IMPLICIT_DENY,
        }[outcome]


def _parsed(documents: list[str]) -> list[policy.Policy]:
    out = []
    for doc in documents:
        try:
            out.append(policy.parse(doc))
        except policy.MalformedPolicy:
            continue  # validated when stored; a document that no longer parses grants nothing
    return out


def caller_policies(store: Store, principal: Principal) -> tuple[list[policy.Policy], list[policy.Policy] | None]:
    """(identity policies, session policies or None) of an IAM user or a role session."""
    with store.read() as conn:
        if principal.kind is PrincipalKind.USER:
            name_key = principal.arn.rsplit("/", 1)[-1].lower()
            return _parsed(inline.documents(conn, principal.account_id, "user", name_key)), None
        if principal.kind is PrincipalKind.ASSUMED_ROLE:
            row = conn.execute(
                select(t.sts_sessions.c.role_name, t.sts_sessions.c.session_policy).where(
                    t.sts_sessions.c.access_key_id == principal.access_key_id
                )
            ).first()
            if row is None:
                return [], None
            identity = _parsed(inline.documents(conn, principal.account_id, "role", row.role_name.lower()))
            return identity, (_parsed([row.session_policy]) if row.session_policy else None)
    return [], None
