"""Reserved for issue 16's adaptive authentication tables (what a user's sign-ins have shown: devices,
networks, countries; empty until that work lands; an empty revision changes nothing).

Revision ID: 0037
Revises: 0036
"""

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
