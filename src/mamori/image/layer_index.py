"""The result of analysing one layer: its file table, whiteouts and captured contents.

A `LayerIndex` is what the layer cache stores, so it must be serialisable and must never
hold the layer's bytes beyond the few files a probe asked to capture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson

from mamori.model import FileKind

INDEX_FORMAT = 3
PACK_FILE = "pack"  # the captured contents of one layer, end to end


class FileMeta(NamedTuple):
    """One file of a layer. A NamedTuple, not a dataclass: layers hold tens of thousands and
    creating a frozen dataclass costs several times more."""

    kind: FileKind
    mode: int
    size: int
    link: str = ""  # symlink target as written, or the absolute path a hardlink points to
    content: str = ""  # "offset:length" of the captured content in the layer's pack file


class ContentPack:
    """Appends captured contents to a layer's pack file; each gets an `offset:length` key."""

    def __init__(self, content_dir: Path) -> None:
        self._path = content_dir / PACK_FILE
        self._handle: BinaryIO | None = None
        self._size = 0

    def add(self, data: bytes) -> str:
        if self._handle is None:
            self._handle = self._path.open("wb")
        self._handle.write(data)
        reference = f"{self._size}:{len(data)}"
        self._size += len(data)
        return reference

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


@dataclass
class LayerIndex:
    diff_id: str
    files: dict[str, FileMeta] = field(default_factory=dict)  # absolute path → meta
    whiteouts: list[str] = field(default_factory=list)  # absolute paths removed from below
    opaque_dirs: list[str] = field(default_factory=list)  # dirs whose lower content is hidden
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)  # path → probe result
    warnings: list[str] = field(default_factory=list)  # what could not be read, and why
    content_dir: Path | None = None
    uncompressed_size: int = 0

    _pack: bytes | None = field(default=None, repr=False)

    def read(self, path: str) -> bytes | None:
        """The captured content of `path` in this layer, or None if it was not captured."""
        meta = self.files.get(path)
        if meta is None or not meta.content or self.content_dir is None:
            return None
        if self._pack is None:
            self._pack = (self.content_dir / PACK_FILE).read_bytes()
        offset, _, length = meta.content.partition(":")
        start = int(offset)
        return self._pack[start : start + int(length)]

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": INDEX_FORMAT,
                "diff_id": self.diff_id,
                "uncompressed_size": self.uncompressed_size,
                "files": {
                    p: [m.kind.value, m.mode, m.size, m.link, m.content]
                    for p, m in self.files.items()
                },
                "whiteouts": self.whiteouts,
                "opaque_dirs": self.opaque_dirs,
                "findings": self.findings,
                "warnings": self.warnings,
            }
        )

    @classmethod
    def from_json(cls, data: bytes, content_dir: Path) -> LayerIndex:
        raw = orjson.loads(data)
        if raw.get("format") != INDEX_FORMAT:
            raise ValueError("layer index format mismatch")
        return cls(
            diff_id=raw["diff_id"],
            files={
                p: FileMeta(FileKind(k), mode, size, link, content)
                for p, (k, mode, size, link, content) in raw["files"].items()
            },
            whiteouts=list(raw["whiteouts"]),
            opaque_dirs=list(raw["opaque_dirs"]),
            findings=dict(raw["findings"]),
            warnings=list(raw["warnings"]),
            content_dir=content_dir,
            uncompressed_size=int(raw.get("uncompressed_size", 0)),
        )
