"""Reading one section of the gateway's configuration file: typed values, each error naming its key.

Every part that owns a section (``[gateway]``, ``[authorizers.<name>]``, ``[[routes]]``) reads it
through these helpers, so a mistake in the file stops the start with one clear sentence
(``authorizers.users.issuer: expected a string``) and nothing is served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MAX_LIST_ITEMS = 100


class ConfigError(ValueError):
    """A mistake in the gateway's configuration file; the message names the key."""


class Section:
    """One table of the file, ``where`` its dotted name (``authorizers.users``)."""

    def __init__(self, where: str, data: Any) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a table")
        self.where = where
        self.data: Mapping[str, Any] = data
        self._read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str) -> Any:
        self._read.add(name)
        return self.data.get(name)

    def string(self, name: str, default: str | None = None, *, max_length: int = 2048) -> str:
        value = self.raw(name)
        if value is None:
            if default is None:
                raise ConfigError(f"{self.key(name)}: required")
            return default
        if not isinstance(value, str):
            raise ConfigError(f"{self.key(name)}: expected a string")
        if len(value) > max_length:
            raise ConfigError(f"{self.key(name)}: longer than {max_length} characters")
        return value

    def optional_string(self, name: str) -> str | None:
        return self.string(name) if self.raw(name) is not None else None

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 2**62) -> int:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{self.key(name)}: expected an integer")
        if not minimum <= value <= maximum:
            raise ConfigError(f"{self.key(name)}: must be between {minimum} and {maximum}")
        return value

    def number(self, name: str, default: float, *, minimum: float = 0.0, maximum: float = 1e9) -> float:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{self.key(name)}: expected a number")
        if not minimum <= float(value) <= maximum:
            raise ConfigError(f"{self.key(name)}: must be between {minimum:g} and {maximum:g}")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ConfigError(f"{self.key(name)}: expected true or false")
        return value

    def strings(self, name: str, default: Sequence[str] = (), *, max_items: int = MAX_LIST_ITEMS) -> tuple[str, ...]:
        """A list of strings (a single string counts as a list of one)."""
        value = self.raw(name)
        if value is None:
            return tuple(default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(f"{self.key(name)}: expected a list of non-empty strings")
        if len(value) > max_items:
            raise ConfigError(f"{self.key(name)}: at most {max_items} items")
        return tuple(value)

    def table(self, name: str) -> Section | None:
        value = self.raw(name)
        return None if value is None else Section(self.key(name), value)

    def reject_unknown(self, *also_known: str) -> None:
        """Refuse keys nothing read (a misspelt key must not silently mean its default)."""
        unknown = sorted(set(self.data) - self._read - set(also_known))
        if unknown:
            raise ConfigError(f"{self.where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
