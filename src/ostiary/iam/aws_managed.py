"""AWS managed policies that Ostiary ships (``arn:aws:iam::aws:policy/…``): read-only, attachable,
version v1. Their documents cover what Ostiary serves; the names match AWS's so that scripts that
attach them work unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

CREATED = dt.datetime(2015, 2, 6, 18, 39, 46, tzinfo=dt.UTC)


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@dataclass(frozen=True)
class AwsPolicy:
    name: str
    path: str
    description: str
    document: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::aws:policy{self.path}{self.name}"

    @property
    def policy_id(self) -> str:
        return "ANPA" + hashlib.sha256(self.name.encode()).hexdigest().upper()[:17]


_POLICIES = [
    AwsPolicy("AdministratorAccess", "/", "Provides full access to AWS services and resources.", _doc(_allow("*"))),
    AwsPolicy(
        "PowerUserAccess",
        "/",
        "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
        _doc(
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
            _allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles"]),
        ),
    ),
    AwsPolicy(
        "ReadOnlyAccess",
        "/",
        "Provides read-only access to AWS services and resources.",
        _doc(
            _allow(
                [
                    "cognito-idp:Describe*",
                    "cognito-idp:Get*",
                    "cognito-idp:List*",
                    "cognito-identity:Describe*",
                    "cognito-identity:Get*",
                    "cognito-identity:List*",
                    "cognito-identity:Lookup*",
                    "iam:Get*",
                    "iam:List*",
                    "iam:Generate*",
                    "sts:GetCallerIdentity",
                ]
            )
        ),
    ),
    AwsPolicy(
        "IAMFullAccess", "/", "Provides full access to IAM via the AWS Management Console.", _doc(_allow("iam:*"))
    ),
    AwsPolicy(
        "IAMReadOnlyAccess",
        "/",
        "Provides read only access to IAM via the AWS Management Console.",
        _doc(
            _allow(
                [
                    "iam:GenerateCredentialReport",
                    "iam:GenerateServiceLastAccessedDetails",
                    "iam:Get*",
                    "iam:List*",
                    "iam:SimulateCustomPolicy",
                    "iam:SimulatePrincipalPolicy",
                ]
            )
        ),
    ),
    AwsPolicy(
        "AmazonCognitoPowerUser",
        "/",
        "Provides administrative access to existing Amazon Cognito resources.",
        _doc(
            _allow(
                [
                    "cognito-identity:*",
                    "cognito-idp:*",
                    "cognito-sync:*",
                    "iam:ListRoles",
                    "iam:ListOpenIdConnectProviders",
                    "iam:GetRole",
                    "iam:ListSAMLProviders",
                    "iam:GetSAMLProvider",
                ]
            )
        ),
    ),
    AwsPolicy(
        "AmazonCognitoReadOnly",
        "/",
        "Provides read only access to Amazon Cognito resources.",
        _doc(
            _allow(
                [
                    "cognito-identity:Describe*",
                    "cognito-identity:Get*",
                    "cognito-identity:List*",
                    "cognito-idp:Describe*",
                    "cognito-idp:AdminGet*",
                    "cognito-idp:AdminList*",
                    "cognito-idp:List*",
                    "cognito-idp:Get*",
                    "cognito-sync:Describe*",
                    "cognito-sync:Get*",
                    "cognito-sync:List*",
                    "iam:ListOpenIdConnectProviders",
                    "iam:ListRoles",
                ]
            )
        ),
    ),
    AwsPolicy(
        "AmazonCognitoDeveloperAuthenticatedIdentities",
        "/",
        "Provides access to Amazon Cognito APIs to support developer authenticated identities from your "
        "authentication backend.",
        _doc(
            _allow(
                [
                    "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
                    "cognito-identity:LookupDeveloperIdentity",
                    "cognito-identity:MergeDeveloperIdentities",
                    "cognito-identity:UnlinkDeveloperIdentity",
                ]
            )
        ),
    ),
    AwsPolicy(
        "AmazonCognitoUnAuthedIdentitiesSessionPolicy",
        "/",
        "This policy defines the set of permissions allowed for unauthenticated identities for Cognito Identity "
        "Pools. Cognito Identity Service includes it as a scoped-down policy when creating credentials.",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "CognitoUnAuthedIdentitiesSessionPolicy",
                        "Effect": "Allow",
                        "Action": [
                            "rum:PutRumEvents",
                            "sagemaker:InvokeEndpoint",
                            "polly:*",
                            "comprehend:*",
                            "translate:*",
                            "transcribe:*",
                            "rekognition:*",
                            "mobiletargeting:*",
                            "firehose:*",
                            "personalize:*",
                            "geo:GetMap*",
                            "geo:SearchPlaceIndex*",
                            "geo:GetPlace",
                            "geo:CalculateRoute*",
                            "geo:*Geofence",
                            "geo:*Geofences",
                            "geo:*DevicePosition*",
                            "kms:Encrypt",
                            "kms:Decrypt",
                            "kms:ReEncryptTo",
                            "kms:ReEncryptFrom",
                            "kms:GenerateDataKey",
                            "kms:GenerateDataKeyPair",
                            "kms:GenerateDataKeyPairWithoutPlaintext",
                            "kms:GenerateDataKeyWithoutPlaintext",
                        ],
                        "Resource": "*",
                    }
                ],
            }
        ),
    ),
]

BY_ARN: dict[str, AwsPolicy] = {p.arn: p for p in _POLICIES}
GUEST_SESSION_POLICY = "arn:aws:iam::aws:policy/AmazonCognitoUnAuthedIdentitiesSessionPolicy"


def all_policies() -> list[AwsPolicy]:
    return list(_POLICIES)
