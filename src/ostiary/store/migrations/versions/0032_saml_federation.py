"""Reserved for issue 14's saml_federation tables (empty until that work lands; an empty revision changes nothing).

Revision ID: 0032
Revises: 0031
"""

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
