"""IAM SSH public keys, signing certificates and server certificates (IAM API Reference):
UploadSSHPublicKey, GetSSHPublicKey, ListSSHPublicKeys, UpdateSSHPublicKey, DeleteSSHPublicKey,
UploadSigningCertificate, ListSigningCertificates, UpdateSigningCertificate, DeleteSigningCertificate,
UploadServerCertificate, GetServerCertificate, ListServerCertificates, UpdateServerCertificate,
DeleteServerCertificate, TagServerCertificate, UntagServerCertificate, ListServerCertificateTags.

- SSH public keys (for CodeCommit) are RSA keys of at least 2048 bits, uploaded in OpenSSH
  (``ssh-rsa AAAA...``) or PEM form; GetSSHPublicKey returns either encoding. The fingerprint is the
  MD5 digest of the OpenSSH key blob, colon-separated hex. At most 5 a user.
- Signing certificates are X.509 PEM certificates of an IAM user, or of the account root when the
  root calls without UserName (``user_key`` NULL). At most 2 an owner; one certificate belongs to
  one owner of the account.
- Server certificates are a certificate, its private key and an optional chain; the private key is
  sealed under the KEK (context ``server-cert:<account>:<name>``) and never returned.

Keys and certificates of a user are keyed by the user's name key; UpdateUser moves them and
DeleteUser refuses while a user has any (iam/users.py).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import Row

from ostiary.access.principals import PrincipalKind
from ostiary.iam import tagging
from ostiary.iam.entities import get_user as get_user_row
from ostiary.iam.errors import (
    DuplicateCertificateException,
    DuplicateSSHPublicKeyException,
    EntityAlreadyExistsException,
    InvalidCertificateException,
    InvalidPublicKeyException,
    KeyPairMismatchException,
    LimitExceededException,
    MalformedCertificateException,
    NoSuchEntityException,
    UnrecognizedPublicKeyEncodingException,
)
from ostiary.iam.paging import page
from ostiary.iam.tagging import merge_tags
from ostiary.protocol.context import RequestContext
from ostiary.protocol.errors import ValidationFailed
from ostiary.protocol.registry import Params, Result, operation
from ostiary.store import tables as t
from ostiary.store.db import utc

MAX_SSH_KEYS_PER_USER = 5  # IAM and STS quotas: SSH public keys per user
MAX_SIGNING_CERTIFICATES_PER_USER = 2  # signing certificates per user
MAX_SERVER_CERTIFICATES = 20  # server certificates per account
MIN_RSA_BITS = 2048
_ID = string.ascii_uppercase + string.digits


def _new_id(prefix: str, size: int) -> str:
    return prefix + "".join(secrets.choice(_ID) for _ in range(size))


def _user_arn_resource(ctx: RequestContext, params: Params) -> str:
    """The user the key or certificate belongs to: UserName, or the caller (the root's own ARN)."""
    if params.get("UserName"):
        return f"arn:aws:iam::{ctx.account_id}:user/{params['UserName']}"
    p = ctx.principal
    if p is not None and p.kind in (PrincipalKind.USER, PrincipalKind.ROOT):
        return p.arn
    return f"arn:aws:iam::{ctx.account_id}:user/*"


# --- SSH public keys -----------------------------------------------------------------------------


def _parse_ssh_key(body: str) -> rsa.RSAPublicKey:
    """The RSA public key of an ``ssh-rsa`` or PEM body; IAM's errors otherwise."""
    text = body.strip()
    try:
        if text.startswith("-----BEGIN"):
            key: Any = serialization.load_pem_public_key(text.encode())
        elif text.startswith("ssh-"):
            if not text.startswith("ssh-rsa "):
                raise UnrecognizedPublicKeyEncodingException(
                    "The specified SSH public key encoding is not supported; use ssh-rsa or PEM."
                )
            key = serialization.load_ssh_public_key(text.encode())
        else:
            raise UnrecognizedPublicKeyEncodingException(
                "The public key encoding format is unsupported or unrecognized; use ssh-rsa or PEM."
            )
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidPublicKeyException("The public key is malformed or otherwise invalid.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise UnrecognizedPublicKeyEncodingException("Only RSA (ssh-rsa) public keys are supported.")
    if key.key_size < MIN_RSA_BITS:
        raise InvalidPublicKeyException(f"The public key must be at least {MIN_RSA_BITS} bits long.")
    return key


def _openssh(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def _pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def fingerprint(key: rsa.RSAPublicKey) -> str:
    """MD5 of the OpenSSH key blob, as ``ssh-keygen -E md5 -l`` and IAM show it (``aa:bb:...``)."""
    blob = base64.b64decode(_openssh(key).split()[1])
    return ":".join(f"{b:02x}" for b in hashlib.md5(blob, usedforsecurity=False).digest())


def _key_not_found(key_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Public Key with id {key_id} cannot be found.")


def _ssh_key(conn: Connection, account: str, user_key: str, key_id: str) -> Row[Any]:
    k = t.iam_ssh_public_keys.c
    row = conn.execute(
        select(t.iam_ssh_public_keys).where(k.account_id == account, k.key_id == key_id, k.user_key == user_key)
    ).first()
    if row is None:
        raise _key_not_found(key_id)
    return row


def _ssh_where(row: Row[Any]) -> Any:
    k = t.iam_ssh_public_keys.c
    return (k.account_id == row.account_id) & (k.key_id == row.key_id)


def _ssh_type(user_name: str, row: Row[Any], body: str) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "SSHPublicKeyId": row.key_id,
        "Fingerprint": row.fingerprint,
        "SSHPublicKeyBody": body,
        "Status": row.status,
        "UploadDate": utc(row.uploaded_at),
    }


@operation("iam", "UploadSSHPublicKey", resource=_user_arn_resource)
def upload_ssh_public_key(ctx: RequestContext, params: Params) -> Result:
    body = str(params["SSHPublicKeyBody"]).strip()
    key = _parse_ssh_key(body)
    print_ = fingerprint(key)
    with ctx.store.tx() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])
        k = t.iam_ssh_public_keys.c
        rows = conn.execute(
            select(k.fingerprint).where(k.account_id == ctx.account_id, k.user_key == user.name_key)
        ).all()
        if any(r.fingerprint == print_ for r in rows):
            raise DuplicateSSHPublicKeyException("The SSH public key is already associated with the specified user.")
        if len(rows) >= MAX_SSH_KEYS_PER_USER:
            raise LimitExceededException(f"Cannot exceed quota for SSHPublicKeysPerUser: {MAX_SSH_KEYS_PER_USER}")
        key_id = _new_id("APKA", 16)
        conn.execute(
            insert(t.iam_ssh_public_keys).values(
                account_id=ctx.account_id,
                key_id=key_id,
                user_key=user.name_key,
                body=body,
                fingerprint=print_,
                status="Active",
                uploaded_at=ctx.now,
            )
        )
        row = _ssh_key(conn, ctx.account_id, user.name_key, key_id)
    return {"SSHPublicKey": _ssh_type(user.name, row, body)}


@operation("iam", "GetSSHPublicKey", resource=_user_arn_resource)
def get_ssh_public_key(ctx: RequestContext, params: Params) -> Result:
    encoding = params["Encoding"]
    if encoding not in ("SSH", "PEM"):
        raise UnrecognizedPublicKeyEncodingException(f"Unrecognized encoding {encoding}; must be SSH or PEM.")
    with ctx.store.read() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])
        row = _ssh_key(conn, ctx.account_id, user.name_key, params["SSHPublicKeyId"])
    key = _parse_ssh_key(row.body)
    stored = "PEM" if row.body.startswith("-----BEGIN") else "SSH"  # returned as uploaded, or converted
    body = row.body if stored == encoding else _openssh(key) if encoding == "SSH" else _pem(key)
    return {"SSHPublicKey": _ssh_type(user.name, row, body)}


@operation("iam", "ListSSHPublicKeys", resource=_user_arn_resource)
def list_ssh_public_keys(ctx: RequestContext, params: Params) -> Result:
    name = _caller_user(ctx, params)
    if name is None:  # the account root has no SSH public keys
        return {"SSHPublicKeys": [], "IsTruncated": False}
    k = t.iam_ssh_public_keys.c
    with ctx.store.read() as conn:
        user = get_user_row(conn, ctx.account_id, name)
        rows = conn.execute(
            select(t.iam_ssh_public_keys)
            .where(k.account_id == ctx.account_id, k.user_key == user.name_key)
            .order_by(k.uploaded_at, k.key_id)
        ).all()
    items = [
        {"UserName": user.name, "SSHPublicKeyId": r.key_id, "Status": r.status, "UploadDate": utc(r.uploaded_at)}
        for r in rows
    ]
    chunk, extra = page(items, params)
    return {"SSHPublicKeys": chunk, **extra}


@operation("iam", "UpdateSSHPublicKey", resource=_user_arn_resource)
def update_ssh_public_key(ctx: RequestContext, params: Params) -> Result:
    status = params["Status"]  # Active | Inactive: the enum is checked against the model
    with ctx.store.tx() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])
        row = _ssh_key(conn, ctx.account_id, user.name_key, params["SSHPublicKeyId"])
        conn.execute(update(t.iam_ssh_public_keys).where(_ssh_where(row)).values(status=status))
    return None


@operation("iam", "DeleteSSHPublicKey", resource=_user_arn_resource)
def delete_ssh_public_key(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        user = get_user_row(conn, ctx.account_id, params["UserName"])
        row = _ssh_key(conn, ctx.account_id, user.name_key, params["SSHPublicKeyId"])
        conn.execute(delete(t.iam_ssh_public_keys).where(_ssh_where(row)))
    return None


# --- signing certificates ------------------------------------------------------------------------


def _caller_user(ctx: RequestContext, params: Params) -> str | None:
    """UserName, or the calling IAM user's name; None for the account root calling without one."""
    if params.get("UserName"):
        return str(params["UserName"])
    p = ctx.principal
    if p is not None and p.kind is PrincipalKind.USER:
        return p.arn.rsplit("/", 1)[-1]
    if p is not None and p.kind is PrincipalKind.ROOT:
        return None
    raise ValidationFailed("Must specify userName when calling with non-User credentials")


def _owner(conn: Connection, ctx: RequestContext, params: Params) -> tuple[str | None, str]:
    """(user_key, user name) of the owner: an IAM user, or (None, account id) for the root."""
    name = _caller_user(ctx, params)
    if name is None:
        return None, ctx.account_id
    user = get_user_row(conn, ctx.account_id, name)
    return str(user.name_key), str(user.name)


def _owned_by(user_key: str | None) -> Any:
    c = t.iam_signing_certificates.c
    return c.user_key.is_(None) if user_key is None else c.user_key == user_key


def _load_certificate(body: str) -> x509.Certificate:
    """One PEM X.509 certificate; MalformedCertificate otherwise."""
    try:
        certs = x509.load_pem_x509_certificates(body.strip().encode())
    except ValueError:
        raise MalformedCertificateException(
            "Unable to parse certificate. Please ensure the certificate is in PEM format."
        ) from None
    if len(certs) != 1:
        raise MalformedCertificateException("The certificate body must contain exactly one certificate.")
    return certs[0]


def _check_validity(cert: x509.Certificate, ctx: RequestContext) -> None:
    if cert.not_valid_after_utc <= ctx.now:
        raise MalformedCertificateException("Certificate is expired.")
    if cert.not_valid_before_utc > ctx.now:
        raise InvalidCertificateException("Certificate is not yet valid.")


def _der(body: str) -> bytes:
    try:
        return x509.load_pem_x509_certificate(body.strip().encode()).public_bytes(serialization.Encoding.DER)
    except ValueError:
        return b""


def _cert_not_found(cert_id: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Certificate with id {cert_id} cannot be found.")


def _signing_certificate(conn: Connection, account: str, user_key: str | None, cert_id: str) -> Row[Any]:
    c = t.iam_signing_certificates.c
    row = conn.execute(
        select(t.iam_signing_certificates).where(
            c.account_id == account, c.certificate_id == cert_id, _owned_by(user_key)
        )
    ).first()
    if row is None:
        raise _cert_not_found(cert_id)
    return row


def _cert_where(row: Row[Any]) -> Any:
    c = t.iam_signing_certificates.c
    return (c.account_id == row.account_id) & (c.certificate_id == row.certificate_id)


def _signing_type(user_name: str, row: Row[Any]) -> dict[str, Any]:
    return {
        "UserName": user_name,
        "CertificateId": row.certificate_id,
        "CertificateBody": row.body,
        "Status": row.status,
        "UploadDate": utc(row.uploaded_at),
    }


@operation("iam", "UploadSigningCertificate", resource=_user_arn_resource)
def upload_signing_certificate(ctx: RequestContext, params: Params) -> Result:
    body = str(params["CertificateBody"])  # kept and answered verbatim, as IAM does
    cert = _load_certificate(body)
    _check_validity(cert, ctx)
    der = cert.public_bytes(serialization.Encoding.DER)
    with ctx.store.tx() as conn:
        user_key, user_name = _owner(conn, ctx, params)
        c = t.iam_signing_certificates.c
        rows = conn.execute(
            select(c.user_key, c.body).where(c.account_id == ctx.account_id)
        ).all()  # one certificate belongs to one owner of the account
        if any(_der(r.body) == der for r in rows):
            raise DuplicateCertificateException("The same certificate is already associated with an IAM user.")
        if sum(1 for r in rows if r.user_key == user_key) >= MAX_SIGNING_CERTIFICATES_PER_USER:
            raise LimitExceededException(
                f"Cannot exceed quota for CertificatesPerUser: {MAX_SIGNING_CERTIFICATES_PER_USER}"
            )
        cert_id = _new_id("", 32)
        conn.execute(
            insert(t.iam_signing_certificates).values(
                account_id=ctx.account_id,
                certificate_id=cert_id,
                user_key=user_key,
                body=body,
                status="Active",
                uploaded_at=ctx.now,
            )
        )
        row = _signing_certificate(conn, ctx.account_id, user_key, cert_id)
    return {"Certificate": _signing_type(user_name, row)}


@operation("iam", "ListSigningCertificates", resource=_user_arn_resource)
def list_signing_certificates(ctx: RequestContext, params: Params) -> Result:
    c = t.iam_signing_certificates.c
    with ctx.store.read() as conn:
        user_key, user_name = _owner(conn, ctx, params)
        rows = conn.execute(
            select(t.iam_signing_certificates)
            .where(c.account_id == ctx.account_id, _owned_by(user_key))
            .order_by(c.uploaded_at, c.certificate_id)
        ).all()
    chunk, extra = page([_signing_type(user_name, r) for r in rows], params)
    return {"Certificates": chunk, **extra}


@operation("iam", "UpdateSigningCertificate", resource=_user_arn_resource)
def update_signing_certificate(ctx: RequestContext, params: Params) -> Result:
    status = params["Status"]  # Active | Inactive: the enum is checked against the model
    with ctx.store.tx() as conn:
        user_key, _ = _owner(conn, ctx, params)
        row = _signing_certificate(conn, ctx.account_id, user_key, params["CertificateId"])
        conn.execute(update(t.iam_signing_certificates).where(_cert_where(row)).values(status=status))
    return None


@operation("iam", "DeleteSigningCertificate", resource=_user_arn_resource)
def delete_signing_certificate(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        user_key, _ = _owner(conn, ctx, params)
        row = _signing_certificate(conn, ctx.account_id, user_key, params["CertificateId"])
        conn.execute(delete(t.iam_signing_certificates).where(_cert_where(row)))
    return None


# --- server certificates -------------------------------------------------------------------------

SERVER_CERTIFICATE = "Server Certificate"  # the entity kind in IAM's messages


def server_certificate_arn(account: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account}:server-certificate{path}{name}"


def _server_resource(ctx: RequestContext, params: Params) -> str:
    """The ARN IAM authorizes server-certificate operations against (path-less, like users)."""
    return f"arn:aws:iam::{ctx.account_id}:server-certificate/{params.get('ServerCertificateName') or '*'}"


def _seal_context(account: str, name: str) -> str:
    return f"server-cert:{account}:{name}"


def _server_not_found(name: str) -> NoSuchEntityException:
    return NoSuchEntityException(f"The Server Certificate with name {name} cannot be found.")


def _server_certificate(conn: Connection, account: str, name: str) -> Row[Any]:
    s = t.iam_server_certificates.c
    row = conn.execute(
        select(t.iam_server_certificates).where(s.account_id == account, s.name_key == name.lower())
    ).first()
    if row is None:
        raise _server_not_found(name)
    return row


def _server_where(row: Row[Any]) -> Any:
    s = t.iam_server_certificates.c
    return (s.account_id == row.account_id) & (s.name_key == row.name_key)


def _server_metadata(row: Row[Any]) -> dict[str, Any]:
    return {
        "Path": row.path,
        "ServerCertificateName": row.name,
        "ServerCertificateId": row.certificate_id,
        "Arn": server_certificate_arn(row.account_id, row.path, row.name),
        "UploadDate": utc(row.uploaded_at),
        "Expiration": utc(row.expires_at),
    }


def _check_path(path: str) -> str:
    if not (path.startswith("/") and path.endswith("/")) or "//" in path:
        raise ValidationFailed("The specified value for path is invalid. It must begin and end with / .")
    return path


def _check_key_pair(cert: x509.Certificate, private_key_pem: str) -> None:
    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise MalformedCertificateException(
            "Unable to parse private key. Please ensure the private key is an unencrypted PEM key."
        ) from None
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    if mine != cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        raise KeyPairMismatchException("The public key certificate and the private key do not match.")


def _check_chain(chain: str) -> None:
    try:
        certs = x509.load_pem_x509_certificates(chain.strip().encode())
    except ValueError:
        raise MalformedCertificateException(
            "Unable to parse certificate chain. Please ensure the chain is PEM-encoded certificates."
        ) from None
    if not certs:
        raise MalformedCertificateException("The certificate chain contains no certificate.")


@operation("iam", "UploadServerCertificate", resource=_server_resource)
def upload_server_certificate(ctx: RequestContext, params: Params) -> Result:
    name = str(params["ServerCertificateName"])
    path = _check_path(params.get("Path") or "/")
    body = str(params["CertificateBody"]).strip()
    cert = _load_certificate(body)
    _check_validity(cert, ctx)
    private_key = str(params["PrivateKey"]).strip()
    _check_key_pair(cert, private_key)
    chain = str(params["CertificateChain"]).strip() if params.get("CertificateChain") else None
    if chain is not None:
        _check_chain(chain)
    tags = merge_tags([], list(params.get("Tags") or []))
    with ctx.store.tx() as conn:
        s = t.iam_server_certificates.c
        exists = conn.execute(select(s.name).where(s.account_id == ctx.account_id, s.name_key == name.lower())).first()
        if exists is not None:
            raise EntityAlreadyExistsException(f"The Server Certificate with name {name} already exists.")
        count = conn.execute(
            select(func.count()).select_from(t.iam_server_certificates).where(s.account_id == ctx.account_id)
        ).scalar()
        if (count or 0) >= MAX_SERVER_CERTIFICATES:
            raise LimitExceededException(
                f"Cannot exceed quota for ServerCertificatesPerAccount: {MAX_SERVER_CERTIFICATES}"
            )
        conn.execute(
            insert(t.iam_server_certificates).values(
                account_id=ctx.account_id,
                name_key=name.lower(),
                name=name,
                path=path,
                certificate_id=_new_id("ASCA", 17),
                body=body,
                chain=chain,
                private_key_enc=ctx.box.seal(private_key, _seal_context(ctx.account_id, name)),
                expires_at=cert.not_valid_after_utc,
                tags=tags,
                uploaded_at=ctx.now,
            )
        )
        row = _server_certificate(conn, ctx.account_id, name)
    out: dict[str, Any] = {"ServerCertificateMetadata": _server_metadata(row)}
    if tags:
        out["Tags"] = tags
    return out


@operation("iam", "GetServerCertificate", resource=_server_resource)
def get_server_certificate(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.read() as conn:
        row = _server_certificate(conn, ctx.account_id, params["ServerCertificateName"])
    cert: dict[str, Any] = {"ServerCertificateMetadata": _server_metadata(row), "CertificateBody": row.body}
    if row.chain:
        cert["CertificateChain"] = row.chain
    if row.tags:
        cert["Tags"] = row.tags
    return {"ServerCertificate": cert}


@operation("iam", "ListServerCertificates", resource=_server_resource)
def list_server_certificates(ctx: RequestContext, params: Params) -> Result:
    prefix = params.get("PathPrefix") or "/"
    s = t.iam_server_certificates.c
    with ctx.store.read() as conn:
        rows = conn.execute(
            select(t.iam_server_certificates).where(s.account_id == ctx.account_id).order_by(s.name_key)
        ).all()
    items = [_server_metadata(r) for r in rows if r.path.startswith(prefix)]
    chunk, extra = page(items, params)
    return {"ServerCertificateMetadataList": chunk, **extra}


@operation("iam", "UpdateServerCertificate", resource=_server_resource)
def update_server_certificate(ctx: RequestContext, params: Params) -> Result:
    new_name = params.get("NewServerCertificateName")
    new_path = _check_path(params["NewPath"]) if params.get("NewPath") else None
    with ctx.store.tx() as conn:
        row = _server_certificate(conn, ctx.account_id, params["ServerCertificateName"])
        name = new_name or row.name
        path = new_path or row.path
        if name == row.name and path == row.path:
            return None
        s = t.iam_server_certificates.c
        if name.lower() != row.name_key:
            taken = conn.execute(
                select(s.name).where(s.account_id == ctx.account_id, s.name_key == name.lower())
            ).first()
            if taken is not None:
                raise EntityAlreadyExistsException(f"The Server Certificate with name {name} already exists.")
        values: dict[str, Any] = {"name_key": name.lower(), "name": name, "path": path}
        if name != row.name:  # the seal is bound to the name
            pem = ctx.box.open(row.private_key_enc, _seal_context(row.account_id, row.name))
            values["private_key_enc"] = ctx.box.seal(pem, _seal_context(row.account_id, name))
        conn.execute(update(t.iam_server_certificates).where(_server_where(row)).values(**values))
    return None


@operation("iam", "DeleteServerCertificate", resource=_server_resource)
def delete_server_certificate(ctx: RequestContext, params: Params) -> Result:
    with ctx.store.tx() as conn:
        row = _server_certificate(conn, ctx.account_id, params["ServerCertificateName"])
        conn.execute(delete(t.iam_server_certificates).where(_server_where(row)))
    return None


@operation("iam", "TagServerCertificate", resource=_server_resource)
def tag_server_certificate(ctx: RequestContext, params: Params) -> Result:
    tagging._tag(ctx, t.iam_server_certificates, SERVER_CERTIFICATE, params["ServerCertificateName"], params["Tags"])
    return None


@operation("iam", "UntagServerCertificate", resource=_server_resource)
def untag_server_certificate(ctx: RequestContext, params: Params) -> Result:
    tagging._untag(
        ctx, t.iam_server_certificates, SERVER_CERTIFICATE, params["ServerCertificateName"], params["TagKeys"]
    )
    return None


@operation("iam", "ListServerCertificateTags", resource=_server_resource)
def list_server_certificate_tags(ctx: RequestContext, params: Params) -> Result:
    return tagging._list(ctx, t.iam_server_certificates, SERVER_CERTIFICATE, params["ServerCertificateName"], params)
