"""The instance's SAML identity (samlidp/identity.py): the signing certificate made once and sealed at
rest, the IdP metadata (read back by Ostiary's own SAML verifier and by pysaml2), and the metadata in
the AWSSSO_… SAML provider sso-admin provisions into a target account."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from saml2.config import Config
from saml2.mdstore import MetadataStore
from sqlalchemy import select

from ostiary.accessportal import urls
from ostiary.config import load_settings
from ostiary.crypto.secrets import SecretBox
from ostiary.federation import saml
from ostiary.samlidp import identity
from ostiary.ssoadmin import instances
from ostiary.store import tables as t
from ostiary.store.db import Store
from tests.conftest import Server
from tests.ssoadmin.conftest import Instance, new_instance
from tests.ssoadmin.directory import add_user


def _instance_row(store: Store, inst: Instance) -> object:
    with store.read() as conn:
        row = instances.by_identity_store(conn, inst.identity_store_id)
    assert row is not None
    return row


def test_signing_credentials_made_once_and_sealed(server: Server, store: Store, box: SecretBox) -> None:
    inst = new_instance(server)
    row = _instance_row(store, inst)
    with store.tx() as conn:
        key_pem, cert_pem = identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
    with store.tx() as conn:
        again = identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
    assert again == (key_pem, cert_pem)

    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert cert.subject == cert.issuer  # self-signed
    assert "IAM Identity Center SAML certificate" in cert.subject.rfc4514_string()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=5 * 365) <= lifetime <= dt.timedelta(days=5 * 365 + 1)

    with store.read() as conn:
        stored = conn.execute(
            select(t.samlidp_certificates).where(t.samlidp_certificates.c.instance_arn == inst.instance_arn)
        ).one()
    assert "PRIVATE KEY" not in stored.private_enc and key_pem not in stored.private_enc  # sealed at rest
    # bound to its instance: the sealed key does not open as another instance's
    other = new_instance(server)
    with pytest.raises(InvalidTag):
        box.open(stored.private_enc, f"samlidp-key:{other.instance_arn}")


def test_metadata(server: Server, store: Store, box: SecretBox) -> None:
    inst = new_instance(server)
    row = _instance_row(store, inst)
    settings = load_settings({"public_url": server.url})
    with store.tx() as conn:
        document = identity.idp_metadata(conn, box, settings, row)  # type: ignore[arg-type]
        _, cert_pem = identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
    entity = identity.entity_id(settings, row)  # type: ignore[arg-type]
    assert entity == urls.saml_entity_id(server.url, inst.identity_store_id)
    assert entity.startswith(urls.start_url(server.url, inst.identity_store_id) + "/")

    parsed = saml.parse_metadata(document)
    assert parsed.entity_id == entity
    assert [c.strip() for c in parsed.certificates] == [cert_pem.strip()]
    assert parsed.sso_redirect_url == entity

    # a SAML service provider library reads it: bindings, NameID formats, the signing certificate
    mds = MetadataStore(None, Config())
    mds.load("inline", document)
    bindings = {b: mds.single_sign_on_service(entity, binding=b) for b in (identity.REDIRECT, identity.POST)}
    assert all(s[0]["location"] == entity for s in bindings.values())
    assert mds.certs(entity, "idpsso", use="signing")
    formats = mds[entity]["idpsso_descriptor"][0]["name_id_format"]
    assert {f["text"] for f in formats} == set(identity.NAME_ID_FORMATS)


def test_provisioned_provider_holds_the_metadata(server: Server, store: Store, box: SecretBox) -> None:
    inst = new_instance(server)
    admin, iam = inst.client("sso-admin"), inst.client("iam")
    ps = admin.create_permission_set(InstanceArn=inst.instance_arn, Name="Meta")["PermissionSet"]["PermissionSetArn"]
    user = add_user(inst, "meta-user")
    admin.create_account_assignment(
        InstanceArn=inst.instance_arn,
        TargetId=inst.account_id,
        TargetType="AWS_ACCOUNT",
        PermissionSetArn=ps,
        PrincipalType="USER",
        PrincipalId=user,
    )
    [provider] = iam.list_saml_providers()["SAMLProviderList"]
    document = iam.get_saml_provider(SAMLProviderArn=provider["Arn"])["SAMLMetadataDocument"]
    parsed = saml.parse_metadata(document)
    row = _instance_row(store, inst)
    with store.read() as conn:
        _, cert_pem = identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
    assert [c.strip() for c in parsed.certificates] == [cert_pem.strip()]
    assert parsed.entity_id == urls.saml_entity_id(server.url, inst.identity_store_id)


def test_first_use_races_make_one_key(server: Server, store: Store, box: SecretBox) -> None:
    """Several first uses at once (each in its own transaction) all get the one key that was kept."""
    inst = new_instance(server)
    row = _instance_row(store, inst)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def first_use() -> None:
        try:
            barrier.wait()
            with store.tx() as conn:
                made = identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
            results.append(made)
        except BaseException as err:
            errors.append(err)

    identity._CACHE.clear()
    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # SQLite may refuse a concurrent writer ("database is locked"): whoever succeeded agrees
    assert results, errors
    with store.read() as conn:
        kept = identity._read(conn, box, inst.instance_arn)
    assert kept is not None and all(r == kept for r in results)


def test_deleted_with_the_instance(server: Server, store: Store, box: SecretBox) -> None:
    inst = new_instance(server)
    row = _instance_row(store, inst)
    with store.tx() as conn:
        identity.signing_credentials(conn, box, row)  # type: ignore[arg-type]
    inst.client("sso-admin").delete_instance(InstanceArn=inst.instance_arn)
    with store.read() as conn:
        left = conn.execute(
            select(t.samlidp_certificates).where(t.samlidp_certificates.c.instance_arn == inst.instance_arn)
        ).first()
    assert left is None
