"""Squashed views built from in-memory layers, and classifiers run over real files.

A layer maps absolute image paths to what is there: `bytes`, a real file on this machine
(`Path`, read only if captured), a `File` with a probe finding, a `Symlink`, or `DELETED`
(a whiteout). As the layer probe does, only the files a cataloger's `capture` accepts keep
their content, so a test also fails when a cataloger reads a file it did not ask for.
"""

from __future__ import annotations

import io
import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mamori.catalog.interface import BinaryClassifier, CatalogContext
from mamori.image.layer_index import ContentPack, FileMeta, LayerIndex
from mamori.image.squash import SquashedView
from mamori.model import FileKind, ImageConfig, ImageInfo, LayerInfo


@dataclass(frozen=True)
class File:
    content: bytes = b""
    mode: int = 0o644
    finding: dict[str, Any] | None = None  # what the layer probe's examine() returned


@dataclass(frozen=True)
class Symlink:
    target: str


class _Deleted:
    pass


DELETED = _Deleted()

Entry = bytes | Path | File | Symlink | _Deleted
Layer = Mapping[str, Entry]


def build_context(
    layers: Sequence[Layer], root: Path, capture: Callable[[str], bool]
) -> CatalogContext:
    indexes = [_index(number, layer, root, capture) for number, layer in enumerate(layers)]
    view = SquashedView(indexes)
    infos = tuple(
        LayerInfo(index=i, digest=x.diff_id, diff_id=x.diff_id, media_type="tar", size=0)
        for i, x in enumerate(indexes)
    )
    image = ImageInfo(
        reference="test",
        source="test",
        digest="",
        config_digest="",
        repo_tags=(),
        repo_digests=(),
        config=ImageConfig(architecture="amd64", os="linux"),
        layers=infos,
        size=0,
    )
    return CatalogContext(view=view, image=image)


def _index(number: int, layer: Layer, root: Path, capture: Callable[[str], bool]) -> LayerIndex:
    content_dir = root / f"layer{number}"
    content_dir.mkdir(parents=True, exist_ok=True)
    index = LayerIndex(diff_id=f"sha256:{number:064x}", content_dir=content_dir)
    pack = ContentPack(content_dir)
    for path, entry in layer.items():
        parent = posixpath.dirname(path)
        while parent != "/":
            index.files.setdefault(parent, FileMeta(FileKind.DIR, 0o755, 0))
            parent = posixpath.dirname(parent)
        if isinstance(entry, _Deleted):
            index.whiteouts.append(path)
        elif isinstance(entry, Symlink):
            index.files[path] = FileMeta(FileKind.SYMLINK, 0o777, 0, link=entry.target)
        else:
            file = _as_file(entry, path, capture)
            name = ""
            if capture(path):
                name = pack.add(file.content)
            size = entry.stat().st_size if isinstance(entry, Path) else len(file.content)
            index.files[path] = FileMeta(FileKind.FILE, file.mode, size, content=name)
            if file.finding is not None:
                index.findings[path] = file.finding
    pack.close()
    return index


def _as_file(entry: bytes | Path | File, path: str, capture: Callable[[str], bool]) -> File:
    if isinstance(entry, bytes):
        return File(entry)
    if isinstance(entry, Path):
        return File(entry.read_bytes() if capture(path) else b"")
    return entry


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
