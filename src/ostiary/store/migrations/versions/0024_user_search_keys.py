"""ListUsers' filter keys: one column per filterable value (the username lower-cased, the sub, and the
attributes email, phone_number, name, given_name, family_name and preferred_username as stored), cut to
256 characters, in code-point order on both dialects ("C" collation on PostgreSQL), each with an index
``(user_pool_id, key, id)`` so that every filter (``=`` and ``^=``) is an index range read in keyset
order; and ``(user_pool_id, status, id)``, ``(user_pool_id, enabled, id)``, ``(user_pool_id, created_at,
id)`` for the status filters and the unfiltered listing. Existing users get their keys here.

Revision ID: 0024
Revises: 0023
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

KEY_LEN = 256
ATTRIBUTES = ("email", "phone_number", "name", "given_name", "family_name", "preferred_username")
JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")


def _key_type(length: int) -> Any:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _keys(user_id: str, username: str, attributes: dict[str, Any]) -> dict[str, Any]:
    """The same values as ostiary.userpools.directory.search_keys (frozen here)."""
    out: dict[str, Any] = {"search_username": username.lower()[:KEY_LEN], "search_sub": user_id}
    for name in ATTRIBUTES:
        value = attributes.get(name)
        out[f"search_{name}"] = value[:KEY_LEN] if isinstance(value, str) else None
    return out


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # NOT NULL columns need a default to be added to existing rows on SQLite; the backfill below sets them
    op.add_column("users", sa.Column("search_username", _key_type(KEY_LEN), nullable=False, server_default=""))
    op.add_column("users", sa.Column("search_sub", _key_type(36), nullable=False, server_default=""))
    for name in ATTRIBUTES:
        op.add_column("users", sa.Column(f"search_{name}", _key_type(KEY_LEN), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", sa.String),
        sa.column("username", sa.String),
        sa.column("attributes", JSONDoc),
        *(sa.column(f"search_{n}", sa.String) for n in ("username", "sub", *ATTRIBUTES)),
    )
    update = (
        sa.update(users)
        .where(users.c.id == sa.bindparam("uid"))
        .values({f"search_{n}": sa.bindparam(f"search_{n}") for n in ("username", "sub", *ATTRIBUTES)})
    )
    after = ""
    while True:
        rows = bind.execute(
            sa.select(users.c.id, users.c.username, users.c.attributes)
            .where(users.c.id > after)
            .order_by(users.c.id)
            .limit(2000)
        ).all()
        if not rows:
            break
        bind.execute(update, [{"uid": r.id, **_keys(r.id, r.username, dict(r.attributes or {}))} for r in rows])
        after = rows[-1].id
    if postgres:
        op.alter_column("users", "search_username", server_default=None)
        op.alter_column("users", "search_sub", server_default=None)
    op.drop_index("ix_users_pool_created", table_name="users")
    op.create_index("ix_users_pool_created", "users", ["user_pool_id", "created_at", "id"])
    op.create_index("ix_users_pool_status", "users", ["user_pool_id", "status", "id"])
    op.create_index("ix_users_pool_enabled", "users", ["user_pool_id", "enabled", "id"])
    for name in ("username", "sub", *ATTRIBUTES):
        op.create_index(f"ix_users_search_{name}", "users", ["user_pool_id", f"search_{name}", "id"])
    bind.exec_driver_sql("ANALYZE users")  # planner statistics for the new indexes (both dialects)


def downgrade() -> None:
    for name in ("username", "sub", *ATTRIBUTES):
        op.drop_index(f"ix_users_search_{name}", table_name="users")
    op.drop_index("ix_users_pool_enabled", table_name="users")
    op.drop_index("ix_users_pool_status", table_name="users")
    op.drop_index("ix_users_pool_created", table_name="users")
    op.create_index("ix_users_pool_created", "users", ["user_pool_id", "created_at"])
    with op.batch_alter_table("users") as batch:
        for name in ("username", "sub", *ATTRIBUTES):
            batch.drop_column(f"search_{name}")
