"""The gateway's and the S3 front's tables (issue 15, migration 0036)."""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from ostiary.store.tables.base import UTCDateTime, metadata

__all__ = ["s3front_bucket_policies"]

# the S3 front's bucket policies (s3front/bucket_policies.py): one document per bucket served, as
# PutBucketPolicy stored it (S3 keeps the text it was given); the owner account at the time of writing
s3front_bucket_policies = Table(
    "s3front_bucket_policies",
    metadata,
    Column("bucket", String(63), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("policy", Text, nullable=False),
    Column("updated_by", String(2048), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
