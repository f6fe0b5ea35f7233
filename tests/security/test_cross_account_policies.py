"""Cross-account managed policies (issue 10, item 4).

A customer managed policy belongs to its account. Another account can neither attach it (to a
user, group or role, or as a permissions boundary), nor name it in an STS session's PolicyArns,
nor read, change or simulate it; to that account it is indistinguishable from a policy that does
not exist (IAM: NoSuchEntity 404 "Policy <arn> does not exist or is not attachable." where the ARN is
an input of an operation on the caller's own entity; AccessDenied where the ARN is the resource).
Rows that point at another account's policy (written before this was enforced) are never evaluated:
not by the authorizer, not by the simulator. AWS managed policies (``arn:aws:iam::aws:policy/…``)
stay attachable by every account, and their usage counts are per account.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError

from ostiary.crypto.secrets import SecretBox
from ostiary.store import tables as t
from tests.conftest import ACCOUNT_ID, Server, create_account, make_client
from tests.stored_sessions import insert_stored_role_session

OTHER = "345678901234"  # the victim account, whose policy the caller (ACCOUNT_ID) reaches for
MARKER = "aws:PrincipalTag/victim-only-marker"
# allows everything, and carries a condition key only this document mentions
VICTIM_DOCUMENT = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "VictimAllowsAll", "Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Action": "iam:DeleteAccountAlias",
                "Resource": "*",
                "Condition": {"StringEquals": {MARKER: "x"}},
            },
        ],
    }
)
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
AWS_READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


@dataclass
class World:
    server: Server
    other_keys: dict[str, str]
    victim_arn: str  # the other account's customer managed policy
    missing_arn: str  # a policy ARN of the other account that names nothing

    def iam(self, **kw: Any) -> Any:
        return self.server.client("iam", **kw)

    def other(self, service: str) -> Any:
        return make_client(self.server.url, service, **self.other_keys)

    @contextmanager
    def db(self) -> Iterator[sa.Connection]:
        """One transaction on the server's database; the engine is disposed after it (no pooled connection leaks)."""
        engine = sa.create_engine(self.server.database_url)
        try:
            with engine.begin() as conn:
                yield conn
        finally:
            engine.dispose()


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


def _trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
    )


def _creds(c: dict[str, Any]) -> dict[str, str]:
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


@pytest.fixture(scope="module")
def world(server_factory: Any) -> World:
    server: Server = server_factory()
    keys = create_account(server, "victim", OTHER)
    other_iam = make_client(server.url, "iam", **keys)
    victim = other_iam.create_policy(PolicyName="victim-secret", PolicyDocument=VICTIM_DOCUMENT)["Policy"]["Arn"]
    assert victim == f"arn:aws:iam::{OTHER}:policy/victim-secret"
    # a version besides the default one, and tags, so that every policy operation has something to touch
    other_iam.create_policy_version(PolicyArn=victim, PolicyDocument=VICTIM_DOCUMENT)
    other_iam.tag_policy(PolicyArn=victim, Tags=[{"Key": "owner", "Value": "victim"}])
    return World(server, keys, victim, f"arn:aws:iam::{OTHER}:policy/no-such-policy")


def _not_attachable(arn: str) -> tuple[str, str, int]:
    return "NoSuchEntity", f"Policy {arn} does not exist or is not attachable.", 404


def _same_as_missing(world: World, call: Any) -> None:
    """``call(arn)`` fails for the other account's policy exactly as for a policy that does not exist."""
    with pytest.raises(ClientError) as real:
        call(world.victim_arn)
    with pytest.raises(ClientError) as missing:
        call(world.missing_arn)
    code, message, status = _err(real)
    assert (code, message.replace(world.victim_arn, "<arn>"), status) == (
        _err(missing)[0],
        _err(missing)[1].replace(world.missing_arn, "<arn>"),
        _err(missing)[2],
    )
    assert "victim-secret" not in message.replace(world.victim_arn, "") and MARKER not in message


# --- attaching --------------------------------------------------------------------------------------


def test_attach_another_accounts_policy_is_refused(world: World) -> None:
    iam = world.iam()
    iam.create_user(UserName="att-user")
    iam.create_group(GroupName="att-group")
    iam.create_role(RoleName="att-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    calls = {
        "user": lambda arn: iam.attach_user_policy(UserName="att-user", PolicyArn=arn),
        "group": lambda arn: iam.attach_group_policy(GroupName="att-group", PolicyArn=arn),
        "role": lambda arn: iam.attach_role_policy(RoleName="att-role", PolicyArn=arn),
    }
    for call in calls.values():
        with pytest.raises(ClientError) as exc:
            call(world.victim_arn)
        assert _err(exc) == _not_attachable(world.victim_arn)
        _same_as_missing(world, call)
    assert iam.list_attached_user_policies(UserName="att-user")["AttachedPolicies"] == []
    assert iam.list_attached_group_policies(GroupName="att-group")["AttachedPolicies"] == []
    assert iam.list_attached_role_policies(RoleName="att-role")["AttachedPolicies"] == []
    # the owner sees no entity of ours
    entities = world.other("iam").list_entities_for_policy(PolicyArn=world.victim_arn)
    assert entities["PolicyUsers"] == entities["PolicyGroups"] == entities["PolicyRoles"] == []
    assert world.other("iam").get_policy(PolicyArn=world.victim_arn)["Policy"]["AttachmentCount"] == 0
    # AWS managed policies stay attachable, to every kind of entity
    for call in calls.values():
        call(AWS_READ_ONLY)
    assert iam.list_attached_user_policies(UserName="att-user")["AttachedPolicies"] == [
        {"PolicyName": "ReadOnlyAccess", "PolicyArn": AWS_READ_ONLY}
    ]


def test_another_accounts_policy_cannot_be_a_permissions_boundary(world: World) -> None:
    iam = world.iam()
    iam.create_user(UserName="pb-user")
    iam.create_role(RoleName="pb-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    calls = [
        lambda arn: iam.put_user_permissions_boundary(UserName="pb-user", PermissionsBoundary=arn),
        lambda arn: iam.put_role_permissions_boundary(RoleName="pb-role", PermissionsBoundary=arn),
        lambda arn: iam.create_user(UserName="pb-new-user", PermissionsBoundary=arn),
        lambda arn: iam.create_role(
            RoleName="pb-new-role",
            AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"),
            PermissionsBoundary=arn,
        ),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call(world.victim_arn)
        assert _err(exc) == _not_attachable(world.victim_arn)
        _same_as_missing(world, call)
    assert "PermissionsBoundary" not in iam.get_user(UserName="pb-user")["User"]
    assert "PermissionsBoundary" not in iam.get_role(RoleName="pb-role")["Role"]
    for call in (lambda: iam.get_user(UserName="pb-new-user"), lambda: iam.get_role(RoleName="pb-new-role")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc)[0] == "NoSuchEntity"
    assert world.other("iam").get_policy(PolicyArn=world.victim_arn)["Policy"]["PermissionsBoundaryUsageCount"] == 0
    # an AWS managed policy is still a valid boundary
    iam.put_user_permissions_boundary(UserName="pb-user", PermissionsBoundary=AWS_READ_ONLY)
    assert iam.get_user(UserName="pb-user")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == AWS_READ_ONLY


# --- STS session policies ------------------------------------------------------------------------


def test_session_policy_arns_of_another_account_are_refused(world: World) -> None:
    iam = world.iam()
    iam.create_role(RoleName="sess-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.put_role_policy(RoleName="sess-role", PolicyName="all", PolicyDocument=ALLOW_ALL)
    role = f"arn:aws:iam::{ACCOUNT_ID}:role/sess-role"
    sts = world.server.client("sts")

    def assume(arn: str) -> Any:
        return sts.assume_role(RoleArn=role, RoleSessionName="sess", PolicyArns=[{"arn": arn}])

    def federate(arn: str) -> Any:
        return sts.get_federation_token(Name="fed", PolicyArns=[{"arn": arn}])

    for call in (assume, federate):
        with pytest.raises(ClientError) as exc:
            call(world.victim_arn)
        assert _err(exc) == _not_attachable(world.victim_arn)
        _same_as_missing(world, call)
    # AWS managed policies remain usable as session policies
    assert assume(AWS_READ_ONLY)["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert federate(AWS_READ_ONLY)["Credentials"]["AccessKeyId"].startswith("ASIA")
    # a caller the role does not trust learns nothing of the role account's policies: PolicyArns
    # are looked at only once the caller may assume the role
    own = iam.create_policy(PolicyName="own-session", PolicyDocument=ALLOW_ALL)["Policy"]["Arn"]
    stranger = world.other("sts")
    outcomes = []
    for arn in (own, f"arn:aws:iam::{ACCOUNT_ID}:policy/no-such-session-policy"):
        with pytest.raises(ClientError) as exc:
            stranger.assume_role(RoleArn=role, RoleSessionName="probe", PolicyArns=[{"arn": arn}])
        outcomes.append(_err(exc))
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == "AccessDenied"


def test_web_identity_session_policy_arns_of_another_account_are_refused(world: World) -> None:
    """AssumeRoleWithWebIdentity (and AssumeRoleWithSAML, which shares the path) with a token of an
    identity pool's basic flow: the policy ARNs must be of the role's account."""
    ci = world.server.client("cognito-identity")
    pool = ci.create_identity_pool(
        IdentityPoolName="xacct", AllowUnauthenticatedIdentities=True, AllowClassicFlow=True
    )["IdentityPoolId"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": pool}},
            }
        ],
    }
    role = world.iam().create_role(RoleName="web-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    identity = ci.get_id(IdentityPoolId=pool)["IdentityId"]
    token = ci.get_open_id_token(IdentityId=identity)["Token"]
    sts = world.server.client("sts")

    def assume(arn: str) -> Any:
        return sts.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="web", WebIdentityToken=token, PolicyArns=[{"arn": arn}]
        )

    with pytest.raises(ClientError) as exc:
        assume(world.victim_arn)
    assert _err(exc) == _not_attachable(world.victim_arn)
    _same_as_missing(world, assume)
    assert assume(AWS_READ_ONLY)["Credentials"]["AccessKeyId"].startswith("ASIA")


# --- reading and changing the other account's policy ------------------------------------------------


def test_policy_operations_on_another_accounts_policy_leak_nothing(world: World) -> None:
    iam = world.iam()
    iam.create_user(UserName="admin-a")
    iam.attach_user_policy(UserName="admin-a", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    key = iam.create_access_key(UserName="admin-a")["AccessKey"]
    admin = world.iam(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    for client in (iam, admin):  # the account root, and a user allowed everything in its account
        calls = [
            lambda arn, c=client: c.get_policy(PolicyArn=arn),
            lambda arn, c=client: c.get_policy_version(PolicyArn=arn, VersionId="v1"),
            lambda arn, c=client: c.list_policy_versions(PolicyArn=arn),
            lambda arn, c=client: c.list_entities_for_policy(PolicyArn=arn),
            lambda arn, c=client: c.list_policy_tags(PolicyArn=arn),
            lambda arn, c=client: c.tag_policy(PolicyArn=arn, Tags=[{"Key": "owner", "Value": "mallory"}]),
            lambda arn, c=client: c.untag_policy(PolicyArn=arn, TagKeys=["owner"]),
            lambda arn, c=client: c.create_policy_version(PolicyArn=arn, PolicyDocument=ALLOW_ALL, SetAsDefault=True),
            lambda arn, c=client: c.set_default_policy_version(PolicyArn=arn, VersionId="v2"),
            lambda arn, c=client: c.delete_policy_version(PolicyArn=arn, VersionId="v1"),
            lambda arn, c=client: c.delete_policy(PolicyArn=arn),
        ]
        for call in calls:
            with pytest.raises(ClientError) as exc:
                call(world.victim_arn)
            code, message, status = _err(exc)
            assert (code, status) == ("AccessDenied", 403), message
            _same_as_missing(world, call)
    # the caller's own listings never show it
    names = [p["PolicyName"] for p in iam.list_policies(Scope="All")["Policies"]]
    assert "victim-secret" not in names
    details = iam.get_account_authorization_details()
    assert all(p["Arn"] != world.victim_arn for p in details["Policies"])
    # and the policy is untouched
    owner = world.other("iam")
    policy = owner.get_policy(PolicyArn=world.victim_arn)["Policy"]
    assert policy["DefaultVersionId"] == "v1"
    assert [v["VersionId"] for v in owner.list_policy_versions(PolicyArn=world.victim_arn)["Versions"]] == ["v2", "v1"]
    assert owner.list_policy_tags(PolicyArn=world.victim_arn)["Tags"] == [{"Key": "owner", "Value": "victim"}]


def test_aws_managed_policy_usage_is_counted_per_account(world: World) -> None:
    """AttachmentCount and PermissionsBoundaryUsageCount of an AWS managed policy, and ListPolicies'
    OnlyAttached, count only the caller's own account (another account's usage is its business)."""
    arn = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    owner = world.other("iam")
    before = owner.get_policy(PolicyArn=arn)["Policy"]
    assert before["AttachmentCount"] == before["PermissionsBoundaryUsageCount"] == 0
    iam = world.iam()
    iam.create_user(UserName="counted", PermissionsBoundary=arn)
    iam.attach_user_policy(UserName="counted", PolicyArn=arn)
    mine = iam.get_policy(PolicyArn=arn)["Policy"]
    assert mine["AttachmentCount"] == 1 and mine["PermissionsBoundaryUsageCount"] == 1
    theirs = owner.get_policy(PolicyArn=arn)["Policy"]
    assert theirs["AttachmentCount"] == 0 and theirs["PermissionsBoundaryUsageCount"] == 0
    assert arn not in [p["Arn"] for p in owner.list_policies(OnlyAttached=True)["Policies"]]
    assert arn in [p["Arn"] for p in iam.list_policies(OnlyAttached=True)["Policies"]]
    assert all(
        p["Arn"] != arn for p in owner.get_account_authorization_details(Filter=["AWSManagedPolicy"])["Policies"]
    )
    entities = owner.list_entities_for_policy(PolicyArn=arn)
    assert entities["PolicyUsers"] == entities["PolicyGroups"] == entities["PolicyRoles"] == []


# --- rows written before the fix: never evaluated ---------------------------------------------------


def _legacy_attach(world: World, kind: str, key: str) -> None:
    with world.db() as conn:
        conn.execute(
            sa.insert(t.iam_attachments).values(
                account_id=ACCOUNT_ID, principal_type=kind, principal_key=key, policy_arn=world.victim_arn
            )
        )


def _legacy_boundary(world: World, table: sa.Table, key: str) -> None:
    with world.db() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.account_id == ACCOUNT_ID, table.c.name_key == key)
            .values(permissions_boundary=world.victim_arn)
        )


def _user_client(world: World, name: str) -> Any:
    key = world.iam().create_access_key(UserName=name)["AccessKey"]
    return world.iam(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def test_a_legacy_attachment_to_another_accounts_policy_grants_nothing(world: World) -> None:
    iam = world.iam()
    iam.create_user(UserName="legacy-user")
    iam.create_user(UserName="legacy-member")
    iam.create_group(GroupName="legacy-group")
    iam.add_user_to_group(GroupName="legacy-group", UserName="legacy-member")
    iam.create_role(RoleName="legacy-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    _legacy_attach(world, "user", "legacy-user")
    _legacy_attach(world, "group", "legacy-group")
    _legacy_attach(world, "role", "legacy-role")
    creds = world.server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/legacy-role", RoleSessionName="legacy"
    )["Credentials"]
    callers = {
        "user": _user_client(world, "legacy-user"),
        "group member": _user_client(world, "legacy-member"),
        "role session": world.iam(**_creds(creds)),
    }
    for who, client in callers.items():
        with pytest.raises(ClientError) as exc:
            client.list_users()
        assert _err(exc)[0] == "AccessDenied", who
    # the simulator does not read it either
    for source in (
        f"arn:aws:iam::{ACCOUNT_ID}:user/legacy-user",
        f"arn:aws:iam::{ACCOUNT_ID}:user/legacy-member",
        f"arn:aws:iam::{ACCOUNT_ID}:group/legacy-group",
        f"arn:aws:iam::{ACCOUNT_ID}:role/legacy-role",
    ):
        result = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:ListUsers"])
        evaluation = result["EvaluationResults"][0]
        assert evaluation["EvalDecision"] == "implicitDeny", source
        assert evaluation["MatchedStatements"] == []
        keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=source)["ContextKeyNames"]
        assert MARKER not in keys
    # the caller may still see its dangling row (by the ARN it wrote) and remove it
    assert iam.list_attached_user_policies(UserName="legacy-user")["AttachedPolicies"] == [
        {"PolicyName": "victim-secret", "PolicyArn": world.victim_arn}
    ]
    details = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    legacy = next(u for u in details if u["UserName"] == "legacy-user")
    assert legacy["AttachedManagedPolicies"] == [{"PolicyName": "victim-secret", "PolicyArn": world.victim_arn}]
    iam.detach_user_policy(UserName="legacy-user", PolicyArn=world.victim_arn)
    assert iam.list_attached_user_policies(UserName="legacy-user")["AttachedPolicies"] == []
    # and the owner's view of its policy is unchanged by rows of another account
    entities = world.other("iam").list_entities_for_policy(PolicyArn=world.victim_arn)
    assert entities["PolicyUsers"] == entities["PolicyGroups"] == entities["PolicyRoles"] == []
    assert world.other("iam").get_policy(PolicyArn=world.victim_arn)["Policy"]["AttachmentCount"] == 0


def test_a_legacy_boundary_of_another_account_allows_nothing(world: World) -> None:
    """A boundary naming a policy the account cannot have is a boundary that allows nothing (the
    document is not read), for real calls and in the simulator."""
    iam = world.iam()
    iam.create_user(UserName="bounded")
    iam.put_user_policy(UserName="bounded", PolicyName="all", PolicyDocument=ALLOW_ALL)
    iam.create_role(RoleName="bounded-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.put_role_policy(RoleName="bounded-role", PolicyName="all", PolicyDocument=ALLOW_ALL)
    user = _user_client(world, "bounded")
    user.list_users()  # allowed before the boundary
    _legacy_boundary(world, t.iam_users, "bounded")
    _legacy_boundary(world, t.iam_roles, "bounded-role")
    creds = world.server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/bounded-role", RoleSessionName="legacy"
    )["Credentials"]
    fresh_user = _user_client(world, "bounded")  # a new key: no cached decision
    for client in (fresh_user, world.iam(**_creds(creds))):
        with pytest.raises(ClientError) as exc:
            client.list_roles()
        assert _err(exc)[0] == "AccessDenied"
    for source in (f"arn:aws:iam::{ACCOUNT_ID}:user/bounded", f"arn:aws:iam::{ACCOUNT_ID}:role/bounded-role"):
        result = iam.simulate_principal_policy(PolicySourceArn=source, ActionNames=["iam:ListRoles"])
        evaluation = result["EvaluationResults"][0]
        assert evaluation["EvalDecision"] == "implicitDeny", source
        assert evaluation["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_a_legacy_session_policy_arn_of_another_account_allows_nothing(world: World) -> None:
    """A stored role session (as sessions were before self-contained tokens, and before policy ARNs were
    checked at issue) naming another account's policy: the policy is not read, the session may do nothing."""
    iam = world.iam()
    iam.create_role(RoleName="legacy-sess", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT_ID}:root"))
    iam.put_role_policy(RoleName="legacy-sess", PolicyName="all", PolicyDocument=ALLOW_ALL)
    role_id = iam.get_role(RoleName="legacy-sess")["Role"]["RoleId"]
    box = SecretBox(base64.b64decode((world.server.data_dir / "kek").read_text().strip()))
    token = secrets.token_urlsafe(48)
    with world.db() as conn:
        akid, secret = insert_stored_role_session(
            conn, box, role_name="legacy-sess", role_id=role_id, token=token, session_name="legacy",
            policy_arns=[world.victim_arn],
        )  # fmt: skip
    creds = {"AccessKeyId": akid, "SecretAccessKey": secret, "SessionToken": token}
    with pytest.raises(ClientError) as exc:
        world.iam(**_creds(creds)).list_users()
    assert _err(exc)[0] == "AccessDenied"


# --- the simulator --------------------------------------------------------------------------------


def test_simulator_does_not_reach_into_another_account(world: World) -> None:
    owner = world.other("iam")
    owner.create_user(UserName="victim-user")
    owner.attach_user_policy(UserName="victim-user", PolicyArn=world.victim_arn)
    iam = world.iam()
    real, missing = f"arn:aws:iam::{OTHER}:user/victim-user", f"arn:aws:iam::{OTHER}:user/nobody"
    calls = [
        lambda arn: iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["iam:ListUsers"]),
        lambda arn: iam.get_context_keys_for_principal_policy(PolicySourceArn=arn),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call(real)
        code, message, status = _err(exc)
        assert (code, status) == ("AccessDenied", 403)
        with pytest.raises(ClientError) as other:
            call(missing)
        assert (code, message.replace(real, "<arn>")) == (_err(other)[0], _err(other)[1].replace(missing, "<arn>"))
        assert MARKER not in message and "victim-secret" not in message
    # the owner itself still simulates its own user with its own policy
    out = owner.simulate_principal_policy(PolicySourceArn=real, ActionNames=["iam:ListUsers"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
