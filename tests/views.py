"""Build a SquashedView (and a CatalogContext over it) from layers written as dicts.

A layer maps an absolute image path to what is there: `bytes`, a real file on this machine
(`Path`, read only if captured), a `File` (content, mode and a probe finding), a `Symlink`,
`WHITEOUT` (delete the path from the layers below) or `OPAQUE` (a directory hiding everything
below it). Parent directories are added as real layers carry them. As the layer probe does,
only files for which `capture(path)` is true keep their content, so a test also fails when a
cataloger reads a file it did not ask for.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from mamori.catalog.interface import CatalogContext
from mamori.image.layer_index import ContentPack, FileMeta, LayerIndex
from mamori.image.squash import SquashedView
from mamori.model import FileKind, ImageConfig, ImageInfo, LayerInfo, OSRelease


@dataclass(frozen=True)
class File:
    content: bytes = b""
    mode: int = 0o644
    finding: dict[str, Any] | None = None  # what the layer probe's examine() returned


@dataclass(frozen=True)
class Symlink:
    target: str


class Marker(Enum):
    WHITEOUT = "whiteout"
    OPAQUE = "opaque"


WHITEOUT = DELETED = Marker.WHITEOUT
OPAQUE = Marker.OPAQUE

Entry = bytes | Path | File | Symlink | Marker
Layer = Mapping[str, Entry]


def _capture_all(path: str) -> bool:
    return True


def build_view(
    layers: Sequence[Layer], root: Path, capture: Callable[[str], bool] = _capture_all
) -> SquashedView:
    return SquashedView([_index(n, layer, root, capture) for n, layer in enumerate(layers)])


def build_context(
    layers: Sequence[Layer],
    root: Path,
    capture: Callable[[str], bool] = _capture_all,
    os: OSRelease | None = None,
) -> CatalogContext:
    view = build_view(layers, root, capture)
    infos = tuple(
        LayerInfo(index=i, digest=x.diff_id, diff_id=x.diff_id, media_type="tar", size=0)
        for i, x in enumerate(view.layers)
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
    return CatalogContext(view=view, image=image, os=os)


def _index(number: int, layer: Layer, root: Path, capture: Callable[[str], bool]) -> LayerIndex:
    content_dir = root / f"layer{number}"
    content_dir.mkdir(parents=True, exist_ok=True)
    index = LayerIndex(diff_id=f"sha256:{number:064x}", content_dir=content_dir)
    pack = ContentPack(content_dir)
    for path, entry in layer.items():
        parent = posixpath.dirname(path)
        while parent not in ("/", ""):
            index.files.setdefault(parent, FileMeta(FileKind.DIR, 0o755, 0))
            parent = posixpath.dirname(parent)
        if entry is WHITEOUT:
            index.whiteouts.append(path)
        elif entry is OPAQUE:
            index.opaque_dirs.append(path)
            index.files[path] = FileMeta(FileKind.DIR, 0o755, 0)
        elif isinstance(entry, Symlink):
            index.files[path] = FileMeta(FileKind.SYMLINK, 0o777, 0, link=entry.target)
        elif isinstance(entry, bytes | Path | File):
            file = _as_file(entry, path, capture)
            content = pack.add(file.content) if capture(path) else ""
            size = entry.stat().st_size if isinstance(entry, Path) else len(file.content)
            index.files[path] = FileMeta(FileKind.FILE, file.mode, size, content=content)
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
