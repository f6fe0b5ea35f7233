"""IAM SSH public keys, signing certificates and server certificates through boto3: upload, get (both
encodings), list, update, delete; validation errors, quotas and duplicates; DeleteUser conflicts and
UpdateUser renames; server certificate tags and renames, the private key sealed at rest."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from functools import cache
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ostiary.crypto.secrets import SecretBox, load_or_create_kek
from tests.conftest import ACCOUNT_ID, Server, make_client


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    r = exc.value.response
    return r["Error"]["Code"], r["Error"]["Message"], r["ResponseMetadata"]["HTTPStatusCode"]


@cache
def _rsa(n: int, bits: int = 2048) -> rsa.RSAPrivateKey:
    """The n-th test RSA key (cached: generating keys is slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _ssh(key: Any, comment: str = "") -> str:
    text = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{text} {comment}" if comment else text


def _pem_public(key: Any) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _pem_private(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _md5(key: rsa.RSAPrivateKey) -> str:
    blob = base64.b64decode(_ssh(key).split()[1])
    return ":".join(f"{b:02x}" for b in hashlib.md5(blob).digest())


def _cert(key: Any, cn: str, *, days: int = 365, start_days: int = -1) -> str:
    """A self-signed PEM certificate for ``key``."""
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start_days))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _cleanup_user(iam: Any, user: str) -> None:
    for k in iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"])
    for c in iam.list_signing_certificates(UserName=user)["Certificates"]:
        iam.delete_signing_certificate(UserName=user, CertificateId=c["CertificateId"])
    for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=k["AccessKeyId"])
    for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
        iam.delete_user_policy(UserName=user, PolicyName=name)
    iam.delete_user(UserName=user)


def _as_user(server: Server, iam: Any, user: str) -> Any:
    """A client signed with a new access key of ``user``, allowed every IAM action."""
    iam.put_user_policy(
        UserName=user,
        PolicyName="all-iam",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return make_client(
        server.url, "iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


# --- SSH public keys -----------------------------------------------------------------------------


def test_ssh_public_key_lifecycle_and_encodings(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssh-life")
    body = _ssh(_rsa(0), "me@laptop")
    out = iam.upload_ssh_public_key(UserName="ssh-life", SSHPublicKeyBody=body)["SSHPublicKey"]
    assert re.fullmatch(r"APKA[A-Z0-9]{16}", out["SSHPublicKeyId"])
    assert out["UserName"] == "ssh-life" and out["Status"] == "Active"
    assert out["Fingerprint"] == _md5(_rsa(0)) and len(out["Fingerprint"]) == 47
    assert out["SSHPublicKeyBody"] == body and isinstance(out["UploadDate"], dt.datetime)
    key_id = out["SSHPublicKeyId"]

    got = iam.get_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["SSHPublicKeyBody"] == body and got["Fingerprint"] == out["Fingerprint"]
    pem = iam.get_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Encoding="PEM")["SSHPublicKey"]
    assert pem["SSHPublicKeyBody"].startswith("-----BEGIN PUBLIC KEY-----")
    assert pem["SSHPublicKeyBody"].strip() == _pem_public(_rsa(0)).strip()

    # a key uploaded as PEM: the same fingerprint scheme, converted to ssh-rsa on demand
    second = iam.upload_ssh_public_key(UserName="ssh-life", SSHPublicKeyBody=_pem_public(_rsa(1)))["SSHPublicKey"]
    assert second["Fingerprint"] == _md5(_rsa(1))
    as_ssh = iam.get_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=second["SSHPublicKeyId"], Encoding="SSH")
    assert as_ssh["SSHPublicKey"]["SSHPublicKeyBody"] == _ssh(_rsa(1))

    listed = iam.list_ssh_public_keys(UserName="ssh-life")
    assert listed["IsTruncated"] is False
    assert [k["SSHPublicKeyId"] for k in listed["SSHPublicKeys"]] == [key_id, second["SSHPublicKeyId"]]
    assert set(listed["SSHPublicKeys"][0]) == {"UserName", "SSHPublicKeyId", "Status", "UploadDate"}
    page = iam.list_ssh_public_keys(UserName="ssh-life", MaxItems=1)
    assert page["IsTruncated"] is True and len(page["SSHPublicKeys"]) == 1
    rest = iam.list_ssh_public_keys(UserName="ssh-life", Marker=page["Marker"])
    assert [k["SSHPublicKeyId"] for k in rest["SSHPublicKeys"]] == [second["SSHPublicKeyId"]]

    iam.update_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Status="Inactive")
    got = iam.get_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive"
    with pytest.raises(ClientError) as exc:
        iam.update_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Status="Sleeping")
    assert _err(exc)[0] == "ValidationError"  # not one of the model's statusType values

    iam.delete_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id)
    with pytest.raises(ClientError) as exc:
        iam.get_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id, Encoding="SSH")
    assert _err(exc) == ("NoSuchEntity", f"The Public Key with id {key_id} cannot be found.", 404)
    with pytest.raises(ClientError) as exc:
        iam.delete_ssh_public_key(UserName="ssh-life", SSHPublicKeyId=key_id)
    assert _err(exc)[0] == "NoSuchEntity"
    _cleanup_user(iam, "ssh-life")


def test_ssh_public_key_validation_duplicates_and_quota(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssh-check")
    iam.create_user(UserName="ssh-other")

    def upload(body: str, user: str = "ssh-check") -> Any:
        return iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=body)

    cases = [
        (_ssh(_rsa(90, 1024)), "InvalidPublicKey"),  # too short
        ("ssh-rsa AAAAB3NzaC1yc2EAAAgarbage", "InvalidPublicKey"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----\n", "InvalidPublicKey"),
        ("hello world", "UnrecognizedPublicKeyEncoding"),
        (_ssh(ed25519.Ed25519PrivateKey.generate()), "UnrecognizedPublicKeyEncoding"),
        (_pem_public(ec.generate_private_key(ec.SECP256R1())), "UnrecognizedPublicKeyEncoding"),
    ]
    for body, code in cases:
        with pytest.raises(ClientError) as exc:
            upload(body)
        assert _err(exc)[0] == code, body
        assert _err(exc)[2] == 400
    with pytest.raises(ClientError) as exc:
        upload(_ssh(_rsa(10)), user="nobody-here")
    assert _err(exc)[0] == "NoSuchEntity"

    first = upload(_ssh(_rsa(10)))["SSHPublicKey"]
    for body in (_ssh(_rsa(10), "other comment"), _pem_public(_rsa(10))):  # the same key, any form
        with pytest.raises(ClientError) as exc:
            upload(body)
        assert _err(exc)[0] == "DuplicateSSHPublicKey"
    assert upload(_ssh(_rsa(10)), user="ssh-other")["SSHPublicKey"]["Fingerprint"] == first["Fingerprint"]
    # another user's key id is not found under this user
    other_id = iam.list_ssh_public_keys(UserName="ssh-other")["SSHPublicKeys"][0]["SSHPublicKeyId"]
    with pytest.raises(ClientError) as exc:
        iam.get_ssh_public_key(UserName="ssh-check", SSHPublicKeyId=other_id, Encoding="PEM")
    assert _err(exc)[0] == "NoSuchEntity"

    for n in range(11, 15):
        upload(_ssh(_rsa(n)))
    with pytest.raises(ClientError) as exc:
        upload(_ssh(_rsa(15)))
    assert _err(exc) == ("LimitExceeded", "Cannot exceed quota for SSHPublicKeysPerUser: 5", 409)
    assert len(iam.list_ssh_public_keys(UserName="ssh-check")["SSHPublicKeys"]) == 5
    _cleanup_user(iam, "ssh-check")
    _cleanup_user(iam, "ssh-other")


def test_ssh_public_keys_of_the_caller(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="ssh-self")
    me = _as_user(server, iam, "ssh-self")
    key_id = me.upload_ssh_public_key(UserName="ssh-self", SSHPublicKeyBody=_ssh(_rsa(20)))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    assert [k["SSHPublicKeyId"] for k in me.list_ssh_public_keys()["SSHPublicKeys"]] == [key_id]
    root = iam.list_ssh_public_keys()  # the account root has none
    assert root["SSHPublicKeys"] == [] and root["IsTruncated"] is False
    _cleanup_user(iam, "ssh-self")


# --- signing certificates ------------------------------------------------------------------------


def test_signing_certificate_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="sign-life")
    body = _cert(_rsa(30), "sign-life")
    out = iam.upload_signing_certificate(UserName="sign-life", CertificateBody=body)["Certificate"]
    assert re.fullmatch(r"[A-Z0-9]{32}", out["CertificateId"])
    assert out["UserName"] == "sign-life" and out["Status"] == "Active"
    assert out["CertificateBody"].strip() == body.strip() and isinstance(out["UploadDate"], dt.datetime)
    cert_id = out["CertificateId"]

    listed = iam.list_signing_certificates(UserName="sign-life")
    assert listed["IsTruncated"] is False and [c["CertificateId"] for c in listed["Certificates"]] == [cert_id]
    iam.update_signing_certificate(UserName="sign-life", CertificateId=cert_id, Status="Inactive")
    assert iam.list_signing_certificates(UserName="sign-life")["Certificates"][0]["Status"] == "Inactive"
    with pytest.raises(ClientError) as exc:
        iam.update_signing_certificate(UserName="sign-life", CertificateId=cert_id, Status="Paused")
    assert _err(exc)[0] == "ValidationError"  # not one of the model's statusType values

    # the user's own calls, without UserName
    me = _as_user(server, iam, "sign-life")
    mine = me.upload_signing_certificate(CertificateBody=_cert(_rsa(31), "sign-life-2"))["Certificate"]
    assert mine["UserName"] == "sign-life"
    assert len(me.list_signing_certificates()["Certificates"]) == 2
    with pytest.raises(ClientError) as exc:
        me.upload_signing_certificate(CertificateBody=_cert(_rsa(32), "sign-life-3"))
    assert _err(exc) == ("LimitExceeded", "Cannot exceed quota for CertificatesPerUser: 2", 409)
    me.delete_signing_certificate(CertificateId=mine["CertificateId"])

    iam.delete_signing_certificate(UserName="sign-life", CertificateId=cert_id)
    assert iam.list_signing_certificates(UserName="sign-life")["Certificates"] == []
    with pytest.raises(ClientError) as exc:
        iam.delete_signing_certificate(UserName="sign-life", CertificateId=cert_id)
    assert _err(exc) == ("NoSuchEntity", f"The Certificate with id {cert_id} cannot be found.", 404)
    _cleanup_user(iam, "sign-life")


def test_signing_certificate_validation_and_duplicates(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="sign-a")
    iam.create_user(UserName="sign-b")
    bad = [
        ("not a certificate", "MalformedCertificate"),
        ("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "MalformedCertificate"),
        (_cert(_rsa(40), "old", days=-1, start_days=-30), "MalformedCertificate"),  # expired
        (_cert(_rsa(40), "two") + _cert(_rsa(41), "two"), "MalformedCertificate"),
        (_cert(_rsa(40), "later", days=60, start_days=30), "InvalidCertificate"),  # not yet valid
    ]
    for body, code in bad:
        with pytest.raises(ClientError) as exc:
            iam.upload_signing_certificate(UserName="sign-a", CertificateBody=body)
        assert _err(exc)[0] == code
    body = _cert(_rsa(42), "shared")
    a = iam.upload_signing_certificate(UserName="sign-a", CertificateBody=body)["Certificate"]
    for user in ("sign-a", "sign-b"):  # one certificate, one owner in the account
        with pytest.raises(ClientError) as exc:
            iam.upload_signing_certificate(UserName=user, CertificateBody=body)
        assert _err(exc)[:1] == ("DuplicateCertificate",) and _err(exc)[2] == 409
    # another user's certificate id is not found under this user
    with pytest.raises(ClientError) as exc:
        iam.update_signing_certificate(UserName="sign-b", CertificateId=a["CertificateId"], Status="Inactive")
    assert _err(exc)[0] == "NoSuchEntity"
    with pytest.raises(ClientError) as exc:
        iam.list_signing_certificates(UserName="sign-nobody")
    assert _err(exc)[0] == "NoSuchEntity"
    _cleanup_user(iam, "sign-a")
    _cleanup_user(iam, "sign-b")


def test_signing_certificates_of_the_account_root(server: Server) -> None:
    iam = server.client("iam")
    out = iam.upload_signing_certificate(CertificateBody=_cert(_rsa(50), "root"))["Certificate"]
    try:
        assert out["UserName"] == ACCOUNT_ID
        listed = iam.list_signing_certificates()["Certificates"]
        assert [c["CertificateId"] for c in listed] == [out["CertificateId"]]
        iam.update_signing_certificate(CertificateId=out["CertificateId"], Status="Inactive")
        assert iam.list_signing_certificates()["Certificates"][0]["Status"] == "Inactive"
        iam.create_user(UserName="sign-root-user")  # a user does not see the root's certificates
        assert iam.list_signing_certificates(UserName="sign-root-user")["Certificates"] == []
        with pytest.raises(ClientError) as exc:
            iam.delete_signing_certificate(UserName="sign-root-user", CertificateId=out["CertificateId"])
        assert _err(exc)[0] == "NoSuchEntity"
        iam.delete_user(UserName="sign-root-user")
    finally:
        iam.delete_signing_certificate(CertificateId=out["CertificateId"])
    assert iam.list_signing_certificates()["Certificates"] == []


# --- users: DeleteUser and UpdateUser -------------------------------------------------------------


def test_delete_user_refuses_while_keys_or_certificates_remain(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="kc-del")
    key_id = iam.upload_ssh_public_key(UserName="kc-del", SSHPublicKeyBody=_ssh(_rsa(60)))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    cert_id = iam.upload_signing_certificate(UserName="kc-del", CertificateBody=_cert(_rsa(60), "kc"))["Certificate"][
        "CertificateId"
    ]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="kc-del")
    assert _err(exc) == ("DeleteConflict", "Cannot delete entity, must delete certificates first.", 409)
    iam.delete_signing_certificate(UserName="kc-del", CertificateId=cert_id)
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName="kc-del")
    assert _err(exc) == ("DeleteConflict", "Cannot delete entity, must remove referenced objects first.", 409)
    iam.delete_ssh_public_key(UserName="kc-del", SSHPublicKeyId=key_id)
    iam.delete_user(UserName="kc-del")


def test_update_user_rename_carries_keys_and_certificates(server: Server) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="kc-old")
    key_id = iam.upload_ssh_public_key(UserName="kc-old", SSHPublicKeyBody=_ssh(_rsa(61)))["SSHPublicKey"][
        "SSHPublicKeyId"
    ]
    cert_id = iam.upload_signing_certificate(UserName="kc-old", CertificateBody=_cert(_rsa(61), "kc"))["Certificate"][
        "CertificateId"
    ]
    iam.update_user(UserName="kc-old", NewUserName="kc-new")
    keys = iam.list_ssh_public_keys(UserName="kc-new")["SSHPublicKeys"]
    assert [(k["SSHPublicKeyId"], k["UserName"]) for k in keys] == [(key_id, "kc-new")]
    got = iam.get_ssh_public_key(UserName="kc-new", SSHPublicKeyId=key_id, Encoding="SSH")["SSHPublicKey"]
    assert got["UserName"] == "kc-new"
    certs = iam.list_signing_certificates(UserName="kc-new")["Certificates"]
    assert [(c["CertificateId"], c["UserName"]) for c in certs] == [(cert_id, "kc-new")]
    iam.create_user(UserName="kc-old")  # a new user under the old name inherits nothing
    assert iam.list_ssh_public_keys(UserName="kc-old")["SSHPublicKeys"] == []
    assert iam.list_signing_certificates(UserName="kc-old")["Certificates"] == []
    iam.delete_user(UserName="kc-old")
    _cleanup_user(iam, "kc-new")


# --- server certificates -------------------------------------------------------------------------


def _sealed_key(server: Server, name: str) -> str:
    """The private key of server certificate ``name`` as stored, opened with the server's KEK."""
    engine = sa.create_engine(server.database_url)
    with engine.connect() as conn:
        sealed = conn.execute(
            sa.text("SELECT private_key_enc FROM iam_server_certificates WHERE account_id = :a AND name = :n"),
            {"a": ACCOUNT_ID, "n": name},
        ).scalar_one()
    engine.dispose()
    assert "PRIVATE KEY" not in sealed
    box = SecretBox(load_or_create_kek("", server.data_dir))
    return box.open(sealed, f"server-cert:{ACCOUNT_ID}:{name}")


def test_server_certificate_lifecycle(server: Server) -> None:
    iam = server.client("iam")
    ca_key, leaf_key = _rsa(70), _rsa(71)
    body, chain = _cert(leaf_key, "www.example.com"), _cert(ca_key, "Example CA")
    out = iam.upload_server_certificate(
        Path="/cloudfront/",
        ServerCertificateName="web-cert",
        CertificateBody=body,
        PrivateKey=_pem_private(leaf_key),
        CertificateChain=chain,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    meta = out["ServerCertificateMetadata"]
    assert out["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert meta["Path"] == "/cloudfront/" and meta["ServerCertificateName"] == "web-cert"
    assert re.fullmatch(r"ASCA[A-Z0-9]{17}", meta["ServerCertificateId"])
    assert meta["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:server-certificate/cloudfront/web-cert"
    expires = x509.load_pem_x509_certificate(body.encode()).not_valid_after_utc
    assert meta["Expiration"] == expires and isinstance(meta["UploadDate"], dt.datetime)

    got = iam.get_server_certificate(ServerCertificateName="web-cert")["ServerCertificate"]
    assert got["ServerCertificateMetadata"] == meta
    assert got["CertificateBody"].strip() == body.strip() and got["CertificateChain"].strip() == chain.strip()
    assert got["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert "PRIVATE KEY" not in json.dumps(got, default=str)
    assert _sealed_key(server, "web-cert").strip() == _pem_private(leaf_key).strip()

    with pytest.raises(ClientError) as exc:
        iam.upload_server_certificate(
            ServerCertificateName="WEB-CERT", CertificateBody=body, PrivateKey=_pem_private(leaf_key)
        )
    assert _err(exc) == ("EntityAlreadyExists", "The Server Certificate with name WEB-CERT already exists.", 409)

    # a second one without chain or tags, on the root path
    plain = iam.upload_server_certificate(
        ServerCertificateName="api-cert", CertificateBody=_cert(_rsa(72), "api"), PrivateKey=_pem_private(_rsa(72))
    )
    assert "Tags" not in plain and plain["ServerCertificateMetadata"]["Path"] == "/"
    got = iam.get_server_certificate(ServerCertificateName="api-cert")["ServerCertificate"]
    assert "CertificateChain" not in got and "Tags" not in got

    names = [m["ServerCertificateName"] for m in iam.list_server_certificates()["ServerCertificateMetadataList"]]
    assert names == ["api-cert", "web-cert"]
    only = iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]
    assert [m["ServerCertificateName"] for m in only] == ["web-cert"]
    page = iam.list_server_certificates(MaxItems=1)
    assert page["IsTruncated"] is True and len(page["ServerCertificateMetadataList"]) == 1
    rest = iam.list_server_certificates(Marker=page["Marker"])
    assert rest["IsTruncated"] is False and len(rest["ServerCertificateMetadataList"]) == 1

    iam.delete_server_certificate(ServerCertificateName="api-cert")
    iam.delete_server_certificate(ServerCertificateName="web-cert")
    for op in (iam.get_server_certificate, iam.delete_server_certificate, iam.list_server_certificate_tags):
        with pytest.raises(ClientError) as exc:
            op(ServerCertificateName="web-cert")
        assert _err(exc) == ("NoSuchEntity", "The Server Certificate with name web-cert cannot be found.", 404)
    assert iam.list_server_certificates()["ServerCertificateMetadataList"] == []


def test_server_certificate_validation(server: Server) -> None:
    iam = server.client("iam")
    key = _rsa(80)
    body = _cert(key, "v.example.com")

    def upload(**kwargs: Any) -> Any:
        args = {"ServerCertificateName": "bad-cert", "CertificateBody": body, "PrivateKey": _pem_private(key)}
        return iam.upload_server_certificate(**{**args, **kwargs})

    with pytest.raises(ClientError) as exc:
        upload(PrivateKey=_pem_private(_rsa(81)))
    assert _err(exc)[0] == "KeyPairMismatch" and _err(exc)[2] == 400
    for kwargs in (
        {"CertificateBody": "garbage"},
        {"PrivateKey": "garbage"},
        {"CertificateChain": "garbage"},
        {"CertificateBody": _cert(key, "old", days=-1, start_days=-10)},
    ):
        with pytest.raises(ClientError) as exc:
            upload(**kwargs)
        assert _err(exc)[0] == "MalformedCertificate", kwargs
    with pytest.raises(ClientError) as exc:
        upload(Path="no-slashes")
    assert _err(exc)[2] == 400
    # an EC key pair is accepted too
    ec_key = ec.generate_private_key(ec.SECP256R1())
    upload(ServerCertificateName="ec-cert", CertificateBody=_cert(ec_key, "ec"), PrivateKey=_pem_private(ec_key))
    assert iam.list_server_certificates()["ServerCertificateMetadataList"][0]["ServerCertificateName"] == "ec-cert"
    iam.delete_server_certificate(ServerCertificateName="ec-cert")


def test_server_certificate_tags_and_rename(server: Server) -> None:
    iam = server.client("iam")
    key = _rsa(90)
    meta = iam.upload_server_certificate(
        ServerCertificateName="old-name", CertificateBody=_cert(key, "r"), PrivateKey=_pem_private(key)
    )["ServerCertificateMetadata"]
    iam.tag_server_certificate(
        ServerCertificateName="old-name", Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}]
    )
    iam.tag_server_certificate(ServerCertificateName="old-name", Tags=[{"Key": "B", "Value": "3"}])
    tags = iam.list_server_certificate_tags(ServerCertificateName="old-name")
    assert tags["IsTruncated"] is False
    assert sorted((t["Key"], t["Value"]) for t in tags["Tags"]) == [("B", "3"), ("a", "1")]
    iam.untag_server_certificate(ServerCertificateName="old-name", TagKeys=["A"])
    assert iam.list_server_certificate_tags(ServerCertificateName="old-name")["Tags"] == [{"Key": "B", "Value": "3"}]
    with pytest.raises(ClientError) as exc:
        iam.tag_server_certificate(
            ServerCertificateName="old-name", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]
        )
    assert _err(exc)[0] == "LimitExceeded"

    other = _rsa(91)
    iam.upload_server_certificate(
        ServerCertificateName="taken", CertificateBody=_cert(other, "t"), PrivateKey=_pem_private(other)
    )
    with pytest.raises(ClientError) as exc:
        iam.update_server_certificate(ServerCertificateName="old-name", NewServerCertificateName="TAKEN")
    assert _err(exc)[0] == "EntityAlreadyExists"

    iam.update_server_certificate(ServerCertificateName="old-name", NewServerCertificateName="new-name", NewPath="/x/")
    with pytest.raises(ClientError) as exc:
        iam.get_server_certificate(ServerCertificateName="old-name")
    assert _err(exc)[0] == "NoSuchEntity"
    moved = iam.get_server_certificate(ServerCertificateName="new-name")["ServerCertificate"]
    m = moved["ServerCertificateMetadata"]
    assert (m["ServerCertificateName"], m["Path"], m["ServerCertificateId"]) == (
        "new-name",
        "/x/",
        meta["ServerCertificateId"],
    )
    assert m["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:server-certificate/x/new-name"
    assert moved["Tags"] == [{"Key": "B", "Value": "3"}]
    assert _sealed_key(server, "new-name").strip() == _pem_private(key).strip()  # sealed again for the new name
    iam.update_server_certificate(ServerCertificateName="new-name", NewPath="/")  # path only
    assert (
        iam.get_server_certificate(ServerCertificateName="new-name")["ServerCertificate"]["ServerCertificateMetadata"][
            "Path"
        ]
        == "/"
    )
    iam.delete_server_certificate(ServerCertificateName="new-name")
    iam.delete_server_certificate(ServerCertificateName="taken")
