"""User pool domains through boto3: prefix and custom domains, validation, uniqueness across pools,
DescribeUserPool's Domain and CustomDomain."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT_ID, REGION, Server, make_client

CERT = f"arn:aws:acm:us-east-1:{ACCOUNT_ID}:certificate/0b1d2c3e-4f50-6a7b-8c9d-0e1f2a3b4c5d"


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _prefix() -> str:
    return "app-" + secrets.token_hex(4)


def test_prefix_domain_lifecycle(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    prefix = _prefix()
    created = idp.create_user_pool_domain(UserPoolId=pid, Domain=prefix)
    host = f"{prefix}.auth.{REGION}.amazoncognito.localhost"
    assert created["CloudFrontDomain"] == host
    assert created["ManagedLoginVersion"] == 1
    d = idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]
    assert d["UserPoolId"] == pid and d["AWSAccountId"] == ACCOUNT_ID and d["Domain"] == prefix
    assert d["CloudFrontDistribution"] == host
    assert d["Status"] == "ACTIVE" and d["ManagedLoginVersion"] == 1 and d["Version"]
    assert "S3Bucket" not in d and "CustomDomainConfig" not in d
    described = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert described["Domain"] == prefix and "CustomDomain" not in described

    updated = idp.update_user_pool_domain(UserPoolId=pid, Domain=prefix, ManagedLoginVersion=2)
    assert updated["ManagedLoginVersion"] == 2 and updated["CloudFrontDomain"] == host
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"]["ManagedLoginVersion"] == 2

    idp.delete_user_pool_domain(UserPoolId=pid, Domain=prefix)
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}
    assert "Domain" not in idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_domain(UserPoolId=pid, Domain=prefix)
    assert _code(exc) == "InvalidParameterException"


def test_custom_domain(idp: Any, pool: dict[str, Any]) -> None:
    pid = pool["Id"]
    name = f"auth-{secrets.token_hex(4)}.example.com"
    with pytest.raises(ClientError) as exc:  # a DNS name without CustomDomainConfig
        idp.create_user_pool_domain(UserPoolId=pid, Domain=name)
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:  # not an ACM certificate
        idp.create_user_pool_domain(
            UserPoolId=pid, Domain=name, CustomDomainConfig={"CertificateArn": "arn:aws:iam::123456789012:role/x"}
        )
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:  # not a DNS name
        idp.create_user_pool_domain(UserPoolId=pid, Domain="nodots", CustomDomainConfig={"CertificateArn": CERT})
    assert _code(exc) == "InvalidParameterException"

    created = idp.create_user_pool_domain(UserPoolId=pid, Domain=name, CustomDomainConfig={"CertificateArn": CERT})
    assert created["CloudFrontDomain"] == "127.0.0.1"
    d = idp.describe_user_pool_domain(Domain=name)["DomainDescription"]
    assert d["Domain"] == name and d["CustomDomainConfig"] == {"CertificateArn": CERT}
    assert d["Status"] == "ACTIVE"

    prefix = _prefix()
    idp.create_user_pool_domain(UserPoolId=pid, Domain=prefix)  # one of each kind is allowed
    described = idp.describe_user_pool(UserPoolId=pid)["UserPool"]
    assert described["Domain"] == prefix and described["CustomDomain"] == name

    other = f"login-{secrets.token_hex(4)}.example.com"
    with pytest.raises(ClientError) as exc:  # a second custom domain
        idp.create_user_pool_domain(UserPoolId=pid, Domain=other, CustomDomainConfig={"CertificateArn": CERT})
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:  # a second prefix domain
        idp.create_user_pool_domain(UserPoolId=pid, Domain=_prefix())
    assert _code(exc) == "InvalidParameterException"

    new_cert = CERT[:-4] + "ffff"
    idp.update_user_pool_domain(UserPoolId=pid, Domain=name, CustomDomainConfig={"CertificateArn": new_cert})
    d = idp.describe_user_pool_domain(Domain=name)["DomainDescription"]
    assert d["CustomDomainConfig"]["CertificateArn"] == new_cert
    with pytest.raises(ClientError) as exc:  # a prefix domain has no certificate
        idp.update_user_pool_domain(UserPoolId=pid, Domain=prefix, CustomDomainConfig={"CertificateArn": CERT})
    assert _code(exc) == "InvalidParameterException"

    idp.delete_user_pool(UserPoolId=pid)  # domains go with the pool
    assert idp.describe_user_pool_domain(Domain=name)["DomainDescription"] == {}
    assert idp.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}


@pytest.mark.parametrize(
    "bad",
    ["My-App", "-app", "app-", "a_b", "x" * 64, "myaws-app", "amazonshop", "cognito1", "app.example"],
)
def test_prefix_validation(idp: Any, pool: dict[str, Any], bad: str) -> None:
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain=bad)
    assert _code(exc) == "InvalidParameterException"


def test_prefix_validation_messages(idp: Any, pool: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain="Bad_Prefix")
    assert "failed to satisfy constraint: Member must satisfy regular expression pattern" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain="my-aws-login")
    assert "reserved word: aws" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain=_prefix(), ManagedLoginVersion=3)
    assert _code(exc) == "InvalidParameterException"


def test_unique_across_pools_and_scoped_to_account(server: Server, idp: Any) -> None:
    a = idp.create_user_pool(PoolName="dom-a")["UserPool"]["Id"]
    b = idp.create_user_pool(PoolName="dom-b")["UserPool"]["Id"]
    prefix = _prefix()
    try:
        idp.create_user_pool_domain(UserPoolId=a, Domain=prefix)
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_domain(UserPoolId=b, Domain=prefix)
        assert _code(exc) == "InvalidParameterException"
        assert "already associated" in str(exc.value)
        with pytest.raises(ClientError) as exc:  # another pool cannot delete or update it
            idp.delete_user_pool_domain(UserPoolId=b, Domain=prefix)
        assert _code(exc) == "InvalidParameterException"
        with pytest.raises(ClientError) as exc:
            idp.update_user_pool_domain(UserPoolId=b, Domain=prefix, ManagedLoginVersion=2)
        assert _code(exc) == "InvalidParameterException"
        # another Region of the same account does not see it
        other = make_client(server.url, "cognito-idp", region_name="eu-west-1")
        assert other.describe_user_pool_domain(Domain=prefix)["DomainDescription"] == {}
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_domain(UserPoolId=f"{REGION}_doesNotEx", Domain=_prefix())
        assert _code(exc) == "ResourceNotFoundException"
    finally:
        idp.delete_user_pool(UserPoolId=a)
        idp.delete_user_pool(UserPoolId=b)
    # freed with its pool: the name can be taken again
    c = idp.create_user_pool(PoolName="dom-c")["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=c, Domain=prefix)
    idp.delete_user_pool(UserPoolId=c)


def test_unknown_domain_is_empty(idp: Any) -> None:
    assert idp.describe_user_pool_domain(Domain=_prefix())["DomainDescription"] == {}
    assert idp.describe_user_pool_domain(Domain="nothing.example.org")["DomainDescription"] == {}
