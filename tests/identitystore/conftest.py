"""identitystore fixtures: the Identity Center instance fixtures of tests/ssoadmin, and a user maker."""

from __future__ import annotations

import secrets
from typing import Any

from tests.ssoadmin.conftest import Instance, instance, new_instance

__all__ = ["Instance", "instance", "make_user", "new_instance"]


def make_user(ids: Any, store_id: str, name: str | None = None, **extra: Any) -> str:
    """A new user with the attributes AWS requires; its UserId."""
    user_name = name or "user-" + secrets.token_hex(4)
    return str(
        ids.create_user(
            IdentityStoreId=store_id,
            UserName=user_name,
            DisplayName=extra.pop("DisplayName", user_name.title()),
            Name=extra.pop("Name", {"GivenName": "Given", "FamilyName": "Family"}),
            **extra,
        )["UserId"]
    )
