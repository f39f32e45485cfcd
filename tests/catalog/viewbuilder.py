"""Build a SquashedView (and a CatalogContext over it) from layers written as dicts.

Each layer maps an absolute path to its content (bytes), a `Symlink`, `WHITEOUT` (delete the
path from the layers below) or `OPAQUE` (a directory hiding everything below it). Parent
directories are added to each layer as real image layers carry them. Only files for which
`capture(path)` is true keep their content, as the layer probe would do, so tests also
check that a cataloger asks for every file it reads.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mamori.catalog.interface import CatalogContext
from mamori.image.layer_index import ContentPack, FileMeta, LayerIndex
from mamori.image.squash import SquashedView
from mamori.model import FileKind, ImageConfig, ImageInfo, LayerInfo, OSRelease


@dataclass(frozen=True)
class Symlink:
    target: str


class Marker(Enum):
    WHITEOUT = "whiteout"
    OPAQUE = "opaque"


WHITEOUT = Marker.WHITEOUT
OPAQUE = Marker.OPAQUE

Entry = bytes | Symlink | Marker
Layer = Mapping[str, Entry]


def build_view(
    layers: list[Layer], root: Path, capture: Callable[[str], bool] = lambda _: True
) -> SquashedView:
    indexes = []
    for number, layer in enumerate(layers):
        content_dir = root / f"layer{number}"
        content_dir.mkdir(parents=True, exist_ok=True)
        index = LayerIndex(diff_id=f"sha256:{number:064x}", content_dir=content_dir)
        pack = ContentPack(content_dir)
        for path, entry in layer.items():
            for parent in _ancestors(path):
                index.files.setdefault(parent, FileMeta(FileKind.DIR, 0o755, 0))
            if entry is WHITEOUT:
                index.whiteouts.append(path)
            elif entry is OPAQUE:
                index.opaque_dirs.append(path)
                index.files[path] = FileMeta(FileKind.DIR, 0o755, 0)
            elif isinstance(entry, Symlink):
                index.files[path] = FileMeta(FileKind.SYMLINK, 0o777, 0, link=entry.target)
            elif isinstance(entry, bytes):
                name = ""
                if capture(path):
                    name = pack.add(entry)
                index.files[path] = FileMeta(FileKind.FILE, 0o644, len(entry), content=name)
        pack.close()
        indexes.append(index)
    return SquashedView(indexes)


def build_context(
    layers: list[Layer],
    root: Path,
    capture: Callable[[str], bool] = lambda _: True,
    os: OSRelease | None = None,
) -> CatalogContext:
    view = build_view(layers, root, capture)
    infos = tuple(
        LayerInfo(
            index=index,
            digest=layer.diff_id,
            diff_id=layer.diff_id,
            media_type="application/vnd.oci.image.layer.v1.tar",
            size=0,
        )
        for index, layer in enumerate(view.layers)
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


def _ancestors(path: str) -> list[str]:
    parents = []
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        parents.append(parent)
        parent = posixpath.dirname(parent)
    return parents
