"""SCPs bind IAM Identity Center's role sessions in a member account too: a directory user's
credentials from the portal API (GetRoleCredentials of an ``AWSReservedSSO_…`` role provisioned into a
member account of the instance owner's organization) are limited by the member account's SCPs."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ostiary.store.db import Store
from tests.conftest import Server
from tests.organizations.conftest import error
from tests.ssoadmin.conftest import new_instance
from tests.ssoadmin.directory import add_user
from tests.ssooidc.conftest import oidc, store  # noqa: F401 - fixtures
from tests.ssooidc.helpers import ACCOUNT_ACCESS, device_tokens

READS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}
)
NO_USERS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}]}
)


def test_scp_limits_identity_center_sessions(oidc: Any, server: Server, store: Store) -> None:  # noqa: F811
    inst = new_instance(server, "scp")
    orgs = inst.client("organizations")
    orgs.create_organization()
    member = orgs.create_account(Email=f"{secrets.token_hex(4)}@example.com", AccountName="workload")[
        "CreateAccountStatus"
    ]["AccountId"]
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Reader")["PermissionSet"]["PermissionSetArn"]
    admin.put_inline_policy_to_permission_set(InstanceArn=inst.instance_arn, PermissionSetArn=ps, InlinePolicy=READS)
    alice = add_user(inst, "scp-alice")
    status = admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId=member,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=alice,
    )["AccountAssignmentCreationStatus"]
    assert status["Status"] == "SUCCEEDED", status
    _, got = device_tokens(oidc, server, inst, store, alice, scopes=[ACCOUNT_ACCESS])
    creds = server.client("sso").get_role_credentials(
        accessToken=got["accessToken"], accountId=member, roleName="Reader"
    )["roleCredentials"]
    iam = server.client(
        "iam",
        aws_access_key_id=creds["accessKeyId"],
        aws_secret_access_key=creds["secretAccessKey"],
        aws_session_token=creds["sessionToken"],
    )
    iam.list_users()
    policy = orgs.create_policy(Content=NO_USERS, Description="", Name="NoUserList", Type="SERVICE_CONTROL_POLICY")
    orgs.attach_policy(PolicyId=policy["Policy"]["PolicySummary"]["Id"], TargetId=member)
    with pytest.raises(ClientError) as exc:
        iam.list_users()
    code, message = error(exc)
    assert code == "AccessDenied"
    assert f"arn:aws:sts::{member}:assumed-role/AWSReservedSSO_Reader_" in message
    assert message.endswith("with an explicit deny in a service control policy")
    iam.list_roles()  # what the SCP does not deny, the permission set still grants
