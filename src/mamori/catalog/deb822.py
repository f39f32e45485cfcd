"""A small parser for Debian control data (deb822): the dpkg status file and its relatives.

Stanzas are separated by blank lines; a field is `Name: value`; a line starting with a
space or tab continues the previous field. The parser never raises: a stanza it cannot
read is returned with `problem` set, so the caller can skip it with a precise warning.
Bytes that are not UTF-8 are kept as surrogate escapes and reported per field, so that a
stray Latin-1 byte in a Description does not cost the package.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from mamori.catalog.pkgdb import undecodable


@dataclass
class Stanza:
    line: int  # 1-based number of the stanza's first line
    fields: dict[str, str] = field(default_factory=dict)  # lower-cased name → value
    problem: str = ""  # why the stanza cannot be trusted; "" when it is well-formed

    def get(self, name: str) -> str | None:
        return self.fields.get(name.lower())

    def undecodable(self, name: str) -> bool:
        """True when the field's value held bytes that are not UTF-8."""
        value = self.fields.get(name.lower())
        return value is not None and undecodable(value)


def parse_stanzas(data: bytes) -> Iterator[Stanza]:
    stanza: Stanza | None = None
    current = ""  # the field continuation lines append to
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.decode("utf-8", "surrogateescape").rstrip("\r")
        if not line.strip():
            if stanza is not None:
                yield stanza
            stanza, current = None, ""
            continue
        if stanza is None:
            stanza = Stanza(line=number)
        if stanza.problem:
            continue
        if line[0] in " \t":
            if not current:
                stanza.problem = f"line {number} continues a field that was never started"
            else:
                stanza.fields[current] += "\n" + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or any(c.isspace() for c in name):
            stanza.problem = f"line {number} is not a 'Name: value' field"
            continue
        current = name.lower()
        stanza.fields[current] = value.strip()
    if stanza is not None:
        yield stanza
