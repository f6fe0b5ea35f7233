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


GENERATED_LENGTH = 24  # 24 characters uniform over the 90 of all classes: 155 bits (> 128 even for 20)
_GENERATED_SYMBOLS = "^$*.[]{}()?!@#%&/,><:;|_~=+-"
_GENERATED_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, _GENERATED_SYMBOLS)
_GENERATED_ALPHABET = "".join(_GENERATED_CLASSES)
_UNBIASED_BELOW = 256 - 256 % len(_GENERATED_ALPHABET)  # bytes at or above this are drawn again


def temporary_password(policy: dict[str, Any] | None) -> str:
    """A random password that satisfies the policy: at least 24 characters, each uniform over the 90
    characters of all classes (one byte of the system's randomness each, bytes that would bias the
    draw discarded), drawn again whole when a class is missing (1 time in 17), so uniform over the
    passwords of that length that have every class. That is at least 128 bits of entropy, which lets
    it be stored with a fast keyed hash (``crypto.passwords.PasswordHasher.hash_generated``) rather
    than Argon2id. One read of the system's randomness per draw: ``secrets.choice`` per character and
    a shuffle cost ~50 of them."""
    p = {**DEFAULT_POLICY, **(policy or {})}
    length = max(int(p.get("MinimumLength", 8)), GENERATED_LENGTH)
    alphabet, size = _GENERATED_ALPHABET, len(_GENERATED_ALPHABET)
    while True:
        chars: list[str] = []
        while len(chars) < length:
            chars += [alphabet[b % size] for b in secrets.token_bytes(2 * length) if b < _UNBIASED_BELOW]
        password = "".join(chars[:length])
        if all(any(c in cls for c in password) for cls in _GENERATED_CLASSES):
            return password
