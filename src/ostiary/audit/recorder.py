"""Record one audit event per security-relevant state change, in the transaction of the change.

Who (the caller's ARN and access key, or a user pool's user: pool, username, sub), what (the event's
name, CloudTrail's ``eventName`` where AWS has one, and the resource acted on), when, from where (the
source address and user agent of the request context) and the outcome (success, or failure with
AWS's error code). A failed sign-in is recorded in the transaction that counts the failure
(``userpools.lockout``), so the record survives the error the request answers; an audited operation
that fails before writing anything is recorded by the dispatcher in a transaction of its own
(:func:`record_failure`).

Never a secret: request parameters are copied only from an allow-list of names (no password, code,
token, key secret, assertion or session), and an unknown user's name is replaced by CloudTrail's
``HIDDEN_DUE_TO_SECURITY_REASONS`` (what a user types as a name may be a mistyped password).
Rows older than ``audit_retention_days`` are pruned now and then by the writers and at every start.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import secrets
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, TypedDict, Unpack

from sqlalchemy import Connection, delete, insert, select

from ostiary.audit import spool
from ostiary.config import Settings
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ServiceError
from ostiary.store import tables as t
from ostiary.store.db import after_commit
from ostiary.store.raw import RawInsert

log = logging.getLogger("ostiary.audit")


class Event(enum.StrEnum):
    """What happened: CloudTrail's eventName (the AWS operation) where one exists."""

    # user pools: sign-in (the operation that ended it; the hosted UI's sign-in is "Login")
    INITIATE_AUTH = "InitiateAuth"
    ADMIN_INITIATE_AUTH = "AdminInitiateAuth"
    RESPOND_TO_AUTH_CHALLENGE = "RespondToAuthChallenge"
    ADMIN_RESPOND_TO_AUTH_CHALLENGE = "AdminRespondToAuthChallenge"
    LOGIN = "Login"
    # user pools: the sign-in lockout (Ostiary's own names: AWS records no such event)
    LOCKOUT_ENGAGED = "SignInLockoutEngaged"
    LOCKOUT_RELEASED = "SignInLockoutReleased"
    # user pools: token revocation and sign-out
    REVOKE_TOKEN = "RevokeToken"
    GLOBAL_SIGN_OUT = "GlobalSignOut"
    ADMIN_USER_GLOBAL_SIGN_OUT = "AdminUserGlobalSignOut"
    # user pools: passwords
    CHANGE_PASSWORD = "ChangePassword"
    CONFIRM_FORGOT_PASSWORD = "ConfirmForgotPassword"
    ADMIN_SET_USER_PASSWORD = "AdminSetUserPassword"
    ADMIN_RESET_USER_PASSWORD = "AdminResetUserPassword"
    # user pools: MFA enrolment
    VERIFY_SOFTWARE_TOKEN = "VerifySoftwareToken"
    SET_USER_MFA_PREFERENCE = "SetUserMFAPreference"
    ADMIN_SET_USER_MFA_PREFERENCE = "AdminSetUserMFAPreference"
    COMPLETE_WEB_AUTHN_REGISTRATION = "CompleteWebAuthnRegistration"
    DELETE_WEB_AUTHN_CREDENTIAL = "DeleteWebAuthnCredential"
    # IAM: access keys and login profiles
    CREATE_ACCESS_KEY = "CreateAccessKey"
    UPDATE_ACCESS_KEY = "UpdateAccessKey"
    DELETE_ACCESS_KEY = "DeleteAccessKey"
    CREATE_LOGIN_PROFILE = "CreateLoginProfile"
    UPDATE_LOGIN_PROFILE = "UpdateLoginProfile"
    DELETE_LOGIN_PROFILE = "DeleteLoginProfile"
    # IAM: policies
    PUT_USER_POLICY = "PutUserPolicy"
    PUT_GROUP_POLICY = "PutGroupPolicy"
    PUT_ROLE_POLICY = "PutRolePolicy"
    DELETE_USER_POLICY = "DeleteUserPolicy"
    DELETE_GROUP_POLICY = "DeleteGroupPolicy"
    DELETE_ROLE_POLICY = "DeleteRolePolicy"
    ATTACH_USER_POLICY = "AttachUserPolicy"
    ATTACH_GROUP_POLICY = "AttachGroupPolicy"
    ATTACH_ROLE_POLICY = "AttachRolePolicy"
    DETACH_USER_POLICY = "DetachUserPolicy"
    DETACH_GROUP_POLICY = "DetachGroupPolicy"
    DETACH_ROLE_POLICY = "DetachRolePolicy"
    CREATE_POLICY_VERSION = "CreatePolicyVersion"
    DELETE_POLICY_VERSION = "DeletePolicyVersion"
    SET_DEFAULT_POLICY_VERSION = "SetDefaultPolicyVersion"
    # IAM: roles and their trust policies
    CREATE_ROLE = "CreateRole"
    DELETE_ROLE = "DeleteRole"
    UPDATE_ASSUME_ROLE_POLICY = "UpdateAssumeRolePolicy"
    # STS and identity pools: temporary credentials
    ASSUME_ROLE = "AssumeRole"
    ASSUME_ROLE_WITH_WEB_IDENTITY = "AssumeRoleWithWebIdentity"
    ASSUME_ROLE_WITH_SAML = "AssumeRoleWithSAML"
    GET_FEDERATION_TOKEN = "GetFederationToken"
    GET_SESSION_TOKEN = "GetSessionToken"
    GET_CREDENTIALS_FOR_IDENTITY = "GetCredentialsForIdentity"
    # IAM Identity Center (sso-admin): what gives access to accounts
    CREATE_PERMISSION_SET = "CreatePermissionSet"
    UPDATE_PERMISSION_SET = "UpdatePermissionSet"
    DELETE_PERMISSION_SET = "DeletePermissionSet"
    ATTACH_MANAGED_POLICY_TO_PERMISSION_SET = "AttachManagedPolicyToPermissionSet"
    DETACH_MANAGED_POLICY_FROM_PERMISSION_SET = "DetachManagedPolicyFromPermissionSet"
    ATTACH_CUSTOMER_MANAGED_POLICY_REFERENCE_TO_PERMISSION_SET = "AttachCustomerManagedPolicyReferenceToPermissionSet"
    DETACH_CUSTOMER_MANAGED_POLICY_REFERENCE_FROM_PERMISSION_SET = (
        "DetachCustomerManagedPolicyReferenceFromPermissionSet"
    )
    PUT_INLINE_POLICY_TO_PERMISSION_SET = "PutInlinePolicyToPermissionSet"
    DELETE_INLINE_POLICY_FROM_PERMISSION_SET = "DeleteInlinePolicyFromPermissionSet"
    PUT_PERMISSIONS_BOUNDARY_TO_PERMISSION_SET = "PutPermissionsBoundaryToPermissionSet"
    DELETE_PERMISSIONS_BOUNDARY_FROM_PERMISSION_SET = "DeletePermissionsBoundaryFromPermissionSet"
    CREATE_ACCOUNT_ASSIGNMENT = "CreateAccountAssignment"
    DELETE_ACCOUNT_ASSIGNMENT = "DeleteAccountAssignment"
    PROVISION_PERMISSION_SET = "ProvisionPermissionSet"
    CREATE_APPLICATION_ASSIGNMENT = "CreateApplicationAssignment"
    DELETE_APPLICATION_ASSIGNMENT = "DeleteApplicationAssignment"
    PUT_APPLICATION_ASSIGNMENT_CONFIGURATION = "PutApplicationAssignmentConfiguration"
    CREATE_APPLICATION = "CreateApplication"
    UPDATE_APPLICATION = "UpdateApplication"
    DELETE_APPLICATION = "DeleteApplication"
    CREATE_ACCESS_CONTROL_ATTRIBUTES = "CreateInstanceAccessControlAttributeConfiguration"
    UPDATE_ACCESS_CONTROL_ATTRIBUTES = "UpdateInstanceAccessControlAttributeConfiguration"
    DELETE_ACCESS_CONTROL_ATTRIBUTES = "DeleteInstanceAccessControlAttributeConfiguration"
    # trusted identity propagation: who may obtain an application's tokens, and from which issuers
    PUT_APPLICATION_AUTHENTICATION_METHOD = "PutApplicationAuthenticationMethod"
    DELETE_APPLICATION_AUTHENTICATION_METHOD = "DeleteApplicationAuthenticationMethod"
    PUT_APPLICATION_GRANT = "PutApplicationGrant"
    DELETE_APPLICATION_GRANT = "DeleteApplicationGrant"
    PUT_APPLICATION_ACCESS_SCOPE = "PutApplicationAccessScope"
    DELETE_APPLICATION_ACCESS_SCOPE = "DeleteApplicationAccessScope"
    CREATE_TRUSTED_TOKEN_ISSUER = "CreateTrustedTokenIssuer"
    UPDATE_TRUSTED_TOKEN_ISSUER = "UpdateTrustedTokenIssuer"
    DELETE_TRUSTED_TOKEN_ISSUER = "DeleteTrustedTokenIssuer"
    # identitystore: a group membership gives a directory user the group's assignments
    CREATE_GROUP_MEMBERSHIP = "CreateGroupMembership"
    DELETE_GROUP_MEMBERSHIP = "DeleteGroupMembership"
    # sso-oidc and the portal API (sso): a CLI's sign-in and the role credentials it gets
    CREATE_TOKEN = "CreateToken"
    CREATE_TOKEN_WITH_IAM = "CreateTokenWithIAM"
    GET_ROLE_CREDENTIALS = "GetRoleCredentials"
    # a directory user's sign-in to a SAML application (samlidp: the response the IdP signs, or its refusal)
    FEDERATE = "Federate"
    # the access portal's sign-in of a directory user (eventSource signin.amazonaws.com, as AWS's)
    CREDENTIAL_VERIFICATION = "CredentialVerification"
    USER_AUTHENTICATION = "UserAuthentication"
    # Organizations: membership of accounts and the service control policies that bind them
    # (CreatePolicy/DeletePolicy change no access: a policy binds only once attached)
    CREATE_ORGANIZATION = "CreateOrganization"
    DELETE_ORGANIZATION = "DeleteOrganization"
    LEAVE_ORGANIZATION = "LeaveOrganization"
    CREATE_ACCOUNT = "CreateAccount"
    CLOSE_ACCOUNT = "CloseAccount"
    MOVE_ACCOUNT = "MoveAccount"
    REMOVE_ACCOUNT_FROM_ORGANIZATION = "RemoveAccountFromOrganization"
    INVITE_ACCOUNT_TO_ORGANIZATION = "InviteAccountToOrganization"
    ACCEPT_HANDSHAKE = "AcceptHandshake"
    UPDATE_POLICY = "UpdatePolicy"
    ATTACH_POLICY = "AttachPolicy"
    DETACH_POLICY = "DetachPolicy"
    ENABLE_POLICY_TYPE = "EnablePolicyType"
    DISABLE_POLICY_TYPE = "DisablePolicyType"
    ENABLE_AWS_SERVICE_ACCESS = "EnableAWSServiceAccess"
    DISABLE_AWS_SERVICE_ACCESS = "DisableAWSServiceAccess"
    REGISTER_DELEGATED_ADMINISTRATOR = "RegisterDelegatedAdministrator"
    DEREGISTER_DELEGATED_ADMINISTRATOR = "DeregisterDelegatedAdministrator"
    # the S3 front (issue 15): bucket policies it stores and enforces
    PUT_BUCKET_POLICY = "PutBucketPolicy"
    DELETE_BUCKET_POLICY = "DeleteBucketPolicy"
    ENABLE_ALL_FEATURES = "EnableAllFeatures"
    PUT_RESOURCE_POLICY = "PutResourcePolicy"
    DELETE_RESOURCE_POLICY = "DeleteResourcePolicy"
    # Cognito Sync (issue 17): what runs on synced data and where it is published
    SET_COGNITO_EVENTS = "SetCognitoEvents"
    SET_IDENTITY_POOL_CONFIGURATION = "SetIdentityPoolConfiguration"
    BULK_PUBLISH = "BulkPublish"


SIGN_IN_EVENTS = frozenset(
    {
        Event.INITIATE_AUTH,
        Event.ADMIN_INITIATE_AUTH,
        Event.RESPOND_TO_AUTH_CHALLENGE,
        Event.ADMIN_RESPOND_TO_AUTH_CHALLENGE,
    }
)

# the operations whose failures the dispatcher records (when the operation recorded nothing itself);
# not CreateToken, whose device-code polls fail (authorization pending) every second until approved
AUDITED_OPERATIONS = frozenset(e.value for e in Event) - {
    Event.LOGIN,
    Event.LOCKOUT_ENGAGED,
    Event.LOCKOUT_RELEASED,
    Event.CREATE_TOKEN,
}


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"


HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"

EVENT_SOURCES = {
    "cognito-idp": "cognito-idp.amazonaws.com",
    "cognito-identity": "cognito-identity.amazonaws.com",
    "sts": "sts.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "sso-admin": "sso.amazonaws.com",
    "identitystore": "identitystore.amazonaws.com",
    "organizations": "organizations.amazonaws.com",
    "sso": "sso.amazonaws.com",
    "sso-oidc": "sso-oauth.amazonaws.com",
    "signin": "signin.amazonaws.com",  # the access portal's sign-in pages
    "s3": "s3.amazonaws.com",  # the S3 front's bucket policies
    "cognito-sync": "cognito-sync.amazonaws.com",
}

# request parameters an event may keep (CloudTrail's requestParameters): names only, never values
# that could be secrets (passwords, codes, tokens, sessions, key secrets, assertions, Logins maps)
SAFE_PARAMETERS = frozenset(
    {
        "UserPoolId", "ClientId", "AuthFlow", "ChallengeName", "Permanent", "AccessKeyId", "Status",
        "UserName", "GroupName", "RoleName", "PolicyName", "PolicyArn", "VersionId", "SetAsDefault",
        "PolicyDocument", "AssumeRolePolicyDocument", "Path", "PermissionsBoundary", "MaxSessionDuration",
        "PasswordResetRequired", "RoleArn", "RoleSessionName", "DurationSeconds", "PrincipalArn",
        "ProviderId", "Name", "SerialNumber", "IdentityId", "IdentityPoolId", "CustomRoleArn",
        "FriendlyDeviceName", "CredentialId", "SoftwareTokenMfaSettings", "SMSMfaSettings",
        "EmailMfaSettings", "WebAuthnMfaSettings",
        "InstanceArn", "PermissionSetArn", "TargetId", "TargetType", "PrincipalType", "PrincipalId",
        "ManagedPolicyArn", "CustomerManagedPolicyReference", "InlinePolicy", "SessionDuration",
        "ApplicationArn", "AssignmentRequired", "ApplicationProviderArn", "InstanceAccessControlAttributeConfiguration",
        "IdentityStoreId", "GroupId", "MemberId", "MembershipId",
        "AuthenticationMethodType", "GrantType", "Scope", "TrustedTokenIssuerArn", "TrustedTokenIssuerType",
        "RegionName", "clientId", "grantType",
        "FeatureSet", "AccountId", "AccountName", "SourceParentId", "DestinationParentId", "PolicyId",
        "RootId", "PolicyType", "HandshakeId", "Target", "Description", "Content", "ServicePrincipal",
        "Events", "PushSync", "CognitoStreams",
    }
)  # fmt: skip

# the resource an event names when the operation gives none, from its parameters (first found)
_RESOURCE_PARAMETERS = (
    ("AccessKeyId", "AWS::IAM::AccessKey"),
    ("PolicyArn", "AWS::IAM::Policy"),
    ("RoleArn", "AWS::IAM::Role"),
    ("RoleName", "AWS::IAM::Role"),
    ("GroupName", "AWS::IAM::Group"),
    ("UserName", "AWS::IAM::User"),
    ("IdentityId", "AWS::Cognito::IdentityPool"),
    ("IdentityPoolId", "AWS::Cognito::IdentityPool"),
    ("UserPoolId", "AWS::Cognito::UserPool"),
    ("PermissionSetArn", "AWS::SSO::PermissionSet"),
    ("ApplicationArn", "AWS::SSO::Application"),
    ("TrustedTokenIssuerArn", "AWS::SSO::TrustedTokenIssuer"),
    ("PolicyId", "AWS::Organizations::Policy"),
    ("AccountId", "AWS::Organizations::Account"),
    ("HandshakeId", "AWS::Organizations::Handshake"),
)

PRUNE_ONE_IN = 256  # a write prunes the expired rows with this odds (and every start does)
# built once: every audited write only binds parameters (a generative .values(...) is compiled and
# cache-keyed on each call: a third of an AssumeRole's CPU, issue 13)
# (on the driver's cursor: store.raw)
_INSERT_EVENT = RawInsert(insert(t.audit_events), [c.key for c in t.audit_events.c])
_LIMITS = {"username": 256, "user_agent": 1024, "error_message": 1024, "resource_name": 2048, "principal_arn": 2048}


class UserRef(Protocol):
    """A user pool's user, as ``userpools.directory.User`` is (not imported: no layer cycle)."""

    id: str
    username: str
    user_pool_id: str


def retention(settings: Settings) -> dt.timedelta:
    return dt.timedelta(days=max(settings.audit_retention_days, 1))


def safe_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k in SAFE_PARAMETERS}


def principal_name(arn: str) -> str:
    """CloudTrail's userName of a caller: the user's name, the role session's name, or ``root``."""
    resource = arn.split(":", 5)[-1]
    if resource == "root":
        return "root"
    return resource.rsplit("/", 1)[-1]


def sign_in_event(ctx: RequestContext) -> Event:
    """The event of a sign-in step: the request's operation (InitiateAuth, RespondToAuthChallenge,
    their Admin variants, or ChangePassword's check of the previous password); the hosted UI's: Login."""
    if ctx.hosted_ui:
        return Event.LOGIN
    try:
        return Event(ctx.operation)
    except ValueError:
        return Event.LOGIN


class EventFields(TypedDict, total=False):
    """What an event may name besides the request (see :func:`record`)."""

    event: Event
    outcome: Outcome
    error: ServiceError | None
    user: UserRef | None
    pool_id: str | None
    username: str | None
    sub: str | None
    account_id: str | None
    resource: tuple[str, str] | None
    details: Mapping[str, Any] | None


def event_row(
    ctx: RequestContext,
    params: Mapping[str, Any] | None = None,
    *,
    conn: Connection | None = None,
    **fields: Unpack[EventFields],
) -> dict[str, Any]:
    """The ``audit_events`` row of one event (see :func:`record` for the arguments); a user pool's
    account is read through ``conn`` (else a read of its own) when neither the caller nor
    ``account_id`` names one."""
    event = fields.get("event")
    outcome = fields.get("outcome", Outcome.SUCCESS)
    error = fields.get("error")
    user = fields.get("user")
    pool_id, username, sub = fields.get("pool_id"), fields.get("username"), fields.get("sub")
    account_id, resource, details = fields.get("account_id"), fields.get("resource"), fields.get("details")
    name = event if event is not None else Event(ctx.operation)
    principal = ctx.principal
    request = safe_parameters(params or {})
    if resource is None:
        resource = next(((kind, str(request[key])) for key, kind in _RESOURCE_PARAMETERS if request.get(key)), None)
    if user is not None:
        pool_id, username, sub = user.user_pool_id, user.username, user.id
    elif username is None and principal is not None:
        username = principal_name(principal.arn)
    if account_id is None and principal is not None:
        account_id = principal.account_id
    if account_id is None and pool_id:
        query = select(t.user_pools.c.account_id).where(t.user_pools.c.id == pool_id)
        if conn is not None:
            account_id = conn.execute(query).scalar()
        else:
            with ctx.store.read() as reader:
                account_id = reader.execute(query).scalar()
    extra: dict[str, Any] = dict(details or {})
    if request:
        extra["requestParameters"] = request
    if ctx.app_client_id:
        extra.setdefault("clientId", ctx.app_client_id)
    values: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_time": ctx.now,
        "event_name": name.value,
        "event_source": EVENT_SOURCES.get(ctx.service, f"{ctx.service}.amazonaws.com"),
        "account_id": account_id,
        "region": ctx.region,
        "principal_arn": principal.arn if principal is not None else None,
        "access_key_id": principal.access_key_id if principal is not None else None,
        "user_pool_id": pool_id,
        "username": username,
        "user_sub": sub,
        "resource_type": resource[0] if resource else None,
        "resource_name": resource[1] if resource else None,
        "source_ip": ctx.source_ip or None,
        "user_agent": ctx.user_agent,
        "outcome": (Outcome.FAILURE if error is not None else outcome).value,
        "error_code": _code(ctx, error) if error is not None else None,
        "error_message": error.message if error is not None and error.message else None,
        "request_id": ctx.request_id,
        "details": extra,
    }
    for column, limit in _LIMITS.items():
        if isinstance(values[column], str):
            values[column] = values[column][:limit]
    return values


def record(
    conn: Connection, ctx: RequestContext, params: Mapping[str, Any] | None = None, **fields: Unpack[EventFields]
) -> None:
    """Write one event in the transaction of ``conn``. ``event`` defaults to the request's operation;
    ``user`` (or ``pool_id``, ``username``, ``sub``) names the user pool's user it concerns; ``resource`` is
    (type, name), else found in ``params`` (of which only SAFE_PARAMETERS are kept). The event belongs
    to ``account_id``: by default the caller's, else the user pool's (what LookupEvents shows it to)."""
    values = event_row(ctx, params, conn=conn, **fields)
    _INSERT_EVENT.execute(conn, values)
    if secrets.randbelow(PRUNE_ONE_IN) == 0:
        prune(conn, ctx.settings, ctx.now)
    after_commit(conn, lambda: _mark(ctx))


def record_detached(
    ctx: RequestContext,
    *,
    account_id: str | None = None,
    username: str | None = None,
    resource: tuple[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The event of an operation that changed nothing else (a new self-contained STS role session),
    written behind the response by the audit spool (audit/spool.py) — or, with ``audit_spool_ms`` 0,
    in a transaction of its own now. Call it outside any transaction, once the operation succeeded."""
    values = event_row(ctx, account_id=account_id, username=username, resource=resource, details=details)
    delay_ms = ctx.settings.audit_spool_ms
    if delay_ms <= 0:
        with ctx.store.tx() as conn:
            _INSERT_EVENT.execute(conn, values)
            if secrets.randbelow(PRUNE_ONE_IN) == 0:
                prune(conn, ctx.settings, ctx.now)
    else:
        spool.spool_of(ctx.store, delay_ms / 1000, _write_batch(ctx.settings)).add(values)
    ctx.audited = True


def _write_batch(settings: Settings) -> spool.Writer:
    def write(conn: Connection, rows: list[Mapping[str, Any]]) -> None:
        _INSERT_EVENT.execute_many(conn, rows)
        if secrets.randbelow(PRUNE_ONE_IN) < len(rows):  # the same odds per event as record()'s
            prune(conn, settings, dt.datetime.now(dt.UTC))

    return write


def _mark(ctx: RequestContext) -> None:
    ctx.audited = True


def _code(ctx: RequestContext, error: ServiceError) -> str:
    return error.wire_code("query" if ctx.service in ("iam", "sts") else "json")[0]


def record_failure(ctx: RequestContext, params: Mapping[str, Any], error: ServiceError) -> None:
    """The failure of an audited operation that recorded nothing itself (refused, or failed before
    it changed anything), in a transaction of its own. An unsigned caller's Username is not kept."""
    if ctx.audited or ctx.operation not in AUDITED_OPERATIONS:
        return
    pool_id = params.get("UserPoolId") if isinstance(params.get("UserPoolId"), str) else None
    username = params.get("Username") if ctx.principal is not None and isinstance(params.get("Username"), str) else None
    try:
        with ctx.store.tx() as conn:
            record(conn, ctx, params, error=error, pool_id=pool_id, username=username)
    except Exception:  # the request answers its own error, not the recorder's
        log.exception("audit event not recorded", extra={"request_id": ctx.request_id, "operation": ctx.operation})


def prune(conn: Connection, settings: Settings, now: dt.datetime) -> int:
    """Delete the events older than the retention (``audit_retention_days``)."""
    cutoff = now - retention(settings)
    return int(conn.execute(delete(t.audit_events).where(t.audit_events.c.event_time < cutoff)).rowcount or 0)
