"""SCIM filter and PATCH path parsing and evaluation (ostiary.identitystore.scim.filters), in process:
precedence, value paths, schema URNs, literals, case rules and the input bounds."""

from __future__ import annotations

from typing import Any

import pytest

from ostiary.identitystore.scim import filters
from ostiary.identitystore.scim.filters import ENTERPRISE_USER, FilterError, parse, parse_path

USER: dict[str, Any] = {
    "id": "abc-123",
    "externalId": "Ext-1",
    "userName": "Bjensen",
    "title": "Tour Guide",
    "active": True,
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@home.example", "type": "home"}],
    ENTERPRISE_USER: {"department": "Tours", "manager": {"value": "m-1"}},
    "meta": {"lastModified": "2026-01-02T00:00:00Z"},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', True),  # case ignored
        ('id eq "ABC-123"', False),  # id is case-exact
        ('externalId eq "Ext-1"', True),
        ('externalId eq "ext-1"', False),
        ('name.familyName co "ens"', True),
        ('userName sw "bj" and title ew "guide"', True),
        ('userName eq "x" or title pr', True),
        ('userName eq "x" or title eq "y" and active eq true', False),  # and binds tighter
        ('(userName eq "x" or title pr) and active eq false', False),
        ('not (userName eq "bjensen")', False),
        ('emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "home" and value co "@example.com"]', False),
        ('emails.type eq "home"', True),
        ("emails pr", True),
        ("nickName pr", False),
        ('userName ne "bjensen"', False),
        ("nickName ne null", False),
        (f'{ENTERPRISE_USER}:department eq "tours"', True),
        (f'{ENTERPRISE_USER}:manager.value eq "m-1"', True),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen"', True),
        ('meta.lastModified gt "2025-12-31T00:00:00Z"', True),
        ('title eq "Tour \\"Guide\\""', False),
    ],
)
def test_filters(text: str, expected: bool) -> None:
    assert filters.matches(parse(text), USER) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "userName",
        'userName eq "a" and',
        'userName xx "a"',
        'userName eq "unterminated',
        "userName eq bare",
        "(" * 20 + 'userName eq "a"' + ")" * 20,  # deeper than MAX_DEPTH
        'userName eq "' + "a" * filters.MAX_LENGTH + '"',
        'emails[type eq "work"',
        '1abc eq "a"',
    ],
)
def test_bad_filters(text: str) -> None:
    with pytest.raises(FilterError):
        parse(text)


def test_patch_paths() -> None:
    p = parse_path('emails[type eq "work"].value')
    assert (p.path.attr, p.sub, isinstance(p.where, filters.Compare)) == ("emails", "value", True)
    p = parse_path("name.givenName")
    assert (p.path.attr, p.path.sub, p.where) == ("name", "givenName", None)
    p = parse_path(f"{ENTERPRISE_USER}:department")
    assert (p.path.schema, p.path.attr) == (ENTERPRISE_USER, "department")
    p = parse_path('members[value eq "u-1"]')
    assert p.path.attr == "members" and p.sub is None
    for bad in ("emails[type eq", 'name.givenName[type eq "x"]', 'emails[type eq "w"]x', "emails extra"):
        with pytest.raises(FilterError):
            parse_path(bad)
