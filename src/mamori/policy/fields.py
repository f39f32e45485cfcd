"""Validation of one mapping (a YAML item or a server record) with errors that say where.

An error names `file:line` when the mapping came from YAML (see yamlfile.Located) and
`source: label` otherwise, so one set of checks serves files and server records alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from mamori.errors import UsageError
from mamori.model import SeverityRating
from mamori.policy.yamlfile import Located

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SEVERITIES = ", ".join(rating.value for rating in SeverityRating)


@dataclass(frozen=True)
class Record:
    data: Mapping[str, Any]
    source: str  # a file path, or e.g. "server"
    label: str  # what the mapping is, e.g. "rule 2" or "acceptance 1"

    @classmethod
    def of(cls, data: object, source: str, label: str) -> Record:
        """The record for `data`, which must be a mapping with string keys."""
        if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
            where = f"{source}:{data.line}" if isinstance(data, Located) else source
            raise UsageError(f"{where}: {label} must be a mapping")
        return cls(data, source, label)

    def place(self, key: str | None = None) -> str:
        """`file:line` of the mapping (or of its value for `key`), else `source: label`."""
        if isinstance(self.data, Located):
            line = self.data.value_lines.get(key, self.data.line) if key else self.data.line
            return f"{self.source}:{line}"
        return f"{self.source}: {self.label}"

    def where(self, key: str | None = None) -> str:
        """The place with the label, for error messages."""
        if isinstance(self.data, Located):
            return f"{self.place(key)}: {self.label}"
        return self.place(key)

    def error(self, message: str, key: str | None = None) -> UsageError:
        return UsageError(f"{self.where(key)}: {message}")

    def only(self, allowed: Iterable[str]) -> None:
        """Reject unknown keys, so that a typo ("expire") is not silently ignored."""
        known = set(allowed)
        for key in self.data:
            if key not in known:
                raise self.error(f"unknown field {key!r} (known: {', '.join(sorted(known))})", key)

    def required(self, key: str) -> Any:
        value = self.data.get(key)
        if value is None or value == "":
            raise self.error(f"{key!r} is required")
        return value

    def string(self, key: str, *, required: bool = False) -> str:
        value = self.required(key) if required else self.data.get(key)
        if value is None:
            return ""
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.error(f"{key!r} must be a string", key)
        return str(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(
            isinstance(item, str | int | float) and not isinstance(item, bool) for item in value
        ):
            raise self.error(f"{key!r} must be a list of strings", key)
        return tuple(str(item) for item in value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.error(f"{key!r} must be true or false", key)
        return value

    def integer(self, key: str, *, minimum: int = 0) -> int:
        value = self.required(key)
        return self.count(value, key, minimum=minimum)

    def count(self, value: object, key: str, *, minimum: int = 0) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self.error(f"{key!r} must be a whole number ≥ {minimum}, not {value!r}", key)
        return value

    def severity(self, key: str, value: object = None) -> SeverityRating:
        value = self.required(key) if value is None else value
        try:
            return SeverityRating(str(value).lower())
        except ValueError:
            raise self.error(f"unknown severity {value!r} (known: {SEVERITIES})", key) from None

    def optional_date(self, key: str) -> date | None:
        return None if self.data.get(key) is None else self.required_date(key)

    def required_date(self, key: str) -> date:
        value = self.data.get(key)
        if value is None or value == "":
            raise self.error(f"{key!r} is required (a date YYYY-MM-DD)")
        text = str(value)
        try:
            if not isinstance(value, str) or not _DATE.fullmatch(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise self.error(f"{key!r} must be a date YYYY-MM-DD, not {text!r}", key) from None
