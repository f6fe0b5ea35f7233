"""Reserved for issue 16's log delivery configuration and compromised-credential tables (empty until
that work lands; an empty revision changes nothing).

Revision ID: 0038
Revises: 0037
"""

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
