"""Revoking older sessions with aws:TokenIssueTime (issue 10, item 7).

AWS's console revokes a role's active sessions by attaching this inline policy, named
AWSRevokeOlderSessions, to the role (IAM User Guide, "Revoking IAM role temporary security
credentials"):

    {"Effect": "Deny", "Action": ["*"], "Resource": ["*"],
     "Condition": {"DateLessThan": {"aws:TokenIssueTime": "<time of revocation>"}}}

Credentials issued before that time are denied; newer ones work. Long-term access keys have no
aws:TokenIssueTime, so the condition (not ...IfExists) does not match them.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION, Server
from tests.security._authz_helpers import (
    allow,
    client,
    creds_of,
    doc,
    error,
    new_role,
    new_user,
    root_arn,
    trust_stmt,
    unique,
)

POOLS = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT_ID}:userpool/*"


def _revoke_policy(cutoff: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Action": ["*"],
                    "Resource": ["*"],
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}},
                }
            ],
        }
    )


def _next_second() -> str:
    """Wait past the next whole second; that second as an ISO time (every credential issued before
    this call has an earlier aws:TokenIssueTime, every one issued after a later or equal one)."""
    now = time.time()
    boundary = int(now) + 1
    time.sleep(max(0.0, boundary - now) + 0.05)
    return dt.datetime.fromtimestamp(boundary, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _lists_pools(server: Server, creds: dict[str, Any]) -> bool:
    try:
        client(server, "cognito-idp", creds).list_user_pools(MaxResults=1)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "AccessDeniedException", err.response
        return False
    return True


def test_revoke_older_role_sessions(server: Server) -> None:
    iam = server.client("iam")
    name = unique("revocable")
    role = new_role(server, name, doc(trust_stmt("Allow", {"AWS": root_arn()})), [doc(allow("cognito-idp:*"))])
    sts = server.client("sts")
    old = sts.assume_role(RoleArn=role, RoleSessionName="before")
    cutoff = _next_second()
    iam.put_role_policy(RoleName=name, PolicyName="AWSRevokeOlderSessions", PolicyDocument=_revoke_policy(cutoff))
    new = sts.assume_role(RoleArn=role, RoleSessionName="after")

    with pytest.raises(ClientError) as exc:
        client(server, "cognito-idp", creds_of(old["Credentials"])).list_user_pools(MaxResults=1)
    assert error(exc) == (
        "AccessDeniedException",
        f"User: {old['AssumedRoleUser']['Arn']} is not authorized to perform: cognito-idp:ListUserPools "
        f"on resource: {POOLS} with an explicit deny in an identity-based policy",
    )
    assert _lists_pools(server, creds_of(new["Credentials"]))
    # a session chained from a revoked one is still made after the cutoff: it works
    assert client(server, "sts", creds_of(new["Credentials"])).get_caller_identity()["Arn"].endswith("/after")


def test_long_term_keys_have_no_token_issue_time(server: Server) -> None:
    """The same policy on an IAM user: its access keys keep working (DateLessThan on an absent key does
    not match), its GetSessionToken credentials issued before the cutoff stop working."""
    name = unique("keyholder")
    _, creds = new_user(server, name, [doc(allow("cognito-idp:*"))])
    session = client(server, "sts", creds).get_session_token()["Credentials"]
    cutoff = _next_second()
    server.client("iam").put_user_policy(
        UserName=name, PolicyName="AWSRevokeOlderSessions", PolicyDocument=_revoke_policy(cutoff)
    )
    assert _lists_pools(server, creds)
    assert not _lists_pools(server, creds_of(session))
    fresh = client(server, "sts", creds).get_session_token()["Credentials"]
    assert _lists_pools(server, creds_of(fresh))


def test_token_issue_time_is_the_issue_time(server: Server) -> None:
    """aws:TokenIssueTime is the time the credentials were issued (not the time of the request):
    a condition pinning it to a window around the issue succeeds, a window in the past fails."""
    issued_before = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=1)
    role_ok = new_role(
        server,
        unique("window"),
        doc(trust_stmt("Allow", {"AWS": root_arn()})),
        [
            doc(
                allow(
                    "cognito-idp:*",
                    DateGreaterThanEquals={"aws:TokenIssueTime": issued_before.strftime("%Y-%m-%dT%H:%M:%SZ")},
                )
            )
        ],
    )
    role_past = new_role(
        server,
        unique("past"),
        doc(trust_stmt("Allow", {"AWS": root_arn()})),
        [doc(allow("cognito-idp:*", DateLessThan={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}))],
    )
    sts = server.client("sts")
    ok = sts.assume_role(RoleArn=role_ok, RoleSessionName="in-window")["Credentials"]
    past = sts.assume_role(RoleArn=role_past, RoleSessionName="too-late")["Credentials"]
    assert _lists_pools(server, creds_of(ok))
    assert not _lists_pools(server, creds_of(past))
