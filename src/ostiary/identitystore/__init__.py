"""identitystore (awsJson 1.1): the workforce directory of an IAM Identity Center instance (users,
groups, memberships). Importing the package registers its operations.

``stores.py`` (the store a request names, Describe/ListIdentityStores), ``users.py``, ``groups.py``,
``memberships.py`` (and IsMemberInGroups), ``lookup.py`` (GetUserId, GetGroupId,
GetGroupMembershipId); what they share: ``records.py`` (writes and shapes, also used by SCIM),
``documents.py`` (attributes ↔ the stored document, UpdateUser's operations), ``directory.py``
(read-only queries for the other Identity Center parts).
"""

from __future__ import annotations

from ostiary.identitystore import groups, lookup, memberships, stores, users

__all__ = ["groups", "lookup", "memberships", "stores", "users"]
