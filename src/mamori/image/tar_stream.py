"""A streaming reader of tar headers, for layers read exactly once from start to end.

Why not `tarfile`: its per-member cost (header objects, checksums in Python, 10 KiB reads
through every wrapper) made it the largest cost of an inventory. This reader pulls the
stream in 1 MiB chunks and parses only the fields a layer index needs: name, type, mode,
size, link target — with the ustar prefix, GNU long names and PAX path/size records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple, Protocol

from mamori.errors import ImageError

BLOCK = 512
READ_SIZE = 1 << 20
MAX_META = 1 << 20  # long names and PAX records are small; larger ones are corruption

REGULAR = frozenset(b"07\0")
HARDLINK, SYMLINK, DIRECTORY = ord("1"), ord("2"), ord("5")
GNU_LONGNAME, GNU_LONGLINK = ord("L"), ord("K")
PAX_LOCAL, PAX_GLOBAL = ord("x"), ord("g")


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class TarMember(NamedTuple):
    """A NamedTuple for speed: one is made per entry of every layer."""

    name: str
    type: int  # the typeflag byte
    mode: int
    size: int  # bytes of content that follow
    linkname: str

    @property
    def is_file(self) -> bool:
        return self.type in REGULAR

    @property
    def is_dir(self) -> bool:
        return self.type == DIRECTORY

    @property
    def is_symlink(self) -> bool:
        return self.type == SYMLINK

    @property
    def is_hardlink(self) -> bool:
        return self.type == HARDLINK


def _octal(field: bytes, what: str) -> int:
    if field and field[0] & 0x80:  # GNU base-256 for values that do not fit in octal
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise ImageError(f"{what}: corrupt tar header (bad number {field!r})") from None


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


class TarStream:
    """Iterate members; read a member's content with `read_content` or let it be skipped."""

    def __init__(self, stream: Readable, what: str) -> None:
        self._stream = stream
        self._what = what
        self._buffer = b""
        self._pos = 0
        self._offset = 0  # stream offset of self._buffer[0]
        self._remaining = 0  # content bytes of the current member not yet consumed
        self._padding = 0
        self._global: dict[str, str] = {}

    # -- buffer -----------------------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        """Make at least `need` bytes available; False at end of stream."""
        while len(self._buffer) - self._pos < need:
            chunk = self._stream.read(READ_SIZE)
            if not chunk:
                return False
            self._offset += self._pos
            self._buffer = self._buffer[self._pos :] + chunk
            self._pos = 0
        return True

    def _take(self, size: int) -> bytes:
        if not self._fill(size):
            raise ImageError(f"{self._what}: truncated tar (unexpected end of data)")
        data = self._buffer[self._pos : self._pos + size]
        self._pos += size
        return data

    def _skip(self, size: int) -> None:
        while size > 0:
            available = len(self._buffer) - self._pos
            if available == 0:
                if not self._fill(1):
                    raise ImageError(f"{self._what}: truncated tar (unexpected end of data)")
                continue
            step = min(size, available)
            self._pos += step
            size -= step

    # -- members ----------------------------------------------------------------------------

    def read_content(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all when -1) of the current member's remaining content."""
        if size < 0 or size > self._remaining:
            size = self._remaining
        if size == 0:
            return b""
        self._fill(min(size, READ_SIZE))
        available = len(self._buffer) - self._pos
        if available == 0:
            raise ImageError(f"{self._what}: truncated tar (unexpected end of data)")
        step = min(size, available)
        data = self._buffer[self._pos : self._pos + step]
        self._pos += step
        self._remaining -= step
        return data

    def _finish_member(self) -> None:
        self._skip(self._remaining + self._padding)
        self._remaining = self._padding = 0

    def _start_content(self, size: int) -> None:
        self._remaining = size
        self._padding = -size % BLOCK

    def _meta_content(self, size: int) -> bytes:
        if size > MAX_META or size < 0:
            raise ImageError(f"{self._what}: corrupt tar (metadata record of {size} bytes)")
        data = self._take(size)
        self._skip(-size % BLOCK)
        return data

    def __iter__(self) -> Iterator[TarMember]:
        pending: dict[str, str] = {}
        while True:
            self._finish_member()
            if not self._fill(BLOCK):
                if self._pos == len(self._buffer) and self._offset + self._pos == 0:
                    raise ImageError(f"{self._what}: empty layer (not a tar)")
                return  # a missing end-of-archive marker is tolerated, as tar does
            header = self._take(BLOCK)
            if header.count(0) == BLOCK:
                return  # end-of-archive marker
            member = self._parse(header)
            if member.type in (GNU_LONGNAME, GNU_LONGLINK):
                value = _text(self._meta_content(member.size))
                pending["path" if member.type == GNU_LONGNAME else "linkpath"] = value
                continue
            if member.type in (PAX_LOCAL, PAX_GLOBAL):
                records = self._pax(self._meta_content(member.size))
                (pending if member.type == PAX_LOCAL else self._global).update(records)
                continue
            overrides = {**self._global, **pending}
            pending = {}
            if overrides:
                member = self._override(member, overrides)
            self._start_content(member.size if member.type not in (DIRECTORY, SYMLINK) else 0)
            yield member

    def _parse(self, header: bytes) -> TarMember:
        # The checksum proves a header is a header. It is checked for the first one (is this
        # a tar at all?) and for any without the ustar magic; the content of every layer is
        # verified against its diff_id anyway, so checking all would only cost time.
        if (self._offset + self._pos == BLOCK or header[257:262] != b"ustar") and (
            _octal(header[148:156], self._what) != sum(header) - sum(header[148:156]) + 256
        ):
            offset = self._offset + self._pos - BLOCK
            raise ImageError(f"{self._what}: corrupt tar (bad header checksum at byte {offset})")
        name = _text(header[0:100])
        if header[257:263] == b"ustar\0":  # POSIX: a prefix may hold the leading directories
            prefix = _text(header[345:500])
            if prefix:
                name = f"{prefix}/{name}"
        return TarMember(
            name=name,
            type=header[156] if header[156] else ord("0"),
            mode=_octal(header[100:108], self._what),
            size=_octal(header[124:136], self._what),
            linkname=_text(header[157:257]),
        )

    def _pax(self, data: bytes) -> dict[str, str]:
        records: dict[str, str] = {}
        position = 0
        while position < len(data):
            space = data.find(b" ", position)
            if space < 0:
                break
            try:
                length = int(data[position:space])
            except ValueError:
                raise ImageError(f"{self._what}: corrupt tar (bad PAX record)") from None
            if length <= 0:
                raise ImageError(f"{self._what}: corrupt tar (bad PAX record length)")
            record = data[space + 1 : position + length - 1]
            key, _, value = record.partition(b"=")
            records[key.decode("utf-8", "replace")] = value.decode("utf-8", "surrogateescape")
            position += length
        return records

    def _override(self, member: TarMember, values: dict[str, str]) -> TarMember:
        size = member.size
        if "size" in values:
            try:
                size = int(values["size"])
            except ValueError:
                raise ImageError(f"{self._what}: corrupt tar (bad PAX size)") from None
        return TarMember(
            name=values.get("path", member.name),
            type=member.type,
            mode=member.mode,
            size=size,
            linkname=values.get("linkpath", member.linkname),
        )


class MemberReader:
    """The current member's content as a read-only stream (for probes that examine it)."""

    def __init__(self, tar: TarStream) -> None:
        self._tar = tar

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = []
            while chunk := self._tar.read_content(READ_SIZE):
                parts.append(chunk)
            return b"".join(parts)
        return self._tar.read_content(size)

    def readable(self) -> bool:
        return True
