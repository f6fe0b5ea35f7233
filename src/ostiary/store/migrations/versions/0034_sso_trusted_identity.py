"""Reserved for issue 14's sso-admin trusted token issuers, application grants, access scopes,
authentication methods and session configuration (empty until that work lands; an empty revision
changes nothing).

Revision ID: 0034
Revises: 0033
"""

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
