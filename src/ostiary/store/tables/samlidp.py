"""Ostiary as a SAML 2.0 identity provider (issue 14, migration 0032): each IAM Identity Center
instance's SAML signing certificate, and each customer managed SAML application's SAML settings (what
AWS sets in its console and the sso-admin API does not model: ACS URL, audience, NameID format,
attribute mappings, relay state)."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint

from ostiary.store.tables.base import JSONDoc, UTCDateTime, metadata

__all__ = ["samlidp_applications", "samlidp_certificates"]

# the instance's "IAM Identity Center SAML certificate": RSA 2048, self-signed; the private key sealed
# under the KEK (context ``samlidp-key:<instance arn>``)
samlidp_certificates = Table(
    "samlidp_certificates",
    metadata,
    Column(
        "instance_arn",
        String(128),
        ForeignKey("sso_instances.instance_arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("private_enc", Text, nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("not_after", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# an application's SAML settings (samlidp/config.py: the document's keys and their checks)
samlidp_applications = Table(
    "samlidp_applications",
    metadata,
    Column(
        "application_arn",
        String(256),
        ForeignKey("sso_applications.application_arn", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("instance_arn", String(128), ForeignKey("sso_instances.instance_arn", ondelete="CASCADE"), nullable=False),
    Column("sp_entity_id", String(1024), nullable=False),  # the SP's entity id: its AuthnRequests' Issuer
    Column("config", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("instance_arn", "sp_entity_id", name="uq_samlidp_applications_entity"),
)
