"""Reserved for issue 15's S3 front tables (bucket policies) and the gateway's (empty until that work
lands; an empty revision changes nothing).

Revision ID: 0036
Revises: 0035
"""

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
