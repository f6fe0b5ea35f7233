"""Single-use markers outside user pools: an HMAC of what was spent (a SAML assertion's provider and
ID for AssumeRoleWithSAML), its purpose and when the marker may be forgotten.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "single_use_markers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("purpose", sa.String(48), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_single_use_markers_expires", "single_use_markers", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_single_use_markers_expires", table_name="single_use_markers")
    op.drop_table("single_use_markers")
