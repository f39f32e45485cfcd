"""The squashed filesystem view of an image: what a container started from it would see.

Layers are applied from the base up. For each layer, its opaque directories first hide
everything below them, then its whiteouts delete paths (and their subtrees), then its own
files are laid on top. Every visible file remembers the layer that wrote it.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mamori.errors import ImageError
from mamori.image.layer_index import FileMeta, LayerIndex
from mamori.model import FileKind

MAX_SYMLINK_HOPS = 40  # as the Linux kernel's MAXSYMLINKS


@dataclass(frozen=True)
class VisibleFile:
    path: str
    meta: FileMeta
    layer_index: int


class SquashedView:
    def __init__(self, layers: list[LayerIndex]) -> None:
        self.layers = layers
        self._files: dict[str, VisibleFile] = {}
        self._children: dict[str, set[str]] = {}
        # Paths whose lower versions were deleted by a layer: path → index of that layer.
        self._cut: dict[str, int] = {}
        for index, layer in enumerate(layers):
            self._apply(index, layer)

    # -- building -------------------------------------------------------------------------

    def _apply(self, index: int, layer: LayerIndex) -> None:
        for directory in layer.opaque_dirs:
            for child in list(self._children.get(directory, ())):
                self._remove(child, index)
        for path in layer.whiteouts:
            self._remove(path, index)
        for path, meta in layer.files.items():
            existing = self._files.get(path)
            if (
                existing is not None
                and existing.meta.kind is FileKind.DIR
                and meta.kind is not FileKind.DIR
            ):
                self._remove(path, index)
            self._add(VisibleFile(path, meta, index))

    def _add(self, file: VisibleFile) -> None:
        self._files[file.path] = file
        # Tars need not list parent directories: register every ancestor as implicit.
        child = file.path
        while child != "/":
            parent = child[: child.rfind("/")] or "/"
            siblings = self._children.setdefault(parent, set())
            if child in siblings:
                break
            siblings.add(child)
            child = parent

    def _remove(self, path: str, index: int) -> None:
        self._cut[path] = index
        stack = [path]
        while stack:
            current = stack.pop()
            self._files.pop(current, None)
            siblings = self._children.get(posixpath.dirname(current))
            if siblings is not None:
                siblings.discard(current)
            stack.extend(self._children.pop(current, ()))

    # -- queries ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._files)

    def get(self, path: str) -> VisibleFile | None:
        """The file at exactly `path`, symlinks not followed."""
        return self._files.get(path)

    def files(self) -> Iterator[VisibleFile]:
        return iter(self._files.values())

    def glob(self, pattern: str) -> list[VisibleFile]:
        """Visible entries whose absolute path matches `pattern` (fnmatch: `*` crosses `/`)."""
        return sorted(
            (f for p, f in self._files.items() if fnmatch.fnmatchcase(p, pattern)),
            key=lambda f: f.path,
        )

    def children(self, directory: str) -> list[VisibleFile]:
        return sorted(
            (self._files[p] for p in self._children.get(directory, ()) if p in self._files),
            key=lambda f: f.path,
        )

    def is_dir(self, path: str) -> bool:
        """True for listed directories and for implicit ones (parents of listed files)."""
        entry = self._files.get(path)
        return entry.meta.kind is FileKind.DIR if entry is not None else path in self._children

    def resolve(self, path: str) -> VisibleFile | None:
        """Follow symlinks (in every path component) to the file `path` refers to.

        Returns None when the path does not exist; raises ImageError on a symlink loop.
        """
        hops = 0
        pending = [part for part in path.split("/") if part]
        current = "/"
        while pending:
            part = pending.pop(0)
            if part == ".":
                continue
            if part == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, part)
            entry = self._files.get(candidate)
            if entry is None:
                if candidate in self._children and pending:
                    current = candidate  # an implicit directory
                    continue
                return None
            if entry.meta.kind is FileKind.SYMLINK:
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise ImageError(f"symlink loop while resolving {path}")
                target = entry.meta.link
                pending = [p for p in target.split("/") if p] + pending
                current = "/" if target.startswith("/") else current
                continue
            current = candidate
        return self._files.get(current) if current != "/" else self._files.get("/")

    def read(self, path: str) -> bytes | None:
        """The captured content of the file `path` refers to (symlinks and hardlinks
        followed), or None if it does not exist or was not captured."""
        entry = self.resolve(path)
        if entry is None:
            return None
        return self.layers[entry.layer_index].read(entry.path)

    def history(self, path: str) -> list[tuple[int, bytes]]:
        """Every captured version of `path` from the layer after its last deletion up to the
        visible one, oldest first: lets database catalogers attribute each package to the
        layer that first installed it."""
        visible = self._files.get(path)
        if visible is None:
            return []
        start = self._cut.get(path, -1)
        for parent in _ancestors(path):
            start = max(start, self._cut.get(parent, -1))
        versions: list[tuple[int, bytes]] = []
        for index in range(max(start, 0), visible.layer_index + 1):
            data = self.layers[index].read(path)
            if data is not None:
                versions.append((index, data))
        return versions

    def findings(self) -> Iterator[tuple[VisibleFile, dict[str, Any]]]:
        """Probe results for files still visible in the squashed view."""
        for path, file in self._files.items():
            result = self.layers[file.layer_index].findings.get(path)
            if result is not None:
                yield file, result


def _ancestors(path: str) -> Iterator[str]:
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        yield parent
        parent = posixpath.dirname(parent)
