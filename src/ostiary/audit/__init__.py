"""Audit events: one row per security-relevant state change (``recorder``), read through CloudTrail's
LookupEvents and ``ostiary events`` (``lookup``). See docs/audit.md."""
