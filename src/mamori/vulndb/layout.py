"""The database folder (`--dbpath`): its files, its writer lock, and atomic replacement.

    mamori.db            the SQLite database readers open
    metadata.json        sources, ETags, counts (see metadata.py)
    downloads/NAME.zip   the last export downloaded per ecosystem, reused on 304 Not Modified
    .lock                held by the one `db update` / `db import` running on this folder
    .build-*, .part-*    work files; a crash can leave them, the next writer removes them

Everything new is written beside its final name and moved over it with `os.replace`, so a
reader sees the old file or the new one, never half of one; a reader that already opened the
old database keeps reading it (the open file survives the rename).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mamori.errors import MamoriError

DB_FILE = "mamori.db"
METADATA_FILE = "metadata.json"
DOWNLOADS = "downloads"
_WORK_PREFIXES = (".build-", ".part-", ".tmp-")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class DbDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / DB_FILE
        self.metadata = root / METADATA_FILE
        self.downloads = root / DOWNLOADS

    def download_file(self, ecosystem: str) -> Path:
        return self.downloads / f"{_UNSAFE.sub('_', ecosystem)}.zip"

    def work_file(self, folder: Path, prefix: str) -> Path:
        """A new empty file in `folder` whose name marks it as work in progress."""
        fd, name = tempfile.mkstemp(prefix=prefix, dir=folder)
        os.close(fd)
        return Path(name)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive right to change the folder; stale work files are removed on entry."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self.downloads.mkdir(exist_ok=True)
        except OSError as exc:
            raise MamoriError(
                f"cannot create the database folder {self.root}: {exc.strerror}"
            ) from None
        with open(self.root / ".lock", "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise MamoriError(
                    f"another `mamori db update` or `mamori db import` is running on {self.root}"
                ) from None
            for folder in (self.root, self.downloads):
                for entry in folder.iterdir():
                    if entry.name.startswith(_WORK_PREFIXES):
                        entry.unlink(missing_ok=True)
            yield


def commit_file(work: Path, final: Path) -> None:
    """Flush `work` to disk and move it over `final` in one step."""
    with open(work, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(work, final)
    _sync_dir(final.parent)


def write_atomic(final: Path, data: bytes) -> None:
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        commit_file(Path(name), final)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        with contextlib.suppress(OSError):  # some filesystems refuse fsync on a folder
            os.fsync(fd)
    finally:
        os.close(fd)
