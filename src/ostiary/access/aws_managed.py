"""AWS's own catalogues, shipped as data (``data/``, see its README; refreshed by
``tools/refresh_aws_catalogues.py``):

AWS managed policies (``arn:aws:iam::aws:policy/<path><name>``)
    The whole published catalogue: every policy's path, default version id (``v186`` for
    ReadOnlyAccess), CreateDate, UpdateDate and the default version's document. Only the default
    version's document is published, so it is the one version GetPolicyVersion and
    ListPolicyVersions know (its CreateDate is the policy's UpdateDate). They are read-only,
    attachable by every account and enforced like any other policy.

Service-linked roles
    Per service principal, the role name AWS gives it, the AWS managed policies AWS attaches to it
    and whether it takes a ``CustomSuffix``.

Both load on first use, not at import or server start: the policies' file is ~3 MB of JSON once
unzipped, and a document is parsed into a policy only when a request evaluates it.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

ARN_PREFIX = "arn:aws:iam::aws:policy/"
GUEST_SESSION_POLICY = ARN_PREFIX + "AmazonCognitoUnAuthedIdentitiesSessionPolicy"
POLICIES_FILE = "aws_managed_policies.json.gz"
ROLES_FILE = "service_linked_roles.json"

# AWS's descriptions of some policies (the published catalogue has no descriptions); GetPolicy
# leaves Description out for the others
DESCRIPTIONS = {
    "AdministratorAccess": "Provides full access to AWS services and resources.",
    "PowerUserAccess": "Provides full access to AWS services and resources, but does not allow management of "
    "Users and groups.",
    "ReadOnlyAccess": "Provides read-only access to AWS services and resources.",
    "IAMFullAccess": "Provides full access to IAM via the AWS Management Console.",
    "IAMReadOnlyAccess": "Provides read only access to IAM via the AWS Management Console.",
    "AmazonCognitoPowerUser": "Provides administrative access to existing Amazon Cognito resources. You will need "
    "AWS account admin access to create new Cognito resources.",
    "AmazonCognitoReadOnly": "Provides read only access to Amazon Cognito resources.",
    "AmazonCognitoDeveloperAuthenticatedIdentities": "Provides access to Amazon Cognito APIs to support developer "
    "authenticated identities from your authentication backend.",
    "AmazonCognitoUnAuthedIdentitiesSessionPolicy": "This policy defines the set of permissions allowed for "
    "unauthenticated identities for Cognito Identity Pools. Cognito Identity Service includes it as a "
    "scoped-down policy when creating credentials.",
    "AWSLambdaExecute": "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
    "AmazonS3ReadOnlyAccess": "Provides read only access to all buckets via the AWS Management Console.",
    "AmazonS3FullAccess": "Provides full access to all buckets via the AWS Management Console.",
}


@dataclass(frozen=True)
class AwsPolicy:
    name: str
    path: str
    default_version: str
    created: dt.datetime
    updated: dt.datetime
    document: str  # the default version's, as JSON text

    @property
    def arn(self) -> str:
        return f"{ARN_PREFIX}{self.path[1:]}{self.name}"

    @property
    def policy_id(self) -> str:
        return "ANPA" + hashlib.sha256(self.name.encode()).hexdigest().upper()[:17]

    @property
    def description(self) -> str | None:
        return DESCRIPTIONS.get(self.name)

    def policy_type(self, attachments: int, boundaries: int) -> dict[str, Any]:
        """IAM's ``Policy`` shape, with the calling account's usage counts."""
        out: dict[str, Any] = {
            "PolicyName": self.name,
            "PolicyId": self.policy_id,
            "Arn": self.arn,
            "Path": self.path,
            "DefaultVersionId": self.default_version,
            "AttachmentCount": attachments,
            "PermissionsBoundaryUsageCount": boundaries,
            "IsAttachable": True,
            "CreateDate": self.created,
            "UpdateDate": self.updated,
        }
        if self.description:
            out["Description"] = self.description
        return out

    def version_type(self, *, document: bool) -> dict[str, Any]:
        """IAM's ``PolicyVersion`` shape of the default version (the one published)."""
        out: dict[str, Any] = {}
        if document:
            out["Document"] = quote(self.document, safe="")
        out.update({"VersionId": self.default_version, "IsDefaultVersion": True, "CreateDate": self.updated})
        return out


@dataclass(frozen=True)
class ServiceLinkedRole:
    service: str
    role_name: str
    policies: tuple[str, ...]  # AWS managed policy ARNs AWS attaches
    custom_suffix: bool  # whether CreateServiceLinkedRole takes a CustomSuffix


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def _read(name: str, path: Path | None) -> bytes:
    if path is not None:
        return path.read_bytes()
    return resources.files("ostiary.access").joinpath("data").joinpath(name).read_bytes()


def load_policies(path: Path | None = None) -> list[AwsPolicy]:
    """The policies of ``path`` (default: the shipped catalogue), in the file's order (IAM's)."""
    body = json.loads(gzip.decompress(_read(POLICIES_FILE, path)))
    return [
        AwsPolicy(name, p, version, _timestamp(created), _timestamp(updated), document)
        for name, p, version, created, updated, document in body["policies"]
    ]


def load_service_linked_roles(path: Path | None = None) -> dict[str, ServiceLinkedRole]:
    body = json.loads(_read(ROLES_FILE, path))
    return {
        service: ServiceLinkedRole(
            service, entry["RoleName"], tuple(entry["AttachedPolicies"]), bool(entry["CustomSuffixAllowed"])
        )
        for service, entry in body["roles"].items()
    }


@functools.cache
def _catalogue() -> tuple[list[AwsPolicy], dict[str, AwsPolicy]]:
    policies = load_policies()
    return policies, {p.arn: p for p in policies}


@functools.cache
def service_linked_roles() -> dict[str, ServiceLinkedRole]:
    return load_service_linked_roles()


class _ByArn(Mapping[str, AwsPolicy]):
    """The catalogue by ARN, loaded on first use; an ARN that is not ``arn:aws:iam::aws:policy/…``
    (a customer managed policy's) is answered without loading it."""

    def __getitem__(self, arn: str) -> AwsPolicy:
        if not isinstance(arn, str) or not arn.startswith(ARN_PREFIX):
            raise KeyError(arn)
        return _catalogue()[1][arn]

    def __contains__(self, arn: object) -> bool:
        return isinstance(arn, str) and arn.startswith(ARN_PREFIX) and arn in _catalogue()[1]

    def __iter__(self) -> Iterator[str]:
        return iter(_catalogue()[1])

    def __len__(self) -> int:
        return len(_catalogue()[1])


BY_ARN: Mapping[str, AwsPolicy] = _ByArn()


def all_policies() -> list[AwsPolicy]:
    """Every AWS managed policy, in the order IAM lists them (by creation, then name)."""
    return list(_catalogue()[0])
