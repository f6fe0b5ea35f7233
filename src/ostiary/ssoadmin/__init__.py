"""sso-admin (IAM Identity Center's administration API, awsJson 1.1): one module per area.

``instances.py`` (Create/Describe/List/Update/DeleteInstance); the errors every Identity Center
JSON service shares are ``errors.py``, their NextToken paging ``paging.py``. Importing the package
registers its operations.
"""

from __future__ import annotations

from ostiary.ssoadmin import instances

__all__ = ["instances"]
