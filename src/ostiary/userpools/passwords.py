"""The pool's password policy, and temporary passwords that satisfy it.

Rules and character set from the Cognito Developer Guide, "Adding user pool password requirements":
symbols are ``^ $ * . [ ] { } ( ) ? " ! @ # % & / \\ , > < ' : ; | _ ~ ` = + -`` and the space
(not leading or trailing). Passwords are at most 256 characters.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "
MAX_LENGTH = 256

DEFAULT_POLICY: dict[str, Any] = {
    "MinimumLength": 8,
    "RequireUppercase": True,
    "RequireLowercase": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "TemporaryPasswordValidityDays": 7,
}


def policy_problem(password: str, policy: dict[str, Any] | None) -> str | None:
    """The AWS message for the first rule ``password`` breaks, or None when it conforms."""
    p = {**DEFAULT_POLICY, **(policy or {})}
    prefix = "Password did not conform with policy: "
    if len(password) < int(p.get("MinimumLength", 8)):
        return prefix + "Password not long enough"
    if len(password) > MAX_LENGTH:
        return prefix + "Password is too long"
    if password != password.strip(" "):
        return prefix + "Password must not have leading or trailing whitespace"
    if p.get("RequireLowercase") and not any(c in string.ascii_lowercase for c in password):
        return prefix + "Password must have lowercase characters"
    if p.get("RequireUppercase") and not any(c in string.ascii_uppercase for c in password):
        return prefix + "Password must have uppercase characters"
    if p.get("RequireNumbers") and not any(c in string.digits for c in password):
        return prefix + "Password must have numeric characters"
    if p.get("RequireSymbols") and not any(c in SYMBOLS for c in password):
        return prefix + "Password must have symbol characters"
    return None


GENERATED_LENGTH = 24  # 20 characters drawn from 90 after the four forced ones: 129.8 bits at least


def temporary_password(policy: dict[str, Any] | None) -> str:
    """A random password that satisfies the policy (one of each class, then random characters): at
    least 24 characters, so that it carries at least 128 bits of entropy (the 20 characters drawn
    from the 90 of all classes alone carry 129.8), which lets it be stored with a fast keyed hash
    (``crypto.passwords.PasswordHasher.hash_generated``) rather than Argon2id."""
    p = {**DEFAULT_POLICY, **(policy or {})}
    length = max(int(p.get("MinimumLength", 8)), GENERATED_LENGTH)
    symbols = "^$*.[]{}()?!@#%&/,><:;|_~=+-"
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, symbols]
    chars = [secrets.choice(c) for c in classes]
    pool = "".join(classes)
    chars += [secrets.choice(pool) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)
