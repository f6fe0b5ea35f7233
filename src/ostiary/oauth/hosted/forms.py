"""What the hosted pages' forms show: the username's label, the password rules, the attribute
fields of sign-up and new-password pages, and the SECRET_HASH the pages compute for a client with
a secret."""

from __future__ import annotations

from typing import Any

from ostiary.userpools.directory import PoolView
from ostiary.userpools.lookup import ClientView
from ostiary.userpools.secret_hash import secret_hash as _secret_hash

INFO = {
    "confirmed": "Your account is confirmed. Sign in to continue.",
    "reset": "Your password has been reset. Sign in with your new password.",
    "signedup": "Your account is ready. Sign in to continue.",
    "loggedout": "You have been signed out.",
}
LABELS = {
    "email": "Email",
    "phone_number": "Phone number",
    "given_name": "Given name",
    "family_name": "Family name",
    "middle_name": "Middle name",
    "preferred_username": "Preferred username",
    "birthdate": "Birthdate",
    "zoneinfo": "Time zone",
    "updated_at": "Updated at",
}
INPUT_TYPES = {"email": ("email", "email"), "phone_number": ("tel", "tel"), "birthdate": ("date", "bday")}


def secret_hash(client: ClientView, username: str) -> dict[str, str]:
    return {"SecretHash": _secret_hash(client.secret, username, client.id)} if client.secret else {}


def username_label(pool: PoolView) -> str:
    attributes = pool.username_attributes
    if attributes == ["email"]:
        return "Email"
    if attributes == ["phone_number"]:
        return "Phone number"
    if attributes:
        return "Email or phone number"
    return "Username"


def signup_allowed(pool: PoolView) -> bool:
    return not (pool.config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly")


def password_rules(pool: PoolView) -> list[str]:
    p = pool.password_policy
    rules = [f"At least {int(p.get('MinimumLength') or 8)} characters"]
    if p.get("RequireUppercase", True):
        rules.append("An uppercase letter")
    if p.get("RequireLowercase", True):
        rules.append("A lowercase letter")
    if p.get("RequireNumbers", True):
        rules.append("A number")
    if p.get("RequireSymbols", True):
        rules.append("A special character")
    return rules


def fields(pool: PoolView, names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        kind, complete = INPUT_TYPES.get(name, ("text", "on"))
        label = LABELS.get(name) or name.removeprefix("custom:").replace("_", " ").capitalize()
        out.append({"name": name, "label": label, "type": kind, "autocomplete": complete, "required": True})
    return out
