"""The protocols catalogers and binary classifiers implement, and the context they share.

Catalogers run in a fixed order (os-release, OS package managers, language ecosystems,
binaries) over one `CatalogContext`: OS catalogers record which files their packages own so
that later catalogers do not report those files a second time.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

from mamori.errors import ImageError
from mamori.image.squash import SquashedView
from mamori.model import FileKind, ImageInfo, Location, OSRelease, Package


class Cataloger(Protocol):
    name: str

    def capture(self, path: str) -> bool:
        """True for every file whose content `catalog` will read from the view."""
        ...

    def catalog(self, context: CatalogContext) -> list[Package]: ...


class BinaryClassifier(Protocol):
    """Recognises a runtime or program from its bytes while the layer streams past."""

    name: str

    def should_examine(self, path: str, mode: int, size: int) -> bool: ...

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        """Return `{"classifier": name, ...}` describing what was found, or None."""
        ...


@dataclass
class CatalogContext:
    view: SquashedView
    image: ImageInfo
    os: OSRelease | None = None
    owners: dict[str, str] = field(default_factory=dict)  # path as listed → "deb:name"
    warnings: list[str] = field(default_factory=list)
    # directory → its symlink-resolved form; OS databases list tens of thousands of files
    # in a few thousand directories
    _directories: dict[str, str] = field(default_factory=dict, repr=False)
    _directory_links: list[tuple[str, str]] | None = field(default=None, repr=False)

    def canonical(self, path: str) -> str:
        """`path` with its directory's symlinks resolved (usr-merge: /bin/x → /usr/bin/x)."""
        directory, name = posixpath.split(path)
        resolved = self._directories.get(directory)
        if resolved is None:
            entry = self.view.resolve(directory) if directory not in ("", "/") else None
            resolved = entry.path if entry is not None else directory
            self._directories[directory] = resolved
        return posixpath.join(resolved, name)

    def add_owned(self, path: str, owner: str) -> None:
        self.owners[path] = owner

    def owner_of(self, path: str) -> str | None:
        """The OS package that lists `path`, under this spelling or any other that reaches the
        same file through a symlinked directory (dpkg lists /bin/ls; the file is /usr/bin/ls).

        Owned paths are stored as listed and aliases are tried at lookup: a database lists
        tens of thousands of files while later catalogers ask about a few hundred."""
        found = self.owners.get(path)
        if found is not None:
            return found
        canonical = self.canonical(path)
        found = self.owners.get(canonical)
        if found is not None:
            return found
        for real, link in self._aliases():
            if canonical.startswith(real + "/"):
                found = self.owners.get(link + canonical[len(real) :])
                if found is not None:
                    return found
        return None

    def _aliases(self) -> list[tuple[str, str]]:
        """(resolved directory, symlink to it) for every symlinked directory in the view."""
        if self._directory_links is None:
            self._directory_links = []
            for entry in self.view.files():
                if entry.meta.kind is not FileKind.SYMLINK:
                    continue
                try:
                    target = self.view.resolve(entry.path)
                except ImageError:
                    continue  # a loop: reaches no directory
                if target is not None and target.meta.kind is FileKind.DIR:
                    self._directory_links.append((self.canonical(target.path), entry.path))
        return self._directory_links

    def location(self, path: str, layer_index: int | None = None) -> Location:
        """A Location for `path`, attributed to `layer_index` or the layer that wrote it."""
        layers = self.image.layers
        if not layers:
            layer_index = -1  # a directory scanned in place has no layers
        elif layer_index is None:
            visible = self.view.get(path)
            layer_index = visible.layer_index if visible is not None else -1
        diff_id = layers[layer_index].diff_id if 0 <= layer_index < len(layers) else ""
        return Location(path=path, layer_index=layer_index, layer_diff_id=diff_id)
