"""The access portal's tables (issue 14): what a directory user signs in to the portal with.

An identity store user (``identitystore_users``) has at most one credentials row: the password's hash
(Argon2id, or the fast HMAC of a password the server generated: ``crypto/passwords.py``), whether it is
a one-time password an administrator set (it must be changed at the next sign-in), the authenticator
app's TOTP secret (sealed under the KEK; ``totp_pending`` while enrolment is under way) and the last
time step accepted (a code is never accepted twice). Invitations are one-time links e-mailed by
``ostiary sso invite`` to set a first password: only their sha256 is kept. Failed sign-ins are counted
in ``counters`` (``userpools/lockout.py``'s rows, keyed by the identity store id).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, String, Table, Text

from ostiary.store.tables.base import UTCDateTime, metadata

__all__ = ["accessportal_credentials", "accessportal_invitations"]

accessportal_credentials = Table(
    "accessportal_credentials",
    metadata,
    Column(
        "user_id", String(64), ForeignKey("identitystore_users.user_id", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("password_hash", String(255), nullable=True),
    Column("password_temporary", Boolean, nullable=False, default=False),  # a one-time password
    Column("password_set_at", UTCDateTime(), nullable=True),
    Column("totp_secret", Text, nullable=True),  # sealed (SecretBox), base32 inside
    Column("totp_pending", Text, nullable=True),  # sealed: a secret shown for enrolment, not yet confirmed
    Column("totp_last_step", BigInteger, nullable=True),  # no code reuse (crypto/totp.py)
    Column("updated_at", UTCDateTime(), nullable=False),
)

accessportal_invitations = Table(
    "accessportal_invitations",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 hex of the link's token
    Column(
        "user_id", String(64), ForeignKey("identitystore_users.user_id", ondelete="CASCADE"), nullable=False
    ),
    Column(
        "identity_store_id",
        String(16),
        ForeignKey("sso_instances.identity_store_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Index("ix_accessportal_invitations_user", "user_id"),
)
