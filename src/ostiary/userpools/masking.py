"""Destinations masked as Cognito masks them in CodeDeliveryDetails and challenge parameters."""

from __future__ import annotations


def mask_email(email: str) -> str:
    """``alice@example.com`` → ``a***@e***``."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(phone: str) -> str:
    """``+15555551234`` → ``+*******1234``."""
    if len(phone) <= 4:
        return "*" * len(phone)
    head = "+" if phone.startswith("+") else ""
    return head + "*" * (len(phone) - len(head) - 4) + phone[-4:]


def mask(medium: str, destination: str) -> str:
    return mask_email(destination) if medium == "EMAIL" else mask_phone(destination)
