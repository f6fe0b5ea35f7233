"""Password policy, masking, SECRET_HASH and ListUsers filters."""

from __future__ import annotations

import pytest
from pycognito.aws_srp import AWSSRP

from ostiary.userpools import filters, masking, passwords, secret_hash


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("NOLOWER1!", "Password must have lowercase characters"),
        ("noupper1!", "Password must have uppercase characters"),
        ("NoNumber!", "Password must have numeric characters"),
        ("NoSymbol1", "Password must have symbol characters"),
        (" Lead1ng!", "Password must not have leading or trailing whitespace"),
        ("Good Pass1", None),
        ("Corr3ct-Horse!", None),
    ],
)
def test_default_policy(password: str, problem: str | None) -> None:
    got = passwords.policy_problem(password, None)
    assert (got is None) if problem is None else (got == "Password did not conform with policy: " + problem)


def test_relaxed_policy_and_temporary_passwords() -> None:
    relaxed = {"MinimumLength": 6, "RequireUppercase": False, "RequireSymbols": False, "RequireNumbers": False}
    assert passwords.policy_problem("simple", relaxed) is None
    strict = {"MinimumLength": 20}
    for _ in range(50):
        pw = passwords.temporary_password(strict)
        assert len(pw) >= 20 and passwords.policy_problem(pw, strict) is None


def test_masking() -> None:
    assert masking.mask_email("alice@example.com") == "a***@e***"
    assert masking.mask_phone("+15555551234") == "+*******1234"
    assert masking.mask("SMS", "+15555551234") == "+*******1234"


def test_secret_hash_matches_pycognito() -> None:
    expected = AWSSRP.get_secret_hash("alice", "client123", "s3cr3t")
    assert secret_hash.secret_hash("s3cr3t", "alice", "client123") == expected
    assert secret_hash.check("s3cr3t", "alice", "client123", expected)
    assert not secret_hash.check("s3cr3t", "bob", "client123", expected)


def test_filters() -> None:
    f = filters.parse('email ^= "ali"')
    assert f is not None and f.prefix and f.matches("alice@example.com") and not f.matches("bob@x")
    f = filters.parse('username = "Alice"')
    assert f is not None and f.matches("alice")
    f = filters.parse('name = "say \\"hi\\""')
    assert f is not None and f.value == 'say "hi"'
    assert filters.parse("") is None
    with pytest.raises(filters.FilterError):
        filters.parse("email ~ x")
    with pytest.raises(filters.FilterError):
        filters.parse('custom:foo = "x"')
