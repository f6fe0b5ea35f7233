"""RS256 signing keys per owner (a user pool, or the identity-pool issuer), stored encrypted in the store.

Each owner has two active RSA-2048 keys, one for ID tokens and one for access tokens (as Cognito
signs the two with different ``kid``s). Rotation makes a new active key and retires the old one:
retired keys stay in the JWKS, so tokens already issued keep verifying until they expire.
Private keys are PKCS#8 PEM sealed with the KEK; decrypted keys are cached per process.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, insert, select, update

from ostiary.caching import TtlCache
from ostiary.crypto.jwt import b64url_decode, public_jwk
from ostiary.crypto.secrets import SecretBox
from ostiary.store import tables as t
from ostiary.store.db import Store, now

PURPOSES = ("id", "access")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    purpose: str
    private: rsa.RSAPrivateKey


@dataclass
class _Owner:
    active: dict[str, SigningKey]
    public: dict[str, rsa.RSAPublicKey]
    jwks: list[dict[str, Any]]


def _new_kid() -> str:
    return secrets.token_urlsafe(32)


def _generate(conn: Connection, box: SecretBox, owner: str, purpose: str) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = _new_kid()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    conn.execute(
        insert(t.signing_keys).values(
            kid=kid,
            owner=owner,
            purpose=purpose,
            private_enc=box.seal(pem, "signing-key:" + kid),
            public_jwk=public_jwk(kid, key.public_key()),
            status="active",
            created_at=now(),
        )
    )


def create_keys(conn: Connection, box: SecretBox, owner: str) -> None:
    """Give a new owner its ID-token and access-token keys (inside the caller's transaction)."""
    for purpose in PURPOSES:
        _generate(conn, box, owner, purpose)


def delete_keys(conn: Connection, owner: str) -> None:
    conn.execute(t.signing_keys.delete().where(t.signing_keys.c.owner == owner))


def rotate(store: Store, box: SecretBox, owner: str) -> None:
    """New active keys; the previous ones are retired but still published for verification."""
    with store.tx() as conn:
        conn.execute(
            update(t.signing_keys)
            .where(t.signing_keys.c.owner == owner, t.signing_keys.c.status == "active")
            .values(status="retired")
        )
        create_keys(conn, box, owner)


class KeyRing:
    """Per-process cache of owners' keys (refreshed every ``cache_signing_key_seconds``, 30 s, or on an
    unknown kid).

    Keys are created with their owner (``create_keys`` inside the owner's creating transaction),
    never lazily here: a lazy write from inside another request's transaction would deadlock SQLite.
    """

    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box
        self._owners: TtlCache[str, _Owner] = TtlCache("signing_keys", ttl=30)
        # private keys as parsed, by kid and sealed text (so never stale): a reload every 30 s found the
        # same keys and parsed them again, ~10-30 ms of RSA key checks per pool each time
        # (and their public halves: the same objects after a reload, so access tokens verified with an
        # unchanged key stay verified — tokens._verified_claims compares key objects)
        self._parsed: TtlCache[tuple[str, str], tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]] = TtlCache(
            "parsed_signing_keys", ttl=None
        )

    def _load(self, owner: str) -> _Owner:
        with self.store.read() as conn:
            rows = conn.execute(
                select(
                    t.signing_keys.c.kid,
                    t.signing_keys.c.purpose,
                    t.signing_keys.c.private_enc,
                    t.signing_keys.c.public_jwk,
                    t.signing_keys.c.status,
                )
                .where(t.signing_keys.c.owner == owner)
                .order_by(t.signing_keys.c.created_at)
            ).all()
        if not any(r.status == "active" for r in rows):
            raise KeyError(f"no active signing keys for {owner}")
        active: dict[str, SigningKey] = {}
        public: dict[str, rsa.RSAPublicKey] = {}
        jwks: list[dict[str, Any]] = []
        for r in rows:
            jwk = dict(r.public_jwk)
            jwks.append(jwk)
            if r.status == "active":
                private, public[r.kid] = self._private(r.kid, r.private_enc)
                active[r.purpose] = SigningKey(r.kid, r.purpose, private)
            else:
                public[r.kid] = _public_from_jwk(jwk)
        # the newest key first, as Cognito lists them
        jwks.reverse()
        return _Owner(active=active, public=public, jwks=jwks)

    def _private(self, kid: str, sealed: str) -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
        def parse() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
            pem = self.box.open(sealed, "signing-key:" + kid)
            private = serialization.load_pem_private_key(pem.encode(), password=None)
            assert isinstance(private, rsa.RSAPrivateKey)
            return private, private.public_key()

        return self._parsed.get_or_load((kid, sealed), parse)

    def _get(self, owner: str, force: bool = False) -> _Owner:
        cached = self._owners.get(owner) if not force else None
        if cached is not None:
            return cached
        fresh = self._load(owner)
        self._owners.set(owner, fresh)
        return fresh

    def signing_key(self, owner: str, purpose: str) -> SigningKey:
        return self._get(owner).active[purpose]

    def public_keys(self, owner: str, kid: str | None = None) -> dict[str, rsa.RSAPublicKey]:
        """Keys that verify ``owner``'s tokens; reloads once when ``kid`` is not known yet."""
        entry = self._get(owner)
        if kid is not None and kid not in entry.public:
            entry = self._get(owner, force=True)
        return entry.public

    def jwks(self, owner: str) -> dict[str, Any]:
        return {"keys": self._get(owner).jwks}

    def forget(self, owner: str) -> None:
        self._owners.pop(owner)

    def clear(self) -> None:
        self._owners.clear()


def _public_from_jwk(jwk: dict[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(b64url_decode(jwk["n"]), "big")
    e = int.from_bytes(b64url_decode(jwk["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()
