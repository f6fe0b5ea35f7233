"""Answers for users that do not exist, where the app client prevents user existence errors
(PreventUserExistenceErrors=ENABLED; Cognito Developer Guide, "Managing user existence error
responses").

An unknown name gets what a real user would have got, shape for shape, and the same answer each
time: every value here is derived from the name with an HMAC under a key derived from the server's
KEK (``SecretBox.mac_key``), so it is stable per pool and name, the same in every process, and
cannot be told from a real user's value without the key.

- ``phantom_id``: a version-4 UUID standing for the unknown user: its internal id (USER_ID_FOR_SRP
  where a real user's is a UUID, as AWS answers) and the subject its failed sign-ins are counted
  under (lockout), so that an unknown name is locked out exactly as a real user is.
- ``srp_material``: a salt in the format of a real one and a verifier v = g^x for a secret x, so that
  the PASSWORD_VERIFIER challenge (SALT, SRP_B = k·v + g^b) and the work behind it are a real user's.
- ``delivery``: CodeDeliveryDetails to a simulated destination, masked as a real one is, by the
  input name's format and the pool's verification settings (AWS: "determined by the input user name
  format and verification settings of the user pool").
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from ostiary.crypto.secrets import SecretBox
from ostiary.userpools import srp
from ostiary.userpools.attributes import _EMAIL, _PHONE
from ostiary.userpools.directory import PoolView, username_key
from ostiary.userpools.messages import Delivery

_PURPOSE = "user-existence"
# first letters of the domains real addresses mostly have (mail providers), so that simulated
# destinations are spread like real ones rather than all alike
_DOMAIN_INITIALS = "ggggggggoooohhhyyyiiaapmcqlzwt"
_LOCAL_INITIALS = "abcdefghijklmnopqrstuvwxyz"


def _normalized(pool: PoolView, name: str) -> str:
    """The name as the directory matches it: addresses without regard to case, usernames by the
    pool's case sensitivity."""
    if _EMAIL.match(name):
        return name.lower()
    return username_key(pool, name)


def _digest(box: SecretBox, pool: PoolView, name: str, label: str) -> bytes:
    message = f"{label}\x00{pool.id}\x00{_normalized(pool, name)}".encode()
    return hmac.new(box.mac_key(_PURPOSE), message, hashlib.sha256).digest()


def phantom_id(box: SecretBox, pool: PoolView, name: str) -> str:
    """A version-4 UUID for an unknown name (stable per pool and name)."""
    return str(uuid.UUID(bytes=_digest(box, pool, name, "id")[:16], version=4))


def user_id_for_srp(box: SecretBox, pool: PoolView, name: str) -> str:
    """USER_ID_FOR_SRP for an unknown name, in the shape a real user's takes: where usernames are
    UUIDs (UsernameAttributes) or the name is an address that a real user would have been found by
    (an alias), a UUID, as AWS answers; otherwise the name as given, as a real user's username."""
    if pool.username_attributes:
        return phantom_id(box, pool, name)
    aliases = pool.alias_attributes
    if ("email" in aliases and _EMAIL.match(name)) or ("phone_number" in aliases and _PHONE.match(name)):
        return phantom_id(box, pool, name)
    return name


def srp_material(box: SecretBox, pool: PoolView, name: str) -> tuple[str, int]:
    """(salt hex, verifier) for an unknown name: a salt formatted as ``srp.new_salt`` formats real
    ones, and v = g^x with x a secret of the server (no password answers it)."""
    raw = bytearray(_digest(box, pool, name, "srp-salt")[:16])
    raw[0] = (raw[0] & 0x6F) | 0x10  # as srp.new_salt: a first nibble of 1-7
    x = int.from_bytes(_digest(box, pool, name, "srp-x"), "big") | 1
    return raw.hex(), srp.g_pow(x)


def _destination(box: SecretBox, pool: PoolView, name: str, attribute: str) -> str:
    d = _digest(box, pool, name, f"destination:{attribute}")
    if attribute == "email":
        local = _LOCAL_INITIALS[d[0] % len(_LOCAL_INITIALS)]
        domain = _DOMAIN_INITIALS[d[1] % len(_DOMAIN_INITIALS)]
        return f"{local}{d[2:6].hex()}@{domain}{d[6:9].hex()}.invalid"
    digits = "".join(str(b % 10) for b in d[:10])
    return f"+1{digits}"


def _delivery(box: SecretBox, pool: PoolView, name: str, attribute: str) -> Delivery:
    medium = "EMAIL" if attribute == "email" else "SMS"
    if attribute == "email" and _EMAIL.match(name):
        return Delivery(medium, attribute, name)  # an address given: a real user found by it has it
    if attribute == "phone_number" and _PHONE.match(name):
        return Delivery(medium, attribute, name)
    return Delivery(medium, attribute, _destination(box, pool, name, attribute))


def recovery_attribute(pool: PoolView, name: str) -> str:
    """Where a password-reset code of a real user most likely goes: an address given goes to
    itself; else the first recovery mechanism of the pool (AccountRecoverySetting) whose attribute
    the pool verifies, else the first mechanism, else email."""
    if _EMAIL.match(name):
        return "email"
    if _PHONE.match(name):
        return "phone_number"
    setting = pool.config.get("AccountRecoverySetting") or {}
    mechanisms = sorted(setting.get("RecoveryMechanisms") or [], key=lambda m: m.get("Priority", 9))
    names = [m["Name"] for m in mechanisms] or ["verified_phone_number", "verified_email"]
    candidates = [
        a for a in ({"verified_email": "email", "verified_phone_number": "phone_number"}.get(n) for n in names) if a
    ]
    for attribute in candidates:
        if attribute in pool.auto_verified:
            return attribute
    return candidates[0] if candidates else "email"


def verification_attribute(pool: PoolView, name: str) -> str | None:
    """Where a sign-up confirmation code of a real user goes (the pool's auto-verified attributes,
    email first, or the kind of address given); None when the pool verifies nothing."""
    verified = [a for a in ("email", "phone_number") if a in pool.auto_verified]
    if not verified:
        return None
    if "phone_number" in verified and _PHONE.match(name):
        return "phone_number"
    return verified[0]


def delivery(box: SecretBox, pool: PoolView, name: str, attribute: str) -> dict[str, str]:
    """Simulated CodeDeliveryDetails of ``attribute`` (email or phone_number) for an unknown name."""
    return _delivery(box, pool, name, attribute).details()
