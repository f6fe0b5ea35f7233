"""Reserved for issue 14's sso_oidc tables (empty until that work lands; an empty revision changes nothing).

Revision ID: 0031
Revises: 0030
"""

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
