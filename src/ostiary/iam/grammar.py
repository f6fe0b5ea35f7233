"""IAM's policy grammar: which documents IAM and STS refuse when they are written, with AWS's messages.

One validator for every kind of policy document a request carries (``Kind``): managed policies
(CreatePolicy, CreatePolicyVersion), inline policies (Put{User,Group,Role}Policy), role trust
policies (CreateRole, UpdateAssumeRolePolicy) and session policies (the ``Policy`` parameter of STS's
AssumeRole, AssumeRoleWithSAML, AssumeRoleWithWebIdentity and GetFederationToken). The checks and
their order follow AWS's verdicts on some 130 documents recorded by the moto project
(moto/iam/policy_validation.py and tests/test_iam/test_iam_policies.py, Apache License 2.0): a
syntax pass ("Syntax errors in policy."), the managed-policy version rule, IAM's legacy parser
("The policy failed legacy parsing"), statement ids, actions, resource ARNs and action vendors;
then what depends on the kind of document (a principal is refused in identity and session policies,
required in trust policies, which refuse resources and allow only the STS AssumeRole actions).

The IAM User Guide ("Managed policies and inline policies"): the Version element of a managed
policy must be 2012-10-17; an inline policy may say 2008-10-17 or leave it out (its default).
Invalid JSON is "Syntax errors in policy." for identity policies, "This policy contains invalid
Json" for trust policies and "The policy is not in the valid JSON format." for STS session policies.

What passes is read by the policy engine (``policy.parse``), which accepts everything this accepts
(a ``null`` in a Resource list, empty condition blocks); the engine itself stays lenient so that
documents stored before these rules still evaluate.
"""

from __future__ import annotations

import enum
import re
from typing import Any

from ostiary import jsonlimits
from ostiary.access import policy
from ostiary.access.policy import MalformedPolicy


class Kind(enum.Enum):
    MANAGED = "managed"  # CreatePolicy, CreatePolicyVersion
    INLINE = "inline"  # PutUserPolicy, PutGroupPolicy, PutRolePolicy
    TRUST = "trust"  # CreateRole, UpdateAssumeRolePolicy
    SESSION = "session"  # STS Policy parameter


SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"
_INVALID_JSON = {
    Kind.MANAGED: SYNTAX,
    Kind.INLINE: SYNTAX,
    Kind.TRUST: "This policy contains invalid Json",
    Kind.SESSION: "The policy is not in the valid JSON format.",
}
_TOP_ELEMENTS = frozenset({"Version", "Id", "Statement", "Conditions"})
_VERSIONS = ("2008-10-17", "2012-10-17")
_STATEMENT_ELEMENTS = frozenset(
    {"Sid", "Action", "NotAction", "Resource", "NotResource", "Effect", "Principal", "NotPrincipal", "Condition"}
)
_CONDITION_OPERATORS = frozenset(
    {
        "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
        "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
        "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
        "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
        "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
    }
)  # fmt: skip
_PARTITIONS = frozenset({"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"})
_REGION_REFUSED = {
    # service -> (message, resource ids that may carry a region)
    "iam": ("IAM resource {resource} cannot contain region information.", ()),
    "s3": ("Resource {resource} can not contain region information.", ("accesspoint/",)),
}
_IAM_PATHS = (
    "user/", "federated-user/", "role/", "group/", "instance-profile/", "mfa/", "server-certificate/", "policy/",
    "sms-mfa/", "saml-provider/", "oidc-provider/", "report/", "access-report/",
)  # fmt: skip
_SID = re.compile(r"[0-9A-Za-z]*")
_VENDOR_BAD = re.compile(r"[^a-zA-Z0-9\-.]")
_PRINCIPAL_KINDS = frozenset({"AWS", "Service", "Federated", "CanonicalUser"})
# the actions a trust policy may name (IAM: "AssumeRole policy may only specify STS AssumeRole actions.")
_TRUST_ACTIONS = frozenset(
    {"sts:assumerole", "sts:assumerolewithsaml", "sts:assumerolewithwebidentity", "sts:tagsession",
     "sts:setsourceidentity", "sts:setcontext"}
)  # fmt: skip
_OTHER_STS_ACTIONS = frozenset(
    {"sts:assumeroot", "sts:decodeauthorizationmessage", "sts:getaccesskeyinfo", "sts:getcalleridentity",
     "sts:getfederationtoken", "sts:getservicebearertoken", "sts:getsessiontoken", "sts:getwebidentitytoken"}
)  # fmt: skip


def validate(document: str, kind: Kind) -> policy.Policy:
    """The policy a document states, or MalformedPolicy with AWS's message for the first rule it breaks."""
    try:
        data = jsonlimits.loads(document)
    except ValueError:
        raise MalformedPolicy(_INVALID_JSON[kind]) from None
    statements = _syntax(data)
    if kind is Kind.MANAGED and data.get("Version") != "2012-10-17":
        raise MalformedPolicy("Policy document must be version 2012-10-17 or greater.")
    resource_error = _legacy(statements)
    _sids(statements)
    for s in statements:
        actions = s.get("Action", s.get("NotAction"))
        if actions is None or actions == []:
            raise MalformedPolicy("Policy statement must contain actions.")
    if resource_error:
        raise MalformedPolicy(resource_error)
    for key in ("Action", "NotAction"):
        for s in statements:
            for action in _values(s, key):
                _vendor(action)
    if kind is Kind.TRUST:
        _trust(statements)
    else:
        if any("Principal" in s or "NotPrincipal" in s for s in statements):
            raise MalformedPolicy("Policy document should not specify a principal.")
        for s in statements:
            resources = s.get("Resource", s.get("NotResource"))
            if resources is None or resources == []:
                raise MalformedPolicy("Policy statement must contain resources.")
    try:
        return policy.parse(data, resource_policy=kind is Kind.TRUST)
    except MalformedPolicy:  # the engine reads all the grammar allows; anything else is a syntax error
        raise MalformedPolicy(SYNTAX) from None


def _values(statement: dict[str, Any], key: str) -> list[str]:
    value = statement.get(key)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v is not None]


# --- syntax ---------------------------------------------------------------------------------------


def _syntax(data: Any) -> list[dict[str, Any]]:
    """The statements, after the checks IAM answers with "Syntax errors in policy."."""
    ok = (
        isinstance(data, dict)
        and set(data) <= _TOP_ELEMENTS
        and ("Version" not in data or data["Version"] in _VERSIONS)
        and ("Id" not in data or isinstance(data["Id"], str))
        and isinstance(data.get("Statement"), (dict, list))
    )
    if not ok:
        raise MalformedPolicy(SYNTAX)
    raw = data["Statement"]
    statements = [raw] if isinstance(raw, dict) else list(raw)
    if not statements or not all(isinstance(s, dict) and _statement_ok(s) for s in statements):
        raise MalformedPolicy(SYNTAX)
    return statements


def _statement_ok(s: dict[str, Any]) -> bool:
    if not set(s) <= _STATEMENT_ELEMENTS:
        return False
    if ("Resource" in s and "NotResource" in s) or ("Action" in s and "NotAction" in s):
        return False
    if "Principal" in s and "NotPrincipal" in s:
        return False
    effect = s.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        return False
    for key, nulls in (("Action", False), ("NotAction", False), ("Resource", True), ("NotResource", True)):
        if key in s and not _strings(s[key], nulls):
            return False
    if "Sid" in s and not isinstance(s["Sid"], str):
        return False
    for key in ("Principal", "NotPrincipal"):
        if key in s and not _principal_ok(s[key]):
            return False
    return "Condition" not in s or _condition_ok(s["Condition"])


def _strings(value: Any, nulls: bool) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(v, str) or (nulls and v is None) for v in value)


def _principal_ok(value: Any) -> bool:
    if value == "*":
        return True
    return isinstance(value, dict) and all(
        isinstance(ids, str) or (isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids))
        for ids in value.values()
    )


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, bool, int, float))


def _condition_ok(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if not isinstance(block, dict):
            return False
        for values in block.values():
            if not (_scalar(values) or (isinstance(values, list) and all(_scalar(v) for v in values))):
                return False
        if _base_operator(operator) not in _CONDITION_OPERATORS and block:
            return False
    return True


def _base_operator(name: str) -> str:
    """An operator without its set prefix (ForAnyValue:, ForAllValues:) and IfExists suffix."""
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name.removesuffix("IfExists")


# --- legacy parsing and resources -----------------------------------------------------------------


def _legacy(statements: list[dict[str, Any]]) -> str:
    """IAM's legacy parser (Effect's exact case, date condition values, the ARN shape of resources),
    answered with "The policy failed legacy parsing"; returns the resource format error to report
    after the statement id and action checks ('' when there is none)."""
    for s in statements:
        if s["Effect"] not in ("Allow", "Deny"):
            raise MalformedPolicy(LEGACY)
        for operator, block in (s.get("Condition") or {}).items():
            if _base_operator(operator).startswith("Date"):
                for values in block.values():
                    for v in values if isinstance(values, list) else [values]:
                        if not _legacy_date(v):
                            raise MalformedPolicy(LEGACY)
    error = ""
    for key in ("Resource", "NotResource"):
        for s in statements:
            if key not in s:
                continue
            value = s[key]
            resources = [value] if isinstance(value, str) else sorted((r for r in value if r), reverse=True)
            for resource in resources:
                error = _resource_format(resource) or error
            if not error and not all(_legacy_arn(r) for r in resources):
                raise MalformedPolicy(LEGACY)
    return error


def _legacy_arn(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":")
    return (resource.count(":") >= 5 or "::" not in resource) and len(parts) > 2 and parts[2] != ""


def _resource_format(resource: str) -> str:
    """AWS's message for a resource that is not an ARN it can read ('' when it is)."""
    if resource == "*":
        return ""
    _, sep, rest = resource.partition(":")
    if not sep:
        return f'Resource {resource} must be in ARN format or "*".'
    partition, sep, rest = rest.partition(":")
    if partition != "*" and partition not in _PARTITIONS:
        parts = rest.split(":")
        arn1 = parts[0] if parts[0] != "" or len(parts) > 1 else "*"
        arn2 = parts[1] if len(parts) > 1 else "*"
        arn3 = parts[2] if len(parts) > 2 else "*"
        arn4 = ":".join(parts[3:]) if len(parts) > 3 else "*"
        return f'Partition "{partition}" is not valid for resource "arn:{partition}:{arn1}:{arn2}:{arn3}:{arn4}".'
    if not sep:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service, _, after_service = rest.partition(":")
    _, _, after_region = after_service.partition(":")
    _, _, resource_id = after_region.partition(":")
    refused = _REGION_REFUSED.get(service)
    if refused is not None and not after_service.startswith(":") and not resource_id.startswith(refused[1]):
        return refused[0].format(resource=resource)
    if service == "iam" and not resource_id.startswith(_IAM_PATHS):
        return f'IAM resource path must either be "*" or start with {", ".join(_IAM_PATHS)}.'
    return ""


def _legacy_date(value: Any) -> bool:
    """A date condition value IAM's legacy parser reads: an ISO 8601 date-time or epoch seconds."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    try:
        if "t" in text.lower() or "-" in text:
            return _iso8601(text.lower())
        return 0 <= int(text) <= 9223372036854775807
    except ValueError:
        return False


def _iso8601(text: str) -> bool:
    date, _, time = text.partition("t")
    negative = date.startswith("-")
    fields = (date[1:] if negative else date).split("-")
    year = int(("-" if negative else "") + fields[0])
    ok = -292275054 <= year <= 292278993 and len(fields) < 4
    if len(fields) > 1:
        ok = ok and 1 <= int(fields[1]) <= 12
    if len(fields) > 2:
        ok = ok and 1 <= int(fields[2]) <= 31
    hms = time.split(":")
    if hms[0] != "":
        ok = ok and 0 <= int(hms[0]) <= 23
    if len(hms) > 1:
        ok = ok and 0 <= int(hms[1]) <= 59
    if len(hms) > 2:
        seconds = hms[2]
        if "z" in seconds:
            seconds, _, after = seconds.partition("z")
            ok = ok and after == ""
        elif "+" in seconds:
            seconds, _, zone = seconds.partition("+")
            zone_hours, colon, zone_minutes = zone.partition(":")
            ok = ok and len(zone_hours) == 2 and 0 <= int(zone_hours) <= 23
            if colon:
                ok = ok and len(zone_minutes) == 2 and 0 <= int(zone_minutes) <= 59
        whole, dot, fraction = seconds.partition(".")
        ok = ok and 0 <= int(whole) <= 59
        if dot:
            ok = ok and 0 <= int(fraction) <= 999999999
    return ok


# --- statement ids, actions -----------------------------------------------------------------------


def _sids(statements: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for s in statements:
        sid = s.get("Sid")
        if sid:
            if sid in seen:
                raise MalformedPolicy("Statement IDs (SID) in a single policy must be unique.")
            seen.add(sid)
    for s in statements:
        if "Sid" in s and not _SID.fullmatch(s["Sid"]):
            raise MalformedPolicy(
                "Statement IDs (SID) must be alpha-numeric. "
                "Check that your input satisfies the regular expression [0-9A-Za-z]*"
            )


def _vendor(action: str) -> None:
    parts = action.split(":")
    if len(parts) == 1 and parts[0] != "*":
        raise MalformedPolicy("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
    if len(parts) > 2:
        raise MalformedPolicy("Actions/Condition can contain only one colon.")
    if parts[0] != "*" and _VENDOR_BAD.search(parts[0]):
        raise MalformedPolicy(f"Vendor {parts[0]} is not valid")


# --- trust policies -------------------------------------------------------------------------------


def _trust(statements: list[dict[str, Any]]) -> None:
    """A role's trust policy names who may assume the role: a Principal in every statement (never
    NotPrincipal: IAM User Guide, NotPrincipal), only the STS actions of assuming a role, and no
    resource (the role is the resource)."""
    for s in statements:
        if "NotPrincipal" in s:
            raise MalformedPolicy("Has prohibited field NotPrincipal")
        if "Principal" not in s:
            raise MalformedPolicy("Missing required field Principal")
        _trust_principal(s["Principal"])
    for s in statements:
        for action in _values(s, "Action") + _values(s, "NotAction"):
            if not _trust_action(action):
                raise MalformedPolicy("AssumeRole policy may only specify STS AssumeRole actions.")
    for s in statements:
        for key in ("Resource", "NotResource"):
            if key in s:
                raise MalformedPolicy(f"Has prohibited field {key}")


def _trust_principal(value: Any) -> None:
    if value == "*":
        return
    for kind, ids in value.items():
        if kind not in _PRINCIPAL_KINDS:
            raise MalformedPolicy("Invalid principal in policy")
        if kind != "AWS":
            continue
        for pid in [ids] if isinstance(ids, str) else ids:
            if not _aws_principal(pid):
                raise MalformedPolicy(f'Invalid principal in policy: "AWS":"{pid}"')


_ACCOUNT = re.compile(r"\d{12}")
_UNIQUE_ID = re.compile(r"A(IDA|ROA)[A-Z0-9]{4,}")


def _aws_principal(pid: str) -> bool:
    """``*``, an account id, a unique id, or an IAM/STS ARN of an account's root, user, role or session
    (wildcards are not allowed inside an ARN)."""
    if pid == "*" or _ACCOUNT.fullmatch(pid) or _UNIQUE_ID.fullmatch(pid):
        return True
    parts = pid.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[1] in _PARTITIONS
        and parts[2] in ("iam", "sts")
        and parts[3] == ""
        and _ACCOUNT.fullmatch(parts[4]) is not None
        and parts[5] != ""
        and "*" not in pid
        and "?" not in pid
    )


def _trust_action(action: str) -> bool:
    lowered = action.lower()
    if "*" not in lowered and "?" not in lowered:
        return lowered in _TRUST_ACTIONS
    if not lowered.startswith("sts:"):
        return False
    matched = [a for a in _TRUST_ACTIONS | _OTHER_STS_ACTIONS if policy.action_matches([lowered], a)]
    return bool(matched) and all(a in _TRUST_ACTIONS for a in matched)
