"""GetId and GetCredentialsForIdentity: guests, role mappings (Rules and Token), principal tags
(ABAC), trust-policy checks and login verification, through boto3 against a real server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, Server
from tests.identitypools.conftest import err, make_role, session_client, sign_in, trust, wire

BAD_CONFIG = "Invalid identity pool configuration. Check assigned IAM roles for this pool."
MISMATCH = "Logins don't match. Please include at least one valid login for this identity or identity pool."


def _role_name(creds: dict[str, Any], server: Server) -> str:
    arn: str = session_client(server, "sts", creds).get_caller_identity()["Arn"]
    return arn.split("/")[1]


def test_guests_get_the_unauthenticated_role(server: Server) -> None:
    w = wire(server)
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    assert w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"] != guest  # each call: a new guest
    creds = w.credentials(guest, None)["Credentials"]
    assert _role_name(creds, server) == w.unauth_role.rsplit("/", 1)[-1]
    # a guest has none of the authenticated role's rights
    with pytest.raises(ClientError) as exc:
        session_client(server, "cognito-identity", creds).describe_identity_pool(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "AccessDeniedException"

    # the guest signs in: its identity takes the login and now gets the authenticated role
    _, tokens = w.user()
    out = w.credentials(guest, tokens["IdToken"])
    assert out["IdentityId"] == guest
    assert _role_name(out["Credentials"], server) == w.auth_role.rsplit("/", 1)[-1]
    assert w.identity_for(tokens["IdToken"]) == guest
    # an authenticated identity without its logins is refused
    with pytest.raises(ClientError) as exc:
        w.credentials(guest, None)
    assert err(exc) == ("NotAuthorizedException", MISMATCH)
    # a different user's token does not open this identity
    _, other = w.user()
    with pytest.raises(ClientError) as exc:
        w.credentials(guest, other["IdToken"])
    assert err(exc) == ("NotAuthorizedException", MISMATCH)


def test_guests_refused_when_the_pool_does_not_allow_them(server: Server) -> None:
    w = wire(server, pool_args={"AllowUnauthenticatedIdentities": False})
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId=w.pool_id)
    assert err(exc) == ("NotAuthorizedException", "Unauthenticated access is not supported for this identity pool.")
    _, tokens = w.user()
    identity = w.identity_for(tokens["IdToken"])
    assert w.credentials(identity, tokens["IdToken"])["IdentityId"] == identity


def test_unknown_pool_and_identity(server: Server) -> None:
    w = wire(server)
    missing = "us-east-1:00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId=missing)
    assert err(exc) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")
    with pytest.raises(ClientError) as exc:
        w.anon.get_credentials_for_identity(IdentityId=missing)
    assert err(exc) == ("ResourceNotFoundException", f"Identity '{missing}' not found.")
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId="not a pool id")
    assert err(exc)[0] == "ValidationException"  # the model's pattern


def test_login_tokens_are_verified(server: Server) -> None:
    w = wire(server)
    _, tokens = w.user()
    head, body, sig = tokens["IdToken"].split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    for bad in (forged, tokens["AccessToken"], "not-a-jwt"):
        with pytest.raises(ClientError) as exc:
            w.anon.get_id(IdentityPoolId=w.pool_id, Logins={w.provider: bad})
        assert err(exc)[0] == "NotAuthorizedException"
    # a client the identity pool does not list
    other_client = w.users.idp.create_user_pool_client(
        UserPoolId=w.users.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    name, _ = w.user()
    from tests.userpools.conftest import PASSWORD

    other_token = w.users.idp.initiate_auth(
        ClientId=other_client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD}
    )["AuthenticationResult"]["IdToken"]
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId=w.pool_id, Logins={w.provider: other_token})
    assert err(exc) == ("NotAuthorizedException", "Invalid login token. Incorrect token audience.")
    # a provider the pool does not have
    with pytest.raises(ClientError) as exc:
        w.anon.get_id(IdentityPoolId=w.pool_id, Logins={"accounts.google.com": tokens["IdToken"]})
    assert err(exc)[0] == "NotAuthorizedException"


def test_server_side_token_check_refuses_signed_out_users(server: Server) -> None:
    w = wire(server, server_side_check=True)
    name, tokens = w.user()
    identity = w.identity_for(tokens["IdToken"])
    w.credentials(identity, tokens["IdToken"])
    w.users.idp.admin_user_global_sign_out(UserPoolId=w.users.pool_id, Username=name)
    with pytest.raises(ClientError) as exc:
        w.credentials(identity, tokens["IdToken"])
    assert err(exc)[0] == "NotAuthorizedException"
    # a fresh sign-in works again
    w.credentials(identity, sign_in(w.users, name)["IdToken"])


def test_trust_policy_with_the_wrong_audience_is_refused(server: Server) -> None:
    w = wire(server)
    iam = server.client("iam")
    wrong = make_role(iam, trust("us-east-1:11111111-2222-3333-4444-555555555555"))
    no_federation = make_role(
        iam,
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    _, tokens = w.user()
    identity = w.identity_for(tokens["IdToken"])
    for role in (wrong, no_federation, f"arn:aws:iam::{ACCOUNT_ID}:role/does-not-exist"):
        w.ci.set_identity_pool_roles(IdentityPoolId=w.pool_id, Roles={"authenticated": role})
        with pytest.raises(ClientError) as exc:
            w.credentials(identity, tokens["IdToken"])
        assert err(exc) == ("InvalidIdentityPoolConfigurationException", BAD_CONFIG)
    # the unauthenticated role trusts amr "unauthenticated" only: it refuses authenticated identities
    w.ci.set_identity_pool_roles(IdentityPoolId=w.pool_id, Roles={"authenticated": w.unauth_role})
    with pytest.raises(ClientError) as exc:
        w.credentials(identity, tokens["IdToken"])
    assert err(exc)[0] == "InvalidIdentityPoolConfigurationException"
    # no unauthenticated role configured
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        w.credentials(guest, None)
    assert err(exc) == ("InvalidIdentityPoolConfigurationException", BAD_CONFIG)


def _groups_pool(server: Server, **kw: Any) -> Any:
    return wire(
        server,
        user_pool_args={"Schema": [{"Name": "tier", "AttributeDataType": "String", "Mutable": True}]},
        **kw,
    )


def test_rules_role_mapping_picks_roles_by_claim(server: Server) -> None:
    w = _groups_pool(server)
    iam = server.client("iam")
    gold = make_role(iam, trust(w.pool_id))
    admin = make_role(iam, trust(w.pool_id))
    idp = w.users.idp
    idp.create_group(UserPoolId=w.users.pool_id, GroupName="admins")
    key = f"{w.provider}:{w.users.client_id}"
    rules = [
        {"Claim": "custom:tier", "MatchType": "Equals", "Value": "gold", "RoleARN": gold},
        {"Claim": "cognito:groups", "MatchType": "Contains", "Value": "admins", "RoleARN": admin},
    ]
    mapping = {"Type": "Rules", "AmbiguousRoleResolution": "AuthenticatedRole", "RulesConfiguration": {"Rules": rules}}
    w.ci.set_identity_pool_roles(
        IdentityPoolId=w.pool_id,
        Roles={"authenticated": w.auth_role, "unauthenticated": w.unauth_role},
        RoleMappings={key: mapping},
    )
    got = w.ci.get_identity_pool_roles(IdentityPoolId=w.pool_id)
    assert got["RoleMappings"][key]["RulesConfiguration"]["Rules"][0]["RoleARN"] == gold

    _, gold_tokens = w.user(**{"custom:tier": "gold"})
    identity = w.identity_for(gold_tokens["IdToken"])
    assert _role_name(w.credentials(identity, gold_tokens["IdToken"])["Credentials"], server) == gold.rsplit("/", 1)[-1]

    admin_name, _ = w.user(**{"custom:tier": "silver"})
    idp.admin_add_user_to_group(UserPoolId=w.users.pool_id, Username=admin_name, GroupName="admins")
    admin_tokens = sign_in(w.users, admin_name)
    identity = w.identity_for(admin_tokens["IdToken"])
    assert (
        _role_name(w.credentials(identity, admin_tokens["IdToken"])["Credentials"], server) == admin.rsplit("/", 1)[-1]
    )

    _, plain = w.user(**{"custom:tier": "bronze"})
    identity = w.identity_for(plain["IdToken"])
    assert (
        _role_name(w.credentials(identity, plain["IdToken"])["Credentials"], server) == w.auth_role.rsplit("/", 1)[-1]
    )

    mapping["AmbiguousRoleResolution"] = "Deny"
    w.ci.set_identity_pool_roles(
        IdentityPoolId=w.pool_id, Roles={"authenticated": w.auth_role}, RoleMappings={key: mapping}
    )
    with pytest.raises(ClientError) as exc:
        w.credentials(identity, plain["IdToken"])
    assert err(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")

    # mapping keys must name a configured provider and client
    with pytest.raises(ClientError) as exc:
        w.ci.set_identity_pool_roles(
            IdentityPoolId=w.pool_id, Roles={"authenticated": w.auth_role}, RoleMappings={w.provider + ":nope": mapping}
        )
    assert err(exc)[0] == "InvalidParameterException"


def test_token_role_mapping_uses_preferred_role_and_custom_role(server: Server) -> None:
    w = wire(server)
    iam = server.client("iam")
    editors = make_role(iam, trust(w.pool_id))
    viewers = make_role(iam, trust(w.pool_id))
    idp = w.users.idp
    idp.create_group(UserPoolId=w.users.pool_id, GroupName="editors", RoleArn=editors, Precedence=1)
    idp.create_group(UserPoolId=w.users.pool_id, GroupName="viewers", RoleArn=viewers, Precedence=2)
    key = f"{w.provider}:{w.users.client_id}"
    w.ci.set_identity_pool_roles(
        IdentityPoolId=w.pool_id,
        Roles={"authenticated": w.auth_role},
        RoleMappings={key: {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}},
    )
    name, _ = w.user()
    idp.admin_add_user_to_group(UserPoolId=w.users.pool_id, Username=name, GroupName="editors")
    idp.admin_add_user_to_group(UserPoolId=w.users.pool_id, Username=name, GroupName="viewers")
    tokens = sign_in(w.users, name)
    identity = w.identity_for(tokens["IdToken"])
    # cognito:preferred_role (lowest precedence) by default
    assert _role_name(w.credentials(identity, tokens["IdToken"])["Credentials"], server) == editors.rsplit("/", 1)[-1]
    # CustomRoleArn picks another role of cognito:roles
    creds = w.credentials(identity, tokens["IdToken"], CustomRoleArn=viewers)["Credentials"]
    assert _role_name(creds, server) == viewers.rsplit("/", 1)[-1]
    with pytest.raises(ClientError) as exc:
        w.credentials(identity, tokens["IdToken"], CustomRoleArn=w.unauth_role)
    assert err(exc)[0] == "NotAuthorizedException"
    # no group role: ambiguous → the authenticated role
    _, plain = w.user()
    plain_identity = w.identity_for(plain["IdToken"])
    creds = w.credentials(plain_identity, plain["IdToken"])["Credentials"]
    assert _role_name(creds, server) == w.auth_role.rsplit("/", 1)[-1]


def test_principal_tags_drive_an_abac_condition(server: Server) -> None:
    statements = [
        {
            "Effect": "Allow",
            "Action": "cognito-identity:DescribeIdentityPool",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/tier": "gold"}},
        },
        {
            "Effect": "Allow",
            "Action": "cognito-identity:GetIdentityPoolRoles",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/username": "${cognito-identity.amazonaws.com:sub}"}},
        },
    ]
    w = _groups_pool(server)
    iam = server.client("iam")
    tagged = make_role(iam, trust(w.pool_id, tag_session=True), statements)
    untagged_trust = make_role(iam, trust(w.pool_id), statements)
    w.ci.set_identity_pool_roles(IdentityPoolId=w.pool_id, Roles={"authenticated": tagged})

    # defaults: username ← sub, client ← aud
    defaults = w.ci.set_principal_tag_attribute_map(
        IdentityPoolId=w.pool_id, IdentityProviderName=w.provider, UseDefaults=True
    )
    assert defaults["UseDefaults"] is True and defaults["PrincipalTags"] == {"client": "aud", "username": "sub"}
    got = w.ci.get_principal_tag_attribute_map(IdentityPoolId=w.pool_id, IdentityProviderName=w.provider)
    assert got["PrincipalTags"] == {"client": "aud", "username": "sub"}

    w.ci.set_principal_tag_attribute_map(
        IdentityPoolId=w.pool_id, IdentityProviderName=w.provider, PrincipalTags={"tier": "custom:tier"}
    )
    _, gold = w.user(**{"custom:tier": "gold"})
    _, silver = w.user(**{"custom:tier": "silver"})
    gold_creds = w.credentials(w.identity_for(gold["IdToken"]), gold["IdToken"])["Credentials"]
    silver_creds = w.credentials(w.identity_for(silver["IdToken"]), silver["IdToken"])["Credentials"]
    session_client(server, "cognito-identity", gold_creds).describe_identity_pool(IdentityPoolId=w.pool_id)
    with pytest.raises(ClientError) as exc:
        session_client(server, "cognito-identity", silver_creds).describe_identity_pool(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "AccessDeniedException"

    # a tag can also be compared with a policy variable of the session
    w.ci.set_principal_tag_attribute_map(
        IdentityPoolId=w.pool_id, IdentityProviderName=w.provider, PrincipalTags={"username": "sub"}
    )
    creds = w.credentials(w.identity_for(gold["IdToken"]), gold["IdToken"])["Credentials"]
    with pytest.raises(ClientError) as exc:  # tag = the user-pool sub, not the identity id
        session_client(server, "cognito-identity", creds).get_identity_pool_roles(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "AccessDeniedException"

    # mapped tags need sts:TagSession in the trust policy
    w.ci.set_identity_pool_roles(IdentityPoolId=w.pool_id, Roles={"authenticated": untagged_trust})
    with pytest.raises(ClientError) as exc:
        w.credentials(w.identity_for(gold["IdToken"]), gold["IdToken"])
    assert err(exc) == ("InvalidIdentityPoolConfigurationException", BAD_CONFIG)


def test_same_login_same_identity_across_calls_and_users(server: Server) -> None:
    w = wire(server)
    name, first = w.user()
    identity = w.identity_for(first["IdToken"])
    again = sign_in(w.users, name)  # a new sign-in: new tokens, same user
    assert w.identity_for(again["IdToken"]) == identity
    assert w.credentials(identity, again["IdToken"])["IdentityId"] == identity
    ids = {w.identity_for(w.user()[1]["IdToken"]) for _ in range(3)}
    assert len(ids) == 3 and identity not in ids


def test_guests_are_scoped_down(server: Server) -> None:
    """Enhanced-flow guest credentials carry Cognito's AmazonCognitoUnAuthedIdentitiesSessionPolicy:
    whatever the unauthenticated role allows, only the services that policy names remain."""
    w = wire(server)
    iam = server.client("iam")
    for role in (w.unauth_role, w.auth_role):
        iam.put_role_policy(
            RoleName=role.rsplit("/", 1)[-1],
            PolicyName="wide",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "cognito-identity:*", "Resource": "*"}],
                }
            ),
        )
    guest = w.anon.get_id(IdentityPoolId=w.pool_id)["IdentityId"]
    creds = w.credentials(guest, None)["Credentials"]
    session_client(server, "sts", creds).get_caller_identity()  # needs no permission
    with pytest.raises(ClientError) as exc:
        session_client(server, "cognito-identity", creds).describe_identity_pool(IdentityPoolId=w.pool_id)
    assert err(exc)[0] == "AccessDeniedException"
    # an authenticated identity's role is not scoped down
    _, tokens = w.user()
    signed_in = w.credentials(w.identity_for(tokens["IdToken"]), tokens["IdToken"])["Credentials"]
    session_client(server, "cognito-identity", signed_in).describe_identity_pool(IdentityPoolId=w.pool_id)
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonCognitoUnAuthedIdentitiesSessionPolicy")
    assert policy["Policy"]["PolicyName"] == "AmazonCognitoUnAuthedIdentitiesSessionPolicy"
