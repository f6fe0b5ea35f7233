"""Reserved for issue 14's access_portal tables (empty until that work lands; an empty revision changes nothing).

Revision ID: 0033
Revises: 0032
"""

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
