"""The seed scenario end to end with boto3: a user signs in to a user pool, trades the ID token for
an identity and AWS credentials, and those credentials are allowed exactly where the role policy —
written with ${cognito-identity.amazonaws.com:sub} and :aud — allows, and denied elsewhere."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.identitypools.conftest import REGION, err, session_client, wire

HOME = f"arn:aws:iam::{ACCOUNT_ID}:role/home/${{cognito-identity.amazonaws.com:sub}}/*"
OWN_POOL = f"arn:aws:cognito-identity:{REGION}:{ACCOUNT_ID}:identitypool/${{cognito-identity.amazonaws.com:aud}}"


def _home_role(server: Server, identity_id: str) -> str:
    """A role under the identity's own path, assumable by principals of the account whose own
    policies allow it (the trust policy names the account, not the caller)."""
    iam = server.client("iam")
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    name = "home-" + secrets.token_hex(4)
    arn: str = iam.create_role(RoleName=name, Path=f"/home/{identity_id}/", AssumeRolePolicyDocument=json.dumps(doc))[
        "Role"
    ]["Arn"]
    return arn


def test_user_pool_sign_in_to_scoped_aws_credentials(server: Server) -> None:
    w = wire(
        server,
        auth_statements=[
            {"Effect": "Allow", "Action": "cognito-identity:DescribeIdentityPool", "Resource": OWN_POOL},
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": HOME},
        ],
    )
    other_pool = w.ci.create_identity_pool(IdentityPoolName="other", AllowUnauthenticatedIdentities=False)[
        "IdentityPoolId"
    ]

    # 1. sign in to the user pool (InitiateAuth USER_PASSWORD_AUTH)
    _, alice_tokens = w.user("alice-" + secrets.token_hex(3))
    _, bob_tokens = w.user("bob-" + secrets.token_hex(3))

    # 2. GetId with the ID token: the same login always gives the same identity
    alice = w.identity_for(alice_tokens["IdToken"])
    assert alice.startswith(f"{REGION}:")
    assert w.identity_for(alice_tokens["IdToken"]) == alice
    bob = w.identity_for(bob_tokens["IdToken"])
    assert bob != alice

    # 3. GetCredentialsForIdentity: a one-hour session of the authenticated role
    out = w.credentials(alice, alice_tokens["IdToken"])
    assert out["IdentityId"] == alice
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    left = creds["Expiration"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=55) < left <= dt.timedelta(hours=1, seconds=5)

    # 4. signed calls with those credentials
    sts = session_client(server, "sts", creds)
    role_name = w.auth_role.rsplit("/", 1)[-1]
    caller = sts.get_caller_identity()
    assert caller["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/CognitoIdentityCredentials"
    assert caller["Account"] == ACCOUNT_ID

    ci = session_client(server, "cognito-identity", creds)
    assert ci.describe_identity_pool(IdentityPoolId=w.pool_id)["IdentityPoolId"] == w.pool_id  # its own pool
    with pytest.raises(ClientError) as exc:
        ci.describe_identity_pool(IdentityPoolId=other_pool)
    code, message = err(exc)
    assert code == "AccessDeniedException"
    assert "cognito-identity:DescribeIdentityPool" in message and other_pool in message
    with pytest.raises(ClientError) as exc:
        ci.list_identity_pools(MaxResults=10)
    assert err(exc)[0] == "AccessDeniedException"

    # the identity's own "home" role may be assumed, another identity's may not
    own_home = _home_role(server, alice)
    bobs_home = _home_role(server, bob)
    chained = sts.assume_role(RoleArn=own_home, RoleSessionName="alice")["AssumedRoleUser"]
    assert chained["Arn"].endswith(f"/{own_home.rsplit('/', 1)[-1]}/alice")
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=bobs_home, RoleSessionName="alice")
    assert err(exc)[0] == "AccessDenied"

    # Bob's credentials: the mirror image
    bob_creds = w.credentials(bob, bob_tokens["IdToken"])["Credentials"]
    bob_sts = session_client(server, "sts", bob_creds)
    bob_sts.assume_role(RoleArn=bobs_home, RoleSessionName="bob")
    with pytest.raises(ClientError) as exc:
        bob_sts.assume_role(RoleArn=own_home, RoleSessionName="bob")
    assert err(exc)[0] == "AccessDenied"

    # the identity now lists its login
    described = w.ci.describe_identity(IdentityId=alice)
    assert described["Logins"] == [w.provider]
