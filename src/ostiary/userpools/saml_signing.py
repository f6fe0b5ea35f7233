"""A user pool's SAML service-provider certificate: GetSigningCertificate, and the key that signs
the AuthnRequests of SAML providers whose ``RequestSigningAlgorithm`` is ``rsa-sha256``.

The key is RSA 2048, made on first use, sealed under the KEK in ``signing_keys`` (owner
``saml-sp:<poolId>``, so it never appears in the pool's JWKS); its certificate is self-signed for
ten years with subject ``CN=urn:amazon:cognito:sp:<poolId>``.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import insert, select

from ostiary.caching import TtlCache
from ostiary.crypto.secrets import SecretBox
from ostiary.protocol.context import RequestContext
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import Store
from ostiary.userpools.lookup import pool_for_caller

RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
VALIDITY = dt.timedelta(days=3650)


@dataclass(frozen=True)
class SpKey:
    private: rsa.RSAPrivateKey
    certificate_der: bytes

    def sign_redirect(self, query: str) -> str:
        """The HTTP-Redirect binding's Signature over ``SAMLRequest=…&RelayState=…&SigAlg=…``."""
        signature = self.private.sign(query.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


_CACHE: TtlCache[str, SpKey] = TtlCache("saml_sp_keys", ttl=None)  # a pool's key never changes once made


def _owner(pool_id: str) -> str:
    return f"saml-sp:{pool_id}"


def _certificate(pool_id: str, key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"urn:amazon:cognito:sp:{pool_id}")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _row(store: Store, pool_id: str) -> tuple[str, str, str] | None:
    with store.read() as conn:
        row = conn.execute(
            select(t.signing_keys.c.kid, t.signing_keys.c.private_enc, t.signing_keys.c.public_jwk)
            .where(t.signing_keys.c.owner == _owner(pool_id), t.signing_keys.c.status == "active")
            .order_by(t.signing_keys.c.created_at)
            .limit(1)
        ).first()
    if row is None:
        return None
    return row.kid, row.private_enc, str(row.public_jwk["x5c"][0])


def sp_key(store: Store, box: SecretBox, pool_id: str) -> SpKey:
    """The pool's SAML key and certificate (made on first use; outside any other transaction)."""
    hit = _CACHE.get(pool_id)
    if hit is not None:
        return hit
    found = _row(store, pool_id)
    if found is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = secrets.token_urlsafe(32)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        der = _certificate(pool_id, key)
        with store.tx() as conn:
            conn.execute(
                insert(t.signing_keys).values(
                    kid=kid,
                    owner=_owner(pool_id),
                    purpose="saml",
                    private_enc=box.seal(pem, "signing-key:" + kid),
                    public_jwk={"x5c": [base64.b64encode(der).decode()]},
                    status="active",
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        found = _row(store, pool_id)  # another process may have made one first: the oldest wins
        assert found is not None
    kid, sealed, cert_b64 = found
    private = serialization.load_pem_private_key(box.open(sealed, "signing-key:" + kid).encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    entry = SpKey(private, base64.b64decode(cert_b64))
    _CACHE.set(pool_id, entry)
    return entry


@operation("cognito-idp", "GetSigningCertificate", offload=True)
def get_signing_certificate(ctx: RequestContext, params: Params) -> Result:
    """The pool's SAML signing certificate, base64 DER (what SAML IdPs import to check signed
    AuthnRequests)."""
    with ctx.store.read() as conn:
        pool = pool_for_caller(conn, ctx, params["UserPoolId"])
    key = sp_key(ctx.store, ctx.box, pool.id)
    return {"Certificate": base64.b64encode(key.certificate_der).decode()}
