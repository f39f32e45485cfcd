"""A reader for rpm header blobs, as stored in the rpmdb (the header without its 8-byte magic).

Layout (all integers big-endian): int32 index count, int32 data size, then one 16-byte
index entry per tag (tag, type, offset into the data store, count), then the data store.
Every offset and length is checked against the blob, so a corrupt blob raises
`RpmHeaderError` and never reads out of bounds.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

NAME = 1000
VERSION = 1001
RELEASE = 1002
EPOCH = 1003
LICENSE = 1014
ARCH = 1022
SOURCERPM = 1044
DIRINDEXES = 1116
BASENAMES = 1117
DIRNAMES = 1118

_INT32 = 4
_STRING = 6
_STRING_ARRAY = 8
_I18NSTRING = 9

# rpm's own limits (lib/header_internal.h): at most 0xffff tags and 256 MiB of data.
_MAX_TAGS = 0xFFFF
_MAX_DATA = 0x0FFFFFFF
_ENTRY = struct.Struct(">iiii")


class RpmHeaderError(ValueError):
    pass


@dataclass(frozen=True)
class _Entry:
    type: int
    offset: int
    count: int


class RpmHeader:
    def __init__(self, blob: bytes) -> None:
        if len(blob) < 8:
            raise RpmHeaderError(f"header is {len(blob)} bytes, shorter than its 8-byte preamble")
        tags, size = struct.unpack_from(">ii", blob)
        if not 0 < tags <= _MAX_TAGS or not 0 <= size <= _MAX_DATA:
            raise RpmHeaderError(f"header declares {tags} tags and {size} data bytes")
        store = 8 + 16 * tags
        if store + size > len(blob):
            raise RpmHeaderError(
                f"header declares {store + size} bytes but the blob has {len(blob)}"
            )
        self._data = blob[store : store + size]
        self._entries: dict[int, _Entry] = {}
        for index in range(tags):
            tag, kind, offset, count = _ENTRY.unpack_from(blob, 8 + 16 * index)
            self._entries.setdefault(tag, _Entry(kind, offset, count))

    def string(self, tag: int) -> str | None:
        """A STRING (or the first I18NSTRING) tag's value, None when the tag is absent."""
        entry = self._lookup(tag, (_STRING, _I18NSTRING), "a string")
        return None if entry is None else self._strings(tag, entry.offset, 1)[0]

    def strings(self, tag: int) -> list[str]:
        entry = self._lookup(tag, (_STRING_ARRAY,), "a string array")
        return [] if entry is None else self._strings(tag, entry.offset, entry.count)

    def int32s(self, tag: int) -> list[int]:
        entry = self._lookup(tag, (_INT32,), "int32")
        if entry is None:
            return []
        if entry.offset + 4 * entry.count > len(self._data):
            raise RpmHeaderError(f"tag {tag} runs past the end of the data store")
        return list(struct.unpack_from(f">{entry.count}i", self._data, entry.offset))

    def files(self) -> list[str]:
        """Absolute paths of the package's files (BASENAMES joined to DIRNAMES)."""
        basenames = self.strings(BASENAMES)
        dirnames = self.strings(DIRNAMES)
        indexes = self.int32s(DIRINDEXES)
        if len(indexes) != len(basenames):
            raise RpmHeaderError(f"{len(basenames)} file names but {len(indexes)} dir indexes")
        if any(not 0 <= i < len(dirnames) for i in indexes):
            raise RpmHeaderError("a file's dir index is out of range")
        return [dirnames[i] + name for i, name in zip(indexes, basenames, strict=True)]

    def _lookup(self, tag: int, kinds: tuple[int, ...], what: str) -> _Entry | None:
        entry = self._entries.get(tag)
        if entry is None:
            return None
        if entry.type not in kinds:
            raise RpmHeaderError(f"tag {tag} has type {entry.type}, not {what}")
        if not 0 <= entry.offset < len(self._data) or entry.count <= 0:
            raise RpmHeaderError(f"tag {tag} has offset {entry.offset} and count {entry.count}")
        return entry

    def _strings(self, tag: int, offset: int, count: int) -> list[str]:
        values = []
        for _ in range(count):
            end = self._data.find(b"\0", offset)
            if end < 0:
                raise RpmHeaderError(f"tag {tag} has a string without its terminating NUL")
            values.append(self._data[offset:end].decode("utf-8", "surrogateescape"))
            offset = end + 1
        return values
