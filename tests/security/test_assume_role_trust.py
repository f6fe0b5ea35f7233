"""AssumeRole trust is decided by the policy engine alone (issue 10, item 2).

The attack: a role trusts its account (root); the caller has no permissions at all; the trust policy
also mentions, in a Deny statement, an ARN that merely starts with the caller's ARN. A text search
for the caller's ARN in the trust policy used to count as "the trust names the caller", which lets a
principal without any permission assume the role.

Then AWS's semantics (IAM User Guide, "Policy evaluation logic", "Cross-account policy evaluation
logic", "How IAM roles differ from resource-based policies"): a trust policy that names the caller's
own ARN (the user, the assumed-role session, or for role chaining the session's role) suffices within
the account; one that names the account (its root ARN or its bare id) needs the caller's identity
policies to allow sts:AssumeRole on the role too; across accounts both always must; an explicit Deny
anywhere wins.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.security._authz_helpers import (
    allow,
    client,
    creds_of,
    deny,
    doc,
    error,
    new_boundary,
    new_role,
    new_user,
    root_arn,
    second_account,
    trust_stmt,
    unique,
)

OTHER = "444455556666"


def _assume(server: Server, creds: dict[str, Any], role: str) -> bool:
    try:
        client(server, "sts", creds).assume_role(RoleArn=role, RoleSessionName="sess")
    except ClientError as err:
        assert err.response["Error"]["Code"] == "AccessDenied", err.response
        return False
    return True


def test_longer_arn_in_a_deny_does_not_name_the_caller(server: Server) -> None:
    name = unique("mallory")
    caller_arn, creds = new_user(server, name)  # no permissions at all
    trust = doc(
        trust_stmt("Allow", {"AWS": root_arn()}),
        trust_stmt("Deny", {"AWS": f"{caller_arn}-somebody-else"}),
    )
    role = new_role(server, unique("trusts-account"), trust)
    with pytest.raises(ClientError) as exc:
        client(server, "sts", creds).assume_role(RoleArn=role, RoleSessionName="attack")
    assert error(exc) == (
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role}",
    )


def test_caller_arn_in_a_condition_or_sid_does_not_name_the_caller(server: Server) -> None:
    caller_arn, creds = new_user(server, unique("eve"))
    trust = doc(
        {**trust_stmt("Allow", {"AWS": root_arn()}), "Sid": "x"},
        trust_stmt("Deny", {"AWS": root_arn()}, StringEquals={"aws:PrincipalArn": f"{caller_arn}x"}),
    )
    role = new_role(server, unique("cond"), trust)
    assert not _assume(server, creds, role)


SAME_ACCOUNT_CASES = [
    # (id, trust principal kind, caller's identity policy, expected)
    ("account-root-no-identity", "root", None, False),
    ("account-root-identity-allows", "root", "allow", True),
    ("account-id-no-identity", "account-id", None, False),
    ("account-id-identity-allows", "account-id", "allow", True),
    ("user-arn-no-identity", "user", None, True),
    ("user-arn-identity-denies", "user", "deny", False),
    ("account-root-identity-denies", "root", "deny", False),
    ("other-user-arn-identity-allows", "other-user", "allow", False),
    ("wildcard-no-identity", "*", None, False),
    ("wildcard-identity-allows", "*", "allow", True),
]


@pytest.mark.parametrize(
    ("trusts", "identity", "expected"), [c[1:] for c in SAME_ACCOUNT_CASES], ids=[c[0] for c in SAME_ACCOUNT_CASES]
)
def test_same_account_matrix(server: Server, trusts: str, identity: str | None, expected: bool) -> None:
    name = unique("caller")
    caller_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{name}"
    role_name = unique("role")
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"
    principal = {
        "root": root_arn(),
        "account-id": ACCOUNT_ID,
        "user": caller_arn,
        "other-user": f"arn:aws:iam::{ACCOUNT_ID}:user/someone-else",
        "*": "*",
    }[trusts]
    policies = []
    if identity == "allow":
        policies.append(doc(allow("sts:AssumeRole", role_arn)))
    elif identity == "deny":
        policies.append(doc(allow("sts:AssumeRole", "*"), deny("sts:AssumeRole", role_arn)))
    _, creds = new_user(server, name, policies)
    new_role(server, role_name, doc(trust_stmt("Allow", {"AWS": principal})))
    assert _assume(server, creds, role_arn) is expected


def test_explicit_deny_in_trust_wins_over_a_named_caller(server: Server) -> None:
    name = unique("dana")
    caller_arn, creds = new_user(server, name, [doc(allow("sts:AssumeRole"))])
    trust = doc(trust_stmt("Allow", {"AWS": caller_arn}), trust_stmt("Deny", {"AWS": root_arn()}))
    role = new_role(server, unique("denies"), trust)
    assert not _assume(server, creds, role)


def test_permissions_boundary(server: Server) -> None:
    """A trust naming the user ARN is not limited by the user's boundary; a trust naming the account
    needs identity ∩ boundary to allow."""
    boundary = new_boundary(server, unique("only-iam"), doc(allow("iam:Get*")))
    name = unique("bounded")
    caller_arn, creds = new_user(server, name, [doc(allow("sts:AssumeRole"))], boundary=boundary)
    by_arn = new_role(server, unique("by-arn"), doc(trust_stmt("Allow", {"AWS": caller_arn})))
    by_account = new_role(server, unique("by-account"), doc(trust_stmt("Allow", {"AWS": root_arn()})))
    assert _assume(server, creds, by_arn)
    assert not _assume(server, creds, by_account)


def test_role_chaining(server: Server) -> None:
    """A session answers to its role's ARN (and to its own session ARN); naming the account needs the
    session's identity policies."""
    first_name = unique("first")
    first = new_role(server, first_name, doc(trust_stmt("Allow", {"AWS": root_arn()})))  # no permissions
    session = server.client("sts").assume_role(RoleArn=first, RoleSessionName="one")
    session_arn = session["AssumedRoleUser"]["Arn"]
    creds = creds_of(session["Credentials"])
    by_role = new_role(server, unique("by-role"), doc(trust_stmt("Allow", {"AWS": first})))
    by_session = new_role(server, unique("by-session"), doc(trust_stmt("Allow", {"AWS": session_arn})))
    by_account = new_role(server, unique("by-account"), doc(trust_stmt("Allow", {"AWS": root_arn()})))
    prefix = new_role(
        server,
        unique("prefix"),
        doc(trust_stmt("Allow", {"AWS": root_arn()}), trust_stmt("Deny", {"AWS": f"{first}-2"})),
    )
    assert _assume(server, creds, by_role)
    assert _assume(server, creds, by_session)
    assert not _assume(server, creds, by_account)
    assert not _assume(server, creds, prefix)


def test_session_policy_limits_a_trust_naming_the_role(server: Server) -> None:
    """A trust naming the session's role ARN is limited by the session's policies (a trust naming the
    session ARN itself is not)."""
    first = new_role(server, unique("scoped"), doc(trust_stmt("Allow", {"AWS": root_arn()})))
    session = server.client("sts").assume_role(
        RoleArn=first, RoleSessionName="narrow", Policy=doc(allow("iam:GetUser"))
    )
    creds = creds_of(session["Credentials"])
    by_role = new_role(server, unique("by-role"), doc(trust_stmt("Allow", {"AWS": first})))
    by_session = new_role(
        server, unique("by-session"), doc(trust_stmt("Allow", {"AWS": session["AssumedRoleUser"]["Arn"]}))
    )
    assert not _assume(server, creds, by_role)
    assert _assume(server, creds, by_session)


CROSS_ACCOUNT_CASES = [
    ("user-arn-no-identity", "user", False, False),
    ("user-arn-identity-allows", "user", True, True),
    ("account-root-no-identity", "root", False, False),
    ("account-root-identity-allows", "root", True, True),
    ("account-id-identity-allows", "account-id", True, True),
    ("not-trusted-identity-allows", "nobody", True, False),
]


@pytest.mark.parametrize(
    ("trusts", "identity", "expected"), [c[1:] for c in CROSS_ACCOUNT_CASES], ids=[c[0] for c in CROSS_ACCOUNT_CASES]
)
def test_cross_account_matrix(server: Server, trusts: str, identity: bool, expected: bool) -> None:
    other_root = second_account(server, OTHER)
    name = unique("partner")
    caller_arn = f"arn:aws:iam::{OTHER}:user/{name}"
    role_name = unique("shared")
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"
    principal = {
        "user": caller_arn,
        "root": root_arn(OTHER),
        "account-id": OTHER,
        "nobody": root_arn("777788889999"),
    }[trusts]
    policies = [doc(allow("sts:AssumeRole", role_arn))] if identity else []
    _, creds = new_user(server, name, policies, account_creds=other_root)
    new_role(server, role_name, doc(trust_stmt("Allow", {"AWS": principal})))
    assert _assume(server, creds, role_arn) is expected


def test_cross_account_deny_in_callers_identity(server: Server) -> None:
    other_root = second_account(server, OTHER)
    name = unique("denied")
    caller_arn = f"arn:aws:iam::{OTHER}:user/{name}"
    role_name = unique("target")
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{role_name}"
    _, creds = new_user(
        server, name, [doc(allow("sts:AssumeRole"), deny("sts:AssumeRole", role_arn))], account_creds=other_root
    )
    new_role(server, role_name, doc(trust_stmt("Allow", {"AWS": caller_arn})))
    assert not _assume(server, creds, role_arn)


def test_trust_policy_with_not_principal_is_refused(server: Server) -> None:
    iam = server.client("iam")
    bad = doc(
        {"Effect": "Deny", "NotPrincipal": {"AWS": root_arn()}, "Action": "sts:AssumeRole"},
        trust_stmt("Allow", {"AWS": root_arn()}),
    )
    with pytest.raises(ClientError) as exc:
        iam.create_role(RoleName=unique("np"), AssumeRolePolicyDocument=bad)
    assert error(exc) == ("MalformedPolicyDocument", "Has prohibited field NotPrincipal")
    name = unique("np-update")
    new_role(server, name, doc(trust_stmt("Allow", {"AWS": root_arn()})))
    with pytest.raises(ClientError) as exc:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=bad)
    assert error(exc) == ("MalformedPolicyDocument", "Has prohibited field NotPrincipal")
