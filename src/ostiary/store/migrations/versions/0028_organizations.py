"""Reserved for issue 14's organizations tables (empty until that work lands; an empty revision changes nothing).

Revision ID: 0028
Revises: 0027
"""

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
