"""Rule output strings (`%field`, `%(field)`) and Falco's JSON alert."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mamori.runtime.events import Event
from mamori.runtime.rules.fields import FieldDef, FieldType, UnknownField, lookup

_TOKEN = re.compile(r"%\(([^)]*)\)|%([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)+(?:\[[^\]]*\])?)")
_FIELD = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_]+)+)(?:\[([^\]]*)\])?")
NUMERIC = {FieldType.INT, FieldType.UINT, FieldType.PORT, FieldType.RELTIME, FieldType.ABSTIME}


class OutputError(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def parse_field(text: str) -> tuple[str, str | None]:
    """`proc.aname[2]` → ("proc.aname", "2"); ValueError when not a field reference."""
    match = _FIELD.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a field: {text!r}")
    return match.group(1), match.group(2)


@dataclass(frozen=True, slots=True)
class OutputField:
    name: str  # as written: "proc.aname[2]"
    field: FieldDef
    get: Callable[[Event], Any]

    def value(self, event: Event) -> Any:
        """The JSON value: numbers stay numbers, missing values are null."""
        value = self.get(event)
        if isinstance(value, tuple):
            value = value[0] if value else None
        if isinstance(value, bytes):
            return value.decode(errors="replace")
        if value is None or (isinstance(value, bool | int) and self.field.type in NUMERIC):
            return value
        return render(value)


def render(value: Any) -> str:
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return render(value[0]) if value else "<NA>"
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """A compiled output string: literal text between field references."""

    parts: tuple[str | OutputField, ...]
    fields: tuple[OutputField, ...]

    def render(self, event: Event) -> str:
        return "".join(p if isinstance(p, str) else render(p.get(event)) for p in self.parts)


def compile_output(text: str) -> OutputFormat:
    parts: list[str | OutputField] = []
    fields: dict[str, OutputField] = {}
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[last : match.start()])
        written = match.group(1) if match.group(1) is not None else match.group(2)
        try:
            name, arg = parse_field(written)
            field, arg = lookup(name, arg)
        except (ValueError, UnknownField) as exc:
            raise OutputError(f"bad output field: {exc}", match.start()) from None
        key = written.strip()
        out = fields.get(key) or OutputField(key, field, field.bind(arg))
        fields[key] = out
        parts.append(out)
        last = match.end()
    parts.append(text[last:])
    return OutputFormat(tuple(p for p in parts if p != ""), tuple(fields.values()))


def time_of_day(ts: int) -> str:
    """Falco's %evt.time: HH:MM:SS.nnnnnnnnn (UTC here)."""
    seconds, nanos = divmod(ts, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%H:%M:%S") + f".{nanos:09d}"


def iso_time(ts: int) -> str:
    seconds, nanos = divmod(ts, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
