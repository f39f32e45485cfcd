"""The LayerProbe built from the catalogers and binary classifiers.

Its version, part of every layer-cache key, is a hash of the catalog and layer-analysis
source, so a change to any cataloger invalidates cached layers without a manual bump.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from mamori.catalog.interface import BinaryClassifier, Cataloger


@cache
def catalog_version() -> str:
    digest = hashlib.sha256()
    roots = [Path(__file__).parent, Path(__file__).parent.parent / "image"]
    for root in roots:
        for source in sorted(root.rglob("*.py")):
            digest.update(source.name.encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


class CatalogProbe:
    def __init__(
        self,
        catalogers: Sequence[Cataloger],
        classifiers: Sequence[BinaryClassifier],
        extra_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.version = catalog_version()
        self._catalogers = tuple(catalogers)
        self._extra_paths = extra_paths  # read by stages other than the catalogers
        self._classifiers = tuple(classifiers)
        self._chosen: BinaryClassifier | None = None

    def capture(self, path: str, size: int) -> bool:
        return path in self._extra_paths or any(c.capture(path) for c in self._catalogers)

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        # Only one classifier can read a stream: the first that wants the file, so
        # name-specific classifiers come before generic ones. `examine` follows at once.
        self._chosen = next(
            (c for c in self._classifiers if c.should_examine(path, mode, size)), None
        )
        return self._chosen is not None

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        chosen, self._chosen = self._chosen, None
        return chosen.examine(path, stream) if chosen is not None else None
