"""Helpers for classifier and language-cataloger tests: real directory trees as layers,
short-read streams, and the layer probe's finding for a real file (views: tests/views.py)."""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mamori.catalog.interface import BinaryClassifier
from tests.views import Entry, File, Symlink


def tree_layer(directory: Path, prefix: str) -> dict[str, Entry]:
    """Every regular file and symlink under `directory`, placed under image path `prefix`."""
    layer: dict[str, Entry] = {}
    for current, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            full = Path(current, name)
            path = posixpath.join(prefix, full.relative_to(directory).as_posix())
            if full.is_symlink():
                layer[path] = Symlink(os.readlink(full))
            elif full.is_file():
                layer[path] = full
    return layer


class ShortReads(io.BytesIO):
    """A stream that returns at most `first` bytes on the first read and `step` after, like
    a pipe, to put chunk boundaries where a test wants them."""

    def __init__(self, data: bytes, first: int, step: int) -> None:
        super().__init__(data)
        self._limit = first
        self._step = step

    def read(self, size: int | None = -1) -> bytes:
        limit = self._limit if size is None or size < 0 else min(size, self._limit)
        self._limit = self._step
        return super().read(limit)


def examine(
    classifiers: Sequence[BinaryClassifier], disk_path: Path, image_path: str
) -> dict[str, Any] | None:
    """What the layer probe records for the real file `disk_path` seen at `image_path`:
    the first classifier that wants the file examines its stream."""
    info = disk_path.stat()
    for classifier in classifiers:
        if classifier.should_examine(image_path, info.st_mode & 0o7777, info.st_size):
            with disk_path.open("rb") as stream:
                return classifier.examine(image_path, stream)
    return None


def binary(classifiers: Sequence[BinaryClassifier], disk_path: Path, image_path: str) -> File:
    """The real file as an image layer entry carrying the probe's finding."""
    mode = disk_path.stat().st_mode & 0o7777
    return File(mode=mode, finding=examine(classifiers, disk_path, image_path))
