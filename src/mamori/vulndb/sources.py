"""Stream the JSON documents of an OSV export: a zip (`all.zip`), a folder, or one file.

Zip members are read one at a time and never extracted, so member names (even `../x`) never
become paths; a member larger than the limit is refused before it is inflated, and a member
whose header lies about its size is cut off at the limit while reading.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mamori.errors import UsageError
from mamori.vulndb.osv import Problem

MAX_RECORD_BYTES = 8 * 1024 * 1024  # the largest real OSV records are about 1 MiB

TOO_LARGE = "record too large"
UNREADABLE_MEMBER = "unreadable zip member"
CORRUPT_ZIP = "corrupt or truncated zip"
UNREADABLE_FILE = "unreadable file"


@dataclass(frozen=True)
class Document:
    where: str
    data: bytes


class OSVSource:
    """The documents at `path`; `total` is known up front so progress can show a bar."""

    def __init__(self, path: Path, max_bytes: int = MAX_RECORD_BYTES, label: str = "") -> None:
        self.path = path
        self.label = label or path.name or str(path)
        self.max_bytes = max_bytes
        self._zip: zipfile.ZipFile | None = None
        self._members: list[zipfile.ZipInfo] = []
        self._files: list[Path] = []
        self.problem: Problem | None = None  # set when the source as a whole is unreadable
        if path.is_dir():
            self._files = sorted(p for p in path.rglob("*.json") if p.is_file())
        elif path.is_file() and path.suffix.lower() == ".json":
            self._files = [path]
        elif path.is_file():
            try:
                self._zip = zipfile.ZipFile(path)
                self._members = [
                    info
                    for info in self._zip.infolist()
                    if not info.is_dir() and info.filename.lower().endswith(".json")
                ]
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                self.problem = Problem(CORRUPT_ZIP, f"{self.label} ({exc})")
        elif path.exists():
            raise UsageError(f"{path}: not a zip file, a folder or a JSON file")
        else:
            raise UsageError(f"{path}: no such file or folder")

    @property
    def total(self) -> int:
        return len(self._members) if self._zip is not None else len(self._files)

    def documents(self) -> Iterator[Document | Problem]:
        if self.problem is not None:
            yield self.problem
        elif self._zip is not None:
            yield from self._zip_documents(self._zip)
        else:
            yield from self._file_documents()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def _zip_documents(self, archive: zipfile.ZipFile) -> Iterator[Document | Problem]:
        for info in self._members:
            where = f"{self.label}:{info.filename}"
            if info.file_size > self.max_bytes:
                yield Problem(TOO_LARGE, f"{where} ({info.file_size} bytes)")
                continue
            try:
                with archive.open(info) as member:
                    data = member.read(self.max_bytes + 1)
            # RuntimeError: encrypted member; NotImplementedError: unknown compression.
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError) as exc:
                yield Problem(UNREADABLE_MEMBER, f"{where} ({exc})")
                continue
            if len(data) > self.max_bytes:
                yield Problem(TOO_LARGE, f"{where} (more than {self.max_bytes} bytes)")
                continue
            yield Document(where, data)

    def _file_documents(self) -> Iterator[Document | Problem]:
        for file in self._files:
            where = (
                self.label if file == self.path else f"{self.label}:{file.relative_to(self.path)}"
            )
            try:
                size = file.stat().st_size
                if size > self.max_bytes:
                    yield Problem(TOO_LARGE, f"{where} ({size} bytes)")
                    continue
                yield Document(where, file.read_bytes())
            except OSError as exc:
                yield Problem(UNREADABLE_FILE, f"{where} ({exc.strerror})")
