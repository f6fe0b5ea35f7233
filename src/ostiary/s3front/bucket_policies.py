"""Bucket policies, answered by the S3 front itself (S3 API Reference: PutBucketPolicy, GetBucketPolicy,
DeleteBucketPolicy; S3 User Guide, "Bucket policies"). Stored in ``s3front_bucket_policies``; read
through a short per-process cache (``cache_caller_policy_seconds``, 5 s, as a caller's own policies; a
write of this process forgets its entry at once).

A document is checked as S3 checks it, answering MalformedPolicy with S3's messages: at most 20 KB, JSON
whose first byte is ``{``, the required elements (Statement, Effect, Principal, Action, Resource —
S3 requires a Principal in every statement, it is a resource policy), principals S3 reads (``*``, an
account id, an IAM ARN of a user, role, assumed-role session or account root, a service, a canonical
user), only ``s3:`` actions, resources within this bucket (``arn:aws:s3:::bucket`` or
``arn:aws:s3:::bucket/…``), and each action applying to at least one of its statement's resources
(an object action needs an object resource, a bucket action the bucket). Then IAM's grammar
(``iam/grammar.py``: statement ids, legacy parsing, condition operators, dates) over the document
without its principals, and the policy engine's parser, which reads what is evaluated.

Who may call these operations is ``decide.decide_policy_call``; this module only stores and checks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import delete, insert, select, update

from ostiary import jsonlimits
from ostiary.access import policy
from ostiary.caching import TtlCache
from ostiary.iam import grammar
from ostiary.s3front.errors import MalformedPolicy
from ostiary.store import tables as t
from ostiary.store.db import Store

MAX_POLICY_BYTES = 20 * 1024  # S3: "Bucket policies are limited to 20 KB in size."
CACHE_SECONDS = 5.0  # the default of cache_caller_policy_seconds (caching.limits: "s3_bucket_policies")

_ACCOUNT = re.compile(r"\d{12}")
_IAM_PRINCIPAL = re.compile(
    r"arn:aws:(iam::\d{12}:(root|user/.+|role/.+|federated-user/.+)|sts::\d{12}:assumed-role/.+/.+)"
)
_CANONICAL = re.compile(r"[0-9a-f]{64}")
_SERVICE = re.compile(r"[a-z0-9.\-]+\.amazonaws\.com(\.cn)?")
_TOP = frozenset({"Version", "Id", "Statement"})
_STATEMENT = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
# S3 actions whose resource is the bucket; every other s3: action but the account-level ones acts on
# objects (Service Authorization Reference for Amazon S3, "Resource types" column)
_ACCOUNT_ACTIONS = frozenset(
    {"s3:listallmybuckets", "s3:createjob", "s3:getaccesspoint", "s3:listaccesspoints", "s3:putaccesspublicaccessblock",
     "s3:getaccountpublicaccessblock", "s3:putaccountpublicaccessblock", "s3:listjobs", "s3:createbucket"}
)  # fmt: skip
_OBJECT_ACTION = re.compile(
    r"s3:(abortmultipartupload|listmultipartuploadparts|restoreobject|"
    r"(get|put|delete|replicate|bypassgovernanceretention)object.*|"
    r"(get|put)objectlegalhold|(get|put)objectretention|initiatereplication|replicatedelete|replicatetags|"
    r"objectowneroverridetoowner)"
)
_BYPASS = "s3:bypassgovernanceretention"

_cache: TtlCache[str, tuple[str, policy.Policy] | None] = TtlCache("s3_bucket_policies", ttl=CACHE_SECONDS)


def _malformed(message: str) -> MalformedPolicy:
    return MalformedPolicy(message)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_ok(value: Any) -> bool:
    if value == "*":
        return True
    if not isinstance(value, dict) or not value:
        return False
    for kind, ids in value.items():
        for pid in _list(ids):
            if not isinstance(pid, str):
                return False
            if kind == "AWS":
                ok = pid == "*" or bool(_ACCOUNT.fullmatch(pid)) or bool(_IAM_PRINCIPAL.fullmatch(pid))
            elif kind == "CanonicalUser":
                ok = bool(_CANONICAL.fullmatch(pid))
            elif kind == "Service":
                ok = bool(_SERVICE.fullmatch(pid))
            elif kind == "Federated":
                ok = bool(pid)
            else:
                ok = False
            if not ok:
                return False
    return True


def _resource_kind(bucket: str, resource: str) -> set[str]:
    """Which kinds of resource ("bucket", "object") a Resource value of this bucket's policy names;
    MalformedPolicy when it is not within the bucket."""
    prefix = "arn:aws:s3:::"
    if not resource.startswith(prefix):
        raise _malformed("Policy has invalid resource")
    name, slash, _ = resource[len(prefix) :].partition("/")
    if not policy.resource_matches((name,), bucket, policy.RequestContext("", bucket), False):
        raise _malformed("Policy has invalid resource")
    if slash:
        return {"object"}
    # a wildcard at the end of the bucket part (arn:aws:s3:::bucket*) reaches its objects too
    return {"bucket", "object"} if name.endswith("*") else {"bucket"}


def _action_kinds(action: str) -> set[str]:
    lowered = action.lower()
    if "*" in lowered or "?" in lowered:
        return {"bucket", "object", "account"}
    if lowered in _ACCOUNT_ACTIONS:
        return {"account"}
    if _OBJECT_ACTION.fullmatch(lowered):
        return {"object"}
    return {"bucket"}


def validate(document: str, bucket: str) -> policy.Policy:
    """The policy ``document`` states for ``bucket``, or MalformedPolicy with S3's message."""
    if len(document.encode()) > MAX_POLICY_BYTES:
        raise _malformed("Policy exceeds the maximum allowed document size.")
    if not document.lstrip().startswith("{"):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    try:
        data = jsonlimits.loads(document)
    except ValueError:
        raise _malformed("Policies must be valid JSON and the first byte must be '{'") from None
    if not isinstance(data, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    for name in data:
        if name not in _TOP:
            raise _malformed(f"Unknown field {name}")
    if "Statement" not in data:
        raise _malformed("Missing required field Statement")
    raw = data["Statement"]
    statements = [raw] if isinstance(raw, dict) else raw
    if not isinstance(statements, list) or not statements or not all(isinstance(s, dict) for s in statements):
        raise _malformed("Missing required field Statement")
    for s in statements:
        for name in s:
            if name not in _STATEMENT:
                raise _malformed(f"Unknown field {name}")
        if "Effect" not in s:
            raise _malformed("Missing required field Effect")
        if s["Effect"] not in ("Allow", "Deny"):
            raise _malformed(f"Invalid effect: {s['Effect']}")
        if "Principal" not in s and "NotPrincipal" not in s:
            raise _malformed("Missing required field Principal")
        if not _principal_ok(s.get("Principal", s.get("NotPrincipal"))):
            raise _malformed("Invalid principal in policy")
        actions = s.get("Action", s.get("NotAction"))
        if actions is None or actions == []:
            raise _malformed("Missing required field Action")
        resources = s.get("Resource", s.get("NotResource"))
        if resources is None or resources == []:
            raise _malformed("Missing required field Resource")
        if not all(isinstance(a, str) and a for a in _list(actions)):
            raise _malformed("Policy has invalid action")
        if not all(isinstance(r, str) and r for r in _list(resources)):
            raise _malformed("Policy has invalid resource")
        for action in _list(actions):
            vendor, colon, _ = action.partition(":")
            if action != "*" and (not colon or vendor.lower() != "s3"):
                raise _malformed("Policy has invalid action")
        kinds: set[str] = set()
        for resource in _list(resources):
            kinds |= _resource_kind(bucket, resource)
        if "Action" in s and "Resource" in s:
            for action in _list(actions):
                if not _action_kinds(action) & (kinds | {"account"} if action.lower() == _BYPASS else kinds):
                    raise _malformed("Action does not apply to any resource(s) in statement")
    # IAM's grammar over what it knows (it refuses principals in identity policies: leave them out)
    stripped = dict(data)
    stripped["Statement"] = [{k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")} for s in statements]
    try:
        grammar.validate(json.dumps(stripped), grammar.Kind.INLINE)
    except policy.MalformedPolicy as exc:
        text = str(exc)
        if "Statement IDs" in text:
            raise _malformed(text) from None
        raise _malformed("Invalid policy syntax.") from None
    try:
        return policy.parse(data, resource_policy=True)
    except policy.MalformedPolicy:
        raise _malformed("Invalid policy syntax.") from None


def get(store: Store, bucket: str) -> tuple[str, policy.Policy] | None:
    """The stored document of ``bucket`` and its parsed policy, or None (cached ``CACHE_SECONDS``)."""
    return _cache.get_or_load(bucket, lambda: _load(store, bucket))


def _load(store: Store, bucket: str) -> tuple[str, policy.Policy] | None:
    with store.read() as conn:
        text = conn.execute(
            select(t.s3front_bucket_policies.c.policy).where(t.s3front_bucket_policies.c.bucket == bucket)
        ).scalar()
    if text is None:
        return None
    try:
        return text, policy.parse(text, resource_policy=True)
    except (ValueError, policy.MalformedPolicy):
        return None  # validated when stored; a document that no longer parses grants nothing


def put(conn: Any, bucket: str, account_id: str, document: str, by: str, now: dt.datetime) -> None:
    """Store (or replace) the document of ``bucket``, in the caller's transaction ``conn``."""
    table = t.s3front_bucket_policies
    values = {"account_id": account_id, "policy": document, "updated_by": by[:2048], "updated_at": now}
    done = conn.execute(update(table).where(table.c.bucket == bucket).values(**values)).rowcount
    if not done:
        conn.execute(insert(table).values(bucket=bucket, **values))
    _cache.pop(bucket)


def remove(conn: Any, bucket: str) -> bool:
    """Delete the document of ``bucket``; whether there was one."""
    table = t.s3front_bucket_policies
    gone = bool(conn.execute(delete(table).where(table.c.bucket == bucket)).rowcount)
    _cache.pop(bucket)
    return gone


def forget(bucket: str) -> None:
    """Drop the cached entry of ``bucket`` (after the transaction that changed it committed)."""
    _cache.pop(bucket)
