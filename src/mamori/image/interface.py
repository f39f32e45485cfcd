"""The protocols shared by image sources and the layer analysis.

An `ImageSource` turns a reference into an `OpenedImage`: the parsed config, the ordered
layers and a way to stream each layer blob. The layer analysis streams every blob once,
asks a `LayerProbe` (supplied by the catalog stage) which file contents to keep, and caches
the result per layer; the squashed view is then built from those per-layer results.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from mamori.model import ImageInfo


@dataclass(frozen=True)
class LayerBlob:
    """Where to read one layer: the blob digest as stored and the expected diff_id."""

    digest: str
    diff_id: str
    media_type: str
    size: int


class OpenedImage(Protocol):
    """A resolved image whose layer blobs can be streamed."""

    info: ImageInfo
    blobs: tuple[LayerBlob, ...]
    rootfs: Path | None  # set by `dir:` sources: an unpacked filesystem instead of layers

    def prefetch(self, blobs: tuple[LayerBlob, ...]) -> None:
        """Start fetching the blobs about to be read (a registry downloads in parallel)."""
        ...

    def open_blob(self, blob: LayerBlob) -> AbstractContextManager[BinaryIO]:
        """The blob's bytes as stored (possibly compressed), digest-verified at EOF."""
        ...

    def close(self) -> None: ...


class ImageSource(Protocol):
    """One kind of image location (registry, archive, OCI layout, directory, engine)."""

    scheme: str

    def open(self, reference: str) -> OpenedImage: ...


class LayerProbe(Protocol):
    """Decides, while a layer streams past, which file contents to keep or examine.

    `version` is part of the layer cache key: change it whenever what is captured or
    what `examine` returns changes, so stale cache entries are never reused.
    """

    version: str

    def capture(self, path: str, size: int) -> bool:
        """Keep this regular file's whole content (package databases, manifests)."""
        ...

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        """Stream this regular file through `examine` (binary classifiers)."""
        ...

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        """Return a JSON-serialisable finding about the file, or None."""
        ...
