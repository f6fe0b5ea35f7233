"""Terms documents with boto3 (CreateTerms, DescribeTerms, DescribeTermsByClient, UpdateTerms,
ListTerms, DeleteTerms) and their links on the hosted sign-up page, by language."""

from __future__ import annotations

import secrets

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.oauth.conftest import CALLBACK, Hosted


def _signup_page(h: Hosted, **extra: str) -> str:
    params = {"client_id": h.second_client_id, "response_type": "code", "redirect_uri": CALLBACK, **extra}
    page = httpx.get(f"{h.base}/signup", params=params)
    assert page.status_code == 200, page.text[:500]
    return page.text


def test_terms_documents(hosted: Hosted) -> None:
    idp, pool, client = hosted.idp, hosted.pool_id, hosted.second_client_id
    terms = idp.create_terms(
        UserPoolId=pool,
        ClientId=client,
        TermsName="terms-of-use",
        TermsSource="LINK",
        Enforcement="NONE",
        Links={"cognito:default": "https://example.com/terms", "cognito:spanish": "https://example.com/es/terms"},
    )["Terms"]
    assert terms["TermsName"] == "terms-of-use" and terms["ClientId"] == client
    assert "example.com/terms" not in _signup_page(hosted)  # both documents are needed
    with pytest.raises(ClientError) as exc:
        idp.create_terms(
            UserPoolId=pool,
            ClientId=client,
            TermsName="terms-of-use",
            TermsSource="LINK",
            Enforcement="NONE",
            Links={"cognito:default": "https://example.com/other"},
        )
    assert exc.value.response["Error"]["Code"] == "TermsExistsException"
    with pytest.raises(ClientError) as exc:
        idp.create_terms(
            UserPoolId=pool,
            ClientId=client,
            TermsName="privacy-policy",
            TermsSource="LINK",
            Enforcement="NONE",
            Links={"cognito:klingon": "https://example.com/privacy"},
        )
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    privacy = idp.create_terms(
        UserPoolId=pool,
        ClientId=client,
        TermsName="privacy-policy",
        TermsSource="LINK",
        Enforcement="NONE",
        Links={"cognito:default": "https://example.com/privacy"},
    )["Terms"]

    page = _signup_page(hosted)
    assert 'href="https://example.com/terms"' in page and 'href="https://example.com/privacy"' in page
    spanish = _signup_page(hosted, lang="es")
    assert 'href="https://example.com/es/terms"' in spanish and 'href="https://example.com/privacy"' in spanish

    found = idp.describe_terms_by_client(UserPoolId=pool, ClientId=client, TermsName="privacy-policy")["Terms"]
    assert found["TermsId"] == privacy["TermsId"]
    updated = idp.update_terms(
        UserPoolId=pool, TermsId=privacy["TermsId"], Links={"cognito:default": "https://example.com/privacy-v2"}
    )["Terms"]
    assert updated["Links"] == {"cognito:default": "https://example.com/privacy-v2"}
    assert idp.describe_terms(UserPoolId=pool, TermsId=terms["TermsId"])["Terms"]["Links"]["cognito:spanish"]
    listed = idp.list_terms(UserPoolId=pool)["Terms"]
    assert {t["TermsId"] for t in listed} >= {terms["TermsId"], privacy["TermsId"]}
    idp.delete_terms(UserPoolId=pool, TermsId=privacy["TermsId"])
    with pytest.raises(ClientError) as exc:
        idp.describe_terms(UserPoolId=pool, TermsId=privacy["TermsId"])
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert "example.com/terms" not in _signup_page(hosted, state=secrets.token_hex(2))
