"""Positions in rule files: file:line:column for YAML nodes and for offsets inside a
condition (mapped back through YAML folding to the file's own lines)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int  # 1-based; 0 when unknown
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


@dataclass(frozen=True, slots=True)
class Text:
    """A scalar's value and where its raw text sits in the file."""

    value: str
    file: str
    source: str  # the whole file
    start: int  # index of the scalar's first character in `source`
    end: int

    def locate(self, pos: int) -> Location:
        """The file position of character `pos` of the value: the k-th non-blank character
        of the value is the k-th non-blank character of the raw scalar (YAML folding only
        changes blanks)."""
        body = self.start
        if self.source[body : body + 1] in (">", "|"):
            body = self.source.find("\n", body) + 1 or self.end
        elif self.source[body : body + 1] in ("'", '"'):
            body += 1
        wanted = sum(1 for ch in self.value[:pos] if not ch.isspace())
        index, seen = body, 0
        while index < self.end:
            if not self.source[index].isspace():
                if seen == wanted:
                    break
                seen += 1
            index += 1
        return _location(self.file, self.source, index)


def _location(file: str, source: str, index: int) -> Location:
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return Location(file, line, column)


@dataclass(frozen=True, slots=True)
class Mark:
    """Locations of the nodes of one file."""

    file: str
    text: str

    def at(self, node: yaml.Node) -> Location:
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def text_of(self, node: yaml.Node) -> Text:
        value = node.value if isinstance(node, yaml.ScalarNode) else ""
        return Text(str(value), self.file, self.text, node.start_mark.index, node.end_mark.index)
