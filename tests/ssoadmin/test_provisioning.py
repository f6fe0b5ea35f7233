"""Account assignments and provisioning through boto3: the role IAM Identity Center writes in the
target account (seen through that account's IAM), its permissions (IAM's simulator on the role),
re-provisioning, failures, removal with the last assignment, statuses, and refusals."""

from __future__ import annotations

import json
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from ostiary.federation import saml
from tests.conftest import Server, create_account
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_group, add_user

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _doc(actions: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _assign(inst: Instance, ps: str, kind: str, principal: str, account: str | None = None) -> dict[str, Any]:
    return dict(
        inst.client("sso-admin").create_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=account or inst.account_id,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType=kind,
            PrincipalId=principal,
        )["AccountAssignmentCreationStatus"]
    )


def _unassign(inst: Instance, ps: str, kind: str, principal: str, account: str | None = None) -> dict[str, Any]:
    return dict(
        inst.client("sso-admin").delete_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=account or inst.account_id,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType=kind,
            PrincipalId=principal,
        )["AccountAssignmentDeletionStatus"]
    )


def _sso_roles(iam: Any) -> list[dict[str, Any]]:
    return list(iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"])


def _allowed(iam: Any, role_arn: str, action: str) -> bool:
    result = iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=[action])
    return bool(result["EvaluationResults"][0]["EvalDecision"] == "allowed")


def test_assignment_provisions_the_role(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ids = {"InstanceArn": inst.instance_arn}
    iam.create_policy(PolicyName="TeamLogs", Path="/team/", PolicyDocument=_doc("logs:Get*"))
    iam.create_policy(PolicyName="Limit", PolicyDocument=_doc("s3:*"))
    ps = admin.create_permission_set(**ids, Name="Dev", SessionDuration="PT4H")["PermissionSet"]["PermissionSetArn"]
    ids["PermissionSetArn"] = ps
    admin.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    admin.attach_customer_managed_policy_reference_to_permission_set(
        **ids, CustomerManagedPolicyReference={"Name": "TeamLogs", "Path": "/team/"}
    )
    admin.put_inline_policy_to_permission_set(**ids, InlinePolicy=_doc("s3:PutObject"))
    user = add_user(inst, "dev-user")

    status = _assign(inst, ps, "USER", user)
    assert status["Status"] == "SUCCEEDED" and "FailureReason" not in status
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", status["RequestId"])
    assert (status["TargetId"], status["PermissionSetArn"], status["PrincipalId"]) == (inst.account_id, ps, user)
    described = admin.describe_account_assignment_creation_status(
        InstanceArn=inst.instance_arn, AccountAssignmentCreationRequestId=status["RequestId"]
    )["AccountAssignmentCreationStatus"]
    assert described == status

    [role] = _sso_roles(iam)
    name = role["RoleName"]
    assert re.fullmatch(r"AWSReservedSSO_Dev_[0-9a-f]{16}", name)
    assert role["Path"] == "/aws-reserved/sso.amazonaws.com/"
    assert role["Arn"] == f"arn:aws:iam::{inst.account_id}:role/aws-reserved/sso.amazonaws.com/{name}"
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 4 * 3600
    trust = got["AssumeRolePolicyDocument"]
    trust = json.loads(unquote(trust)) if isinstance(trust, str) else trust
    [statement] = trust["Statement"]
    provider = statement["Principal"]["Federated"]
    assert re.fullmatch(rf"arn:aws:iam::{inst.account_id}:saml-provider/AWSSSO_[0-9a-f]{{16}}_DO_NOT_DELETE", provider)
    assert sorted(statement["Action"]) == ["sts:AssumeRoleWithSAML", "sts:TagSession"]
    assert statement["Condition"] == {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    assert provider in [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]]
    attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]}
    assert attached == {READ_ONLY, f"arn:aws:iam::{inst.account_id}:policy/team/TeamLogs"}
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["AwsSSOInlinePolicy"]

    # what the role may do is what the permission set says
    assert _allowed(iam, role["Arn"], "s3:PutObject")  # inline
    assert _allowed(iam, role["Arn"], "logs:GetLogEvents")  # customer managed
    assert _allowed(iam, role["Arn"], "ec2:DescribeInstances")  # ReadOnlyAccess
    assert not _allowed(iam, role["Arn"], "iam:CreateUser")

    # the role is IAM Identity Center's: IAM refuses to change it
    for call in (
        lambda: iam.delete_role(RoleName=name),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=_doc("*")),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"),
        lambda: iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust)),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "UnmodifiableEntity"

    # a permissions boundary limits it once re-provisioned
    admin.put_permissions_boundary_to_permission_set(
        **ids, PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "Limit"}}
    )
    assert admin.list_accounts_for_provisioned_permission_set(
        **ids, ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED"
    )["AccountIds"] == [inst.account_id]
    assert _allowed(iam, role["Arn"], "ec2:DescribeInstances")
    provisioned = admin.provision_permission_set(**ids, TargetId=inst.account_id, TargetType="AWS_ACCOUNT")[
        "PermissionSetProvisioningStatus"
    ]
    assert provisioned["Status"] == "SUCCEEDED" and provisioned["AccountId"] == inst.account_id
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(
        ":policy/Limit"
    )
    assert _allowed(iam, role["Arn"], "s3:PutObject")
    assert not _allowed(iam, role["Arn"], "ec2:DescribeInstances")
    assert admin.list_accounts_for_provisioned_permission_set(
        **ids, ProvisioningStatus="LATEST_PERMISSION_SET_PROVISIONED"
    )["AccountIds"] == [inst.account_id]
    assert admin.list_permission_sets_provisioned_to_account(InstanceArn=inst.instance_arn, AccountId=inst.account_id)[
        "PermissionSets"
    ] == [ps]


def test_reprovision_after_inline_change(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Ops")["PermissionSet"]["PermissionSetArn"]
    ids = {"InstanceArn": inst.instance_arn, "PermissionSetArn": ps}
    admin.put_inline_policy_to_permission_set(**ids, InlinePolicy=_doc("sqs:*"))
    group = add_group(inst, "ops", [])
    assert _assign(inst, ps, "GROUP", group)["Status"] == "SUCCEEDED"
    [role] = _sso_roles(iam)
    assert _allowed(iam, role["Arn"], "sqs:SendMessage") and not _allowed(iam, role["Arn"], "sns:Publish")

    admin.put_inline_policy_to_permission_set(**ids, InlinePolicy=_doc("sns:*"))
    admin.update_permission_set(**ids, SessionDuration="PT2H")
    # nothing changes in the account until the set is provisioned again
    assert _allowed(iam, role["Arn"], "sqs:SendMessage")
    assert admin.list_permission_sets_provisioned_to_account(
        InstanceArn=inst.instance_arn,
        AccountId=inst.account_id,
        ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED",
    )["PermissionSets"] == [ps]
    status = admin.provision_permission_set(**ids, TargetType="ALL_PROVISIONED_ACCOUNTS")[
        "PermissionSetProvisioningStatus"
    ]
    assert status["Status"] == "SUCCEEDED" and "AccountId" not in status
    again = admin.describe_permission_set_provisioning_status(
        InstanceArn=inst.instance_arn, ProvisionPermissionSetRequestId=status["RequestId"]
    )["PermissionSetProvisioningStatus"]
    assert again == status
    [same] = _sso_roles(iam)
    assert same["RoleName"] == role["RoleName"] and same["MaxSessionDuration"] == 7200
    assert same["RoleId"] == role["RoleId"]  # the same role: its sessions stay valid
    assert _allowed(iam, role["Arn"], "sns:Publish") and not _allowed(iam, role["Arn"], "sqs:SendMessage")
    listed = admin.list_permission_set_provisioning_status(InstanceArn=inst.instance_arn)[
        "PermissionSetsProvisioningStatus"
    ]
    assert [s["RequestId"] for s in listed] == [status["RequestId"]]
    assert listed[0]["Status"] == "SUCCEEDED"


def test_missing_customer_policy_fails_and_changes_nothing(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Needs")["PermissionSet"]["PermissionSetArn"]
    ids = {"InstanceArn": inst.instance_arn, "PermissionSetArn": ps}
    admin.attach_customer_managed_policy_reference_to_permission_set(
        **ids, CustomerManagedPolicyReference={"Name": "Absent"}
    )
    user = add_user(inst, "needs-user")
    status = _assign(inst, ps, "USER", user)
    assert status["Status"] == "FAILED"
    assert f"arn:aws:iam::{inst.account_id}:policy/Absent" in status["FailureReason"]
    assert _sso_roles(iam) == []
    assert admin.list_account_assignments(**ids, AccountId=inst.account_id)["AccountAssignments"] == []
    failed = admin.list_account_assignment_creation_status(InstanceArn=inst.instance_arn, Filter={"Status": "FAILED"})
    assert [s["RequestId"] for s in failed["AccountAssignmentsCreationStatus"]] == [status["RequestId"]]
    assert (
        admin.list_account_assignment_creation_status(InstanceArn=inst.instance_arn, Filter={"Status": "SUCCEEDED"})[
            "AccountAssignmentsCreationStatus"
        ]
        == []
    )
    # once the policy exists, the same assignment succeeds
    iam.create_policy(PolicyName="Absent", PolicyDocument=_doc("s3:ListBucket"))
    assert _assign(inst, ps, "USER", user)["Status"] == "SUCCEEDED"
    [role] = _sso_roles(iam)
    assert _allowed(iam, role["Arn"], "s3:ListBucket")


def test_last_assignment_removes_the_role(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Shared")["PermissionSet"]["PermissionSetArn"]
    ids = {"InstanceArn": inst.instance_arn, "PermissionSetArn": ps}
    admin.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    users = [add_user(inst, f"u{i}") for i in range(3)]
    for user in users:
        assert _assign(inst, ps, "USER", user)["Status"] == "SUCCEEDED"
    assert len(_sso_roles(iam)) == 1
    # paging of the assignments
    listed: list[str] = []
    kwargs: dict[str, Any] = {**ids, "AccountId": inst.account_id, "MaxResults": 2}
    while True:
        page = admin.list_account_assignments(**kwargs)
        listed += [a["PrincipalId"] for a in page["AccountAssignments"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert sorted(listed) == sorted(users)
    for_user = admin.list_account_assignments_for_principal(
        InstanceArn=inst.instance_arn, PrincipalType="USER", PrincipalId=users[0]
    )["AccountAssignments"]
    assert for_user == [
        {"AccountId": inst.account_id, "PermissionSetArn": ps, "PrincipalType": "USER", "PrincipalId": users[0]}
    ]

    with pytest.raises(ClientError) as err:
        admin.delete_permission_set(**ids)
    assert _code(err) == "ConflictException"

    for user in users[:2]:
        assert _unassign(inst, ps, "USER", user)["Status"] == "SUCCEEDED"
        assert len(_sso_roles(iam)) == 1
    last = _unassign(inst, ps, "USER", users[2])
    assert last["Status"] == "SUCCEEDED"
    assert (
        admin.describe_account_assignment_deletion_status(
            InstanceArn=inst.instance_arn, AccountAssignmentDeletionRequestId=last["RequestId"]
        )["AccountAssignmentDeletionStatus"]
        == last
    )
    assert _sso_roles(iam) == []
    assert len(iam.list_saml_providers()["SAMLProviderList"]) == 1  # the provider stays
    assert admin.list_accounts_for_provisioned_permission_set(**ids)["AccountIds"] == []
    deleted = admin.list_account_assignment_deletion_status(InstanceArn=inst.instance_arn, MaxResults=2)
    assert len(deleted["AccountAssignmentsDeletionStatus"]) == 2 and "NextToken" in deleted
    # deleting an assignment that does not exist fails
    failed = _unassign(inst, ps, "USER", users[0])
    assert failed["Status"] == "FAILED"
    # every deletion request, page by page, in the order they were made
    seen: list[str] = []
    kwargs = {"InstanceArn": inst.instance_arn, "MaxResults": 1}
    while True:
        page = admin.list_account_assignment_deletion_status(**kwargs)
        seen += [s["RequestId"] for s in page["AccountAssignmentsDeletionStatus"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert len(seen) == 4 and seen[2:] == [last["RequestId"], failed["RequestId"]]
    admin.delete_permission_set(**ids)


def test_refusals(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Admin")["PermissionSet"]["PermissionSetArn"]
    admin.attach_managed_policy_to_permission_set(
        InstanceArn=inst.instance_arn,
        PermissionSetArn=ps,
        ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess",
    )
    user = add_user(inst, "mallory")

    # an account that is not in the instance owner's organization: no role is written there
    victim = create_account(server, "victim-" + secrets.token_hex(3))
    victim_iam = server.client("iam", **victim)
    victim_id = server.client("sts", **victim).get_caller_identity()["Account"]
    status = _assign(inst, ps, "USER", user, account=victim_id)
    assert status["Status"] == "FAILED" and victim_id in status["FailureReason"]
    assert _sso_roles(victim_iam) == [] and victim_iam.list_saml_providers()["SAMLProviderList"] == []
    status = admin.provision_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps, TargetId=victim_id, TargetType="AWS_ACCOUNT"
    )["PermissionSetProvisioningStatus"]
    assert status["Status"] == "FAILED"
    assert _sso_roles(victim_iam) == []

    # an account that does not exist
    assert _assign(inst, ps, "USER", user, account="999999999999")["Status"] == "FAILED"
    # a principal that is not in the instance's directory (another instance's user)
    other = new_instance(server)
    stranger = add_user(other, "stranger")
    status = _assign(inst, ps, "USER", stranger)
    assert status["Status"] == "FAILED" and stranger in status["FailureReason"]
    assert _sso_roles(inst.client("iam")) == []

    # another account's instance and permission set are not found
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").create_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=other.account_id,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType="USER",
            PrincipalId=stranger,
        )
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        other.client("sso-admin").describe_account_assignment_creation_status(
            InstanceArn=inst.instance_arn, AccountAssignmentCreationRequestId=status["RequestId"]
        )
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        admin.describe_permission_set_provisioning_status(
            InstanceArn=inst.instance_arn, ProvisionPermissionSetRequestId=status["RequestId"]
        )
    assert _code(err) == "ResourceNotFoundException"  # a creation request is not a provisioning request

    # an IAM user of the owner account without sso: permissions is denied
    iam = inst.client("iam")
    iam.create_user(UserName="no-sso")
    key = iam.create_access_key(UserName="no-sso")["AccessKey"]
    plain = server.client(
        "sso-admin", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    with pytest.raises(ClientError) as err:
        plain.create_account_assignment(
            InstanceArn=inst.instance_arn,
            TargetId=inst.account_id,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=ps,
            PrincipalType="USER",
            PrincipalId=user,
        )
    assert _code(err) == "AccessDeniedException"


def test_deleting_the_instance_removes_its_roles(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Gone", Tags=[{"Key": "k", "Value": "v"}])[
        "PermissionSet"
    ]["PermissionSetArn"]
    admin.put_inline_policy_to_permission_set(
        InstanceArn=inst.instance_arn, PermissionSetArn=ps, InlinePolicy=_doc("s3:*")
    )
    assert _assign(inst, ps, "USER", add_user(inst, "leaving"))["Status"] == "SUCCEEDED"
    assert len(_sso_roles(iam)) == 1
    admin.delete_instance(InstanceArn=inst.instance_arn)
    assert _sso_roles(iam) == []
    assert admin.list_instances()["Instances"] == []


def test_role_path_names_the_region_outside_us_east_1(server_factory: Any) -> None:
    srv = server_factory(env={"OSTIARY_REGION": "eu-west-1"})
    inst = new_instance(srv)
    admin = inst.client("sso-admin", region_name="eu-west-1")
    iam = inst.client("iam", region_name="eu-west-1")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Eu")["PermissionSet"]["PermissionSetArn"]
    assert _assign(inst, ps, "USER", add_user(inst, "eu-user"))["Status"] == "SUCCEEDED"
    [role] = _sso_roles(iam)
    assert role["Path"] == "/aws-reserved/sso.amazonaws.com/eu-west-1/"
    assert role["Arn"].endswith(f":role/aws-reserved/sso.amazonaws.com/eu-west-1/{role['RoleName']}")


def test_saml_provider_holds_the_instance_idp_metadata(server: Server) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Meta")["PermissionSet"]["PermissionSetArn"]
    assert _assign(inst, ps, "USER", add_user(inst, "meta-user"))["Status"] == "SUCCEEDED"
    [provider] = iam.list_saml_providers()["SAMLProviderList"]
    document = iam.get_saml_provider(SAMLProviderArn=provider["Arn"])["SAMLMetadataDocument"]
    metadata = saml.parse_metadata(document)  # an IdP with a signing certificate, as STS verifies it
    assert metadata.certificates and metadata.entity_id
    assert inst.identity_store_id in metadata.entity_id


def test_concurrent_assignments_make_one_role(server: Server) -> None:
    inst = new_instance(server)
    admin = inst.client("sso-admin")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Busy")["PermissionSet"]["PermissionSetArn"]
    users = [add_user(inst, f"busy{i}") for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda u: _assign(inst, ps, "USER", u), users))
    assert [s["Status"] for s in statuses] == ["SUCCEEDED"] * 6
    assert len(_sso_roles(inst.client("iam"))) == 1
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(lambda u: _unassign(inst, ps, "USER", u), users))
    assert [s["Status"] for s in statuses] == ["SUCCEEDED"] * 6
    assert _sso_roles(inst.client("iam")) == []
