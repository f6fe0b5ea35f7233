"""The policy types of AWS Organizations and what a policy of each may contain (AWS Organizations User
Guide, "Managing organization policies", "Management policy syntax and inheritance", the per-type
syntax pages, and "Quotas for AWS Organizations"); no operations here.

Two families:

- **authorization policies**: service control policies (SCPs) and resource control policies (RCPs),
  IAM policy documents evaluated by the policy engine (``access.service_control``; RCPs where STS
  assumes a member account's role).
  An SCP has no Principal; an RCP names the principal ``"*"`` and, but for the AWS managed ``RCPFullAWSAccess``,
  only denies (AWS: "RCPs ... only Deny statements"; a customer managed RCP with Allow is refused).
- **management policies** (every other type of the model's PolicyType enum: tag, backup, AI services
  opt-out, chat applications, declarative EC2, Security Hub, Inspector, upgrade rollout, Bedrock, S3,
  network security director, GuardDuty policies): JSON documents of keys and the inheritance operators
  ``@@assign``, ``@@append``, ``@@remove`` and ``@@operators_allowed_for_child_policies``, combined into an
  account's effective policy (``effective_policies.py``). Ostiary checks their syntax: a JSON object,
  only those operators, ``@@append``/``@@remove`` with lists, child-operator lists of the five values
  AWS allows, and, for the types whose top-level element AWS documents (``tags``, ``plans``,
  ``services``, ``chatbot``, ``ec2_attributes``), that element. What the services do with them is the
  services' own (Ostiary serves none of them): the policies are stored, attached, inherited and
  described as AWS describes them.
"""

from __future__ import annotations

from typing import Any

from ostiary import jsonlimits
from ostiary.access import policy, service_control
from ostiary.iam import grammar
from ostiary.organizations.errors import ConstraintViolationException, MalformedPolicyDocumentException

SCP = service_control.SERVICE_CONTROL_POLICY
RCP = service_control.RESOURCE_CONTROL_POLICY
AUTHORIZATION = (SCP, RCP)
MANAGEMENT = (
    "TAG_POLICY",
    "BACKUP_POLICY",
    "AISERVICES_OPT_OUT_POLICY",
    "CHATBOT_POLICY",
    "DECLARATIVE_POLICY_EC2",
    "SECURITYHUB_POLICY",
    "SECURITYHUB_CSPM_POLICY",
    "INSPECTOR_POLICY",
    "UPGRADE_ROLLOUT_POLICY",
    "BEDROCK_POLICY",
    "S3_POLICY",
    "NETWORK_SECURITY_DIRECTOR_POLICY",
    "GUARDDUTY_POLICY",
)
ALL_TYPES = AUTHORIZATION + MANAGEMENT

# AWS quotas: the largest document of a type (characters) and how many of a type one target may have
_MAX_SIZE = {SCP: 5120, RCP: 5120, "AISERVICES_OPT_OUT_POLICY": 2500}
_MAX_ATTACHED = {SCP: 5, RCP: 5, "AISERVICES_OPT_OUT_POLICY": 5, "CHATBOT_POLICY": 5}
DEFAULT_MAX_SIZE = 10000
DEFAULT_MAX_ATTACHED = 10

# the top-level element of the types whose syntax AWS documents
TOP_LEVEL = {
    "TAG_POLICY": "tags",
    "BACKUP_POLICY": "plans",
    "AISERVICES_OPT_OUT_POLICY": "services",
    "CHATBOT_POLICY": "chatbot",
    "DECLARATIVE_POLICY_EC2": "ec2_attributes",
}

ASSIGN, APPEND, REMOVE, CHILD_OPERATORS = "@@assign", "@@append", "@@remove", "@@operators_allowed_for_child_policies"
VALUE_OPERATORS = (ASSIGN, APPEND, REMOVE)
ALL, NONE = "@@all", "@@none"
MAX_DEPTH = 32


def max_size(kind: str) -> int:
    return _MAX_SIZE.get(kind, DEFAULT_MAX_SIZE)


def max_attached(kind: str) -> int:
    return _MAX_ATTACHED.get(kind, DEFAULT_MAX_ATTACHED)


def _malformed(detail: str) -> MalformedPolicyDocumentException:
    return MalformedPolicyDocumentException(
        f"The provided policy document doesn't meet the requirements of the specified policy type. {detail}"
    )


def check(kind: str, content: str) -> None:
    """Refuse a policy document that a policy of type ``kind`` may not have."""
    if len(content) > max_size(kind):
        raise ConstraintViolationException(
            "You attempted to create a policy that is larger than the maximum size.",
            Reason="POLICY_CONTENT_LIMIT_EXCEEDED",
        )
    if kind == SCP:
        try:
            grammar.validate(content, grammar.Kind.MANAGED)
        except policy.MalformedPolicy as err:
            raise _malformed(str(err)) from None
    elif kind == RCP:
        _check_rcp(content)
    else:
        _check_management(kind, content)


def _check_rcp(content: str) -> None:
    try:
        parsed = policy.parse(content, resource_policy=True)
    except policy.MalformedPolicy as err:
        raise _malformed(str(err)) from None
    for stmt in parsed.statements:
        if stmt.not_principals is not None or dict(stmt.principals or {}) != {"*": ("*",)}:
            raise _malformed('A resource control policy must name the principal "*".')
        if stmt.effect is not policy.Effect.DENY:
            raise _malformed("A resource control policy can only deny (Effect Deny).")
        if stmt.resources is None and stmt.not_resources is None:
            raise _malformed("Policy statement must contain resources.")


def _check_management(kind: str, content: str) -> None:
    try:
        document = jsonlimits.loads(content, max_depth=MAX_DEPTH)
    except ValueError:
        raise _malformed("The document is not valid JSON.") from None
    if not isinstance(document, dict) or not document:
        raise _malformed("A management policy is a JSON object.")
    top = TOP_LEVEL.get(kind)
    if top is not None and set(document) - {top}:
        raise _malformed(f'A {kind} has one top-level element, "{top}".')
    _check_node(document, "")


def _check_node(node: dict[str, Any], path: str) -> None:
    for key, value in node.items():
        where = f"{path}/{key}"
        if key.startswith("@@"):
            if key == CHILD_OPERATORS:
                _check_child_operators(value, where)
            elif key in (APPEND, REMOVE):
                if not isinstance(value, list) or any(isinstance(v, dict | list) for v in value):
                    raise _malformed(f"{where} takes a list of values.")
            elif key == ASSIGN:
                if isinstance(value, dict):
                    raise _malformed(f"{where} takes a value or a list of values.")
            else:
                raise _malformed(f"Unknown operator {key} at {path or '/'}.")
        elif isinstance(value, dict):
            _check_node(value, where)
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            raise _malformed(f"{where} takes a value or a list of values.")


def _check_child_operators(value: Any, where: str) -> None:
    allowed = {ALL, NONE, *VALUE_OPERATORS}
    if not isinstance(value, list) or not value or any(v not in allowed for v in value):
        raise _malformed(f"{where} takes a list of {', '.join(sorted(allowed))}.")
    if (ALL in value or NONE in value) and len(value) > 1:
        raise _malformed(f"{where}: @@all and @@none stand alone.")
