"""The request-rate categories of Amazon Cognito user pools, from AWS's page "Quotas in Amazon Cognito"
(section "Amazon Cognito user pools API operation categories and request rate quotas").

Each category has a default (free) rate in requests per second, shared by every user pool of an
account in a Region, and is adjustable or not (only adjustable categories accept
``UpdateProvisionedLimit``). The four categories AWS marks with a footnote (``PER_POOL_OPERATION``)
also hold each of their operations to 5 RPS on a single user pool. ``RespondToAuthChallenge`` and
``AdminRespondToAuthChallenge`` have a bucket of their own, three times ``UserAuthentication``; what
goes beyond it counts against ``UserAuthentication`` (the page's "special request rate handling").

``OPERATIONS`` maps each cognito-idp operation to its category. AWS's page lists the operations of a
category on the website only; this table follows it, with the newer operations placed by the same
rule the page states for each category (reads of a pool's resources, updates of a user's, …).
Operations absent here are not rate limited.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str
    default_rps: int
    adjustable: bool


CATEGORIES: dict[str, Category] = {
    c.name: c
    for c in (
        Category("UserAuthentication", 120, True),
        Category("UserCreation", 50, True),
        Category("UserFederation", 25, True),
        Category("UserAccountRecovery", 30, False),
        Category("UserRead", 120, True),
        Category("UserUpdate", 25, False),
        Category("UserToken", 120, True),
        Category("UserResourceRead", 50, True),
        Category("UserResourceUpdate", 25, False),
        Category("UserList", 30, False),
        Category("UserPoolRead", 15, False),
        Category("UserPoolUpdate", 15, False),
        Category("UserPoolResourceRead", 20, False),
        Category("UserPoolResourceUpdate", 15, False),
        Category("UserPoolClientRead", 15, False),
        Category("UserPoolClientUpdate", 15, False),
        Category("ClientAuthentication", 150, False),
    )
}

# "Any individual operation in this category … not higher than 5 RPS for a single user pool"
PER_POOL_OPERATION = frozenset(
    {"UserPoolResourceRead", "UserPoolResourceUpdate", "UserPoolClientRead", "UserPoolClientUpdate"}
)
PER_POOL_OPERATION_RPS = 5

# RespondToAuthChallenge and AdminRespondToAuthChallenge: a bucket of 3 x UserAuthentication first
CHALLENGE_OPERATIONS = frozenset({"RespondToAuthChallenge", "AdminRespondToAuthChallenge"})
CHALLENGE_FACTOR = 3

_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "UserAuthentication": (
        "AdminInitiateAuth",
        "InitiateAuth",
        "AdminRespondToAuthChallenge",
        "RespondToAuthChallenge",
        "GetTokensFromRefreshToken",
    ),
    "UserCreation": ("SignUp", "ConfirmSignUp", "AdminCreateUser", "AdminConfirmSignUp"),
    "UserAccountRecovery": (
        "ForgotPassword",
        "ConfirmForgotPassword",
        "ChangePassword",
        "AdminResetUserPassword",
        "AdminSetUserPassword",
        "ResendConfirmationCode",
    ),
    "UserRead": ("AdminGetUser", "GetUser"),
    "UserUpdate": (
        "AdminAddUserToGroup",
        "AdminRemoveUserFromGroup",
        "AdminDeleteUser",
        "AdminDeleteUserAttributes",
        "AdminUpdateUserAttributes",
        "AdminDisableUser",
        "AdminEnableUser",
        "AdminLinkProviderForUser",
        "AdminDisableProviderForUser",
        "AdminUserGlobalSignOut",
        "DeleteUser",
        "DeleteUserAttributes",
        "UpdateUserAttributes",
        "VerifyUserAttribute",
        "GetUserAttributeVerificationCode",
        "GlobalSignOut",
    ),
    "UserToken": ("RevokeToken",),
    "UserResourceRead": (
        "AdminGetDevice",
        "AdminListDevices",
        "AdminListGroupsForUser",
        "AdminListUserAuthEvents",
        "GetDevice",
        "ListDevices",
        "GetUserAuthFactors",
        "ListWebAuthnCredentials",
    ),
    "UserResourceUpdate": (
        "AdminForgetDevice",
        "AdminUpdateDeviceStatus",
        "AdminUpdateAuthEventFeedback",
        "AdminSetUserMFAPreference",
        "AdminSetUserSettings",
        "AssociateSoftwareToken",
        "VerifySoftwareToken",
        "ConfirmDevice",
        "ForgetDevice",
        "UpdateDeviceStatus",
        "SetUserMFAPreference",
        "SetUserSettings",
        "UpdateAuthEventFeedback",
        "StartWebAuthnRegistration",
        "CompleteWebAuthnRegistration",
        "DeleteWebAuthnCredential",
    ),
    "UserList": ("ListUsers", "ListUsersInGroup"),
    "UserPoolRead": ("DescribeUserPool", "ListUserPools", "GetUserPoolMfaConfig"),
    "UserPoolUpdate": ("CreateUserPool", "UpdateUserPool", "DeleteUserPool"),
    "UserPoolResourceRead": (
        "DescribeIdentityProvider",
        "DescribeResourceServer",
        "DescribeRiskConfiguration",
        "DescribeUserImportJob",
        "DescribeUserPoolDomain",
        "GetCSVHeader",
        "GetGroup",
        "GetIdentityProviderByIdentifier",
        "GetLogDeliveryConfiguration",
        "GetSigningCertificate",
        "GetUICustomization",
        "ListGroups",
        "ListIdentityProviders",
        "ListResourceServers",
        "ListTagsForResource",
        "ListUserImportJobs",
        "DescribeTerms",
        "ListTerms",
        "DescribeCIMDPolicy",
        "ListCIMDPolicies",
        "ListClientMetadataURLs",
    ),
    "UserPoolResourceUpdate": (
        "AddCustomAttributes",
        "CreateGroup",
        "CreateIdentityProvider",
        "CreateResourceServer",
        "CreateUserImportJob",
        "CreateUserPoolDomain",
        "DeleteGroup",
        "DeleteIdentityProvider",
        "DeleteResourceServer",
        "DeleteUserPoolDomain",
        "SetLogDeliveryConfiguration",
        "SetRiskConfiguration",
        "SetUICustomization",
        "SetUserPoolMfaConfig",
        "StartUserImportJob",
        "StopUserImportJob",
        "TagResource",
        "UntagResource",
        "UpdateGroup",
        "UpdateIdentityProvider",
        "UpdateResourceServer",
        "UpdateUserPoolDomain",
        "CreateTerms",
        "UpdateTerms",
        "DeleteTerms",
        "CreateCIMDPolicy",
        "UpdateCIMDPolicy",
        "DeleteCIMDPolicy",
        "UpdateClientMetadataURLState",
    ),
    "UserPoolClientRead": ("DescribeUserPoolClient", "ListUserPoolClients", "ListUserPoolClientSecrets"),
    "UserPoolClientUpdate": (
        "CreateUserPoolClient",
        "UpdateUserPoolClient",
        "DeleteUserPoolClient",
        "AddUserPoolClientSecret",
        "DeleteUserPoolClientSecret",
    ),
}

OPERATIONS: dict[str, str] = {op: category for category, ops in _BY_CATEGORY.items() for op in ops}
