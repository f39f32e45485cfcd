"""`dir:PATH`: an unpacked root filesystem, scanned in place as a single pseudo-layer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mamori.errors import ImageError, UsageError
from mamori.image.interface import LayerBlob
from mamori.model import ImageConfig, ImageInfo


class RootDirectory:
    def __init__(self, path: Path, reference: str) -> None:
        if not path.exists():
            raise UsageError(f"no such directory: {path}")
        if not path.is_dir():
            raise UsageError(f"{path} is not a directory")
        self.rootfs: Path | None = path
        self.blobs: tuple[LayerBlob, ...] = ()
        self.info = ImageInfo(
            reference=reference,
            source="dir",
            digest="",
            config_digest="",
            repo_tags=(),
            repo_digests=(),
            config=ImageConfig(architecture="", os="linux"),
            layers=(),
            size=0,
        )

    def prefetch(self, blobs: tuple[LayerBlob, ...]) -> None:
        """A directory has no blobs."""

    @contextmanager
    def open_blob(self, blob: LayerBlob) -> Iterator[BinaryIO]:
        raise ImageError("a directory has no layer blobs")
        yield  # pragma: no cover - makes this a generator

    def close(self) -> None:
        """Nothing to release: the directory is read in place."""
