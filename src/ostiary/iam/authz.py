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

from ostiary.iam import policy
from ostiary.iam.principals import Decision, Principal, PrincipalKind, arn_account, authorize
from ostiary.iam.users import inline_documents
from ostiary.store.db import Store

CACHE_SECONDS = 5.0


class Authorizer:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, list[policy.Policy]]] = {}
        self._lock = threading.Lock()

    def _user_policies(self, principal: Principal) -> list[policy.Policy]:
        key = principal.arn
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        name_key = principal.arn.rsplit("/", 1)[-1].lower()
        with self.store.read() as conn:
            documents = inline_documents(conn, principal.account_id, "user", name_key)
        parsed = []
        for doc in documents:
            try:
                parsed.append(policy.parse(doc))
            except policy.MalformedPolicy:
                continue  # validated when stored; a document that no longer parses grants nothing
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[key] = (now + CACHE_SECONDS, parsed)
        return parsed

    def decide(
        self, principal: Principal, action: str, resource: str, source_ip: str, now: dt.datetime, secure: bool
    ) -> Decision:
        if principal.kind is PrincipalKind.ROOT:
            return authorize(principal, action, resource)
        if principal.kind is not PrincipalKind.USER:
            return Decision.IMPLICIT_DENY
        keys = {
            "aws:username": [principal.arn.rsplit("/", 1)[-1]],
            "aws:userid": [principal.user_id],
            "aws:PrincipalArn": [principal.arn],
            "aws:PrincipalAccount": [principal.account_id],
            "aws:PrincipalType": ["User"],
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
        outcome = policy.evaluate(
            request, identity=self._user_policies(principal), resource_account=arn_account(resource)
        )
        return {
            policy.Decision.ALLOW: Decision.ALLOW,
            policy.Decision.EXPLICIT_DENY: Decision.EXPLICIT_DENY,
            policy.Decision.IMPLICIT_DENY: Decision.IMPLICIT_DENY,
        }[outcome]
