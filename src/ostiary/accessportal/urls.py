"""Where the access portal's pages are: ``ostiary.portal_urls`` (the one place that spells them, below
both the portal's pages and the services that answer with these URLs), re-exported here."""

from __future__ import annotations

from ostiary.portal_urls import *  # noqa: F403
