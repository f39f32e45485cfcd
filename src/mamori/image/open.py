"""Open any supported image reference: the one entry point the inventory stage uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mamori.errors import UsageError
from mamori.image.archive import open_docker_archive, open_oci_layout
from mamori.image.interface import OpenedImage
from mamori.image.platform import Platform, default_platform
from mamori.image.reference import parse_source
from mamori.image.rootdir import RootDirectory

if TYPE_CHECKING:
    from mamori.image.registry_client import ProgressCallback


@dataclass(frozen=True)
class OpenOptions:
    scratch: Path  # where downloads and decompressed archives may go (inside the cache)
    platform: Platform = field(default_factory=default_platform)
    insecure_registry: bool = False
    skip_tls_verify: bool = False
    on_download: ProgressCallback | None = None


def open_image(text: str, options: OpenOptions) -> OpenedImage:
    ref = parse_source(text)
    location = Path(ref.location)
    if ref.scheme == "docker-archive":
        return open_docker_archive(_existing(location), ref.selector, text, options.scratch)
    if ref.scheme in ("oci-archive", "oci"):
        return open_oci_layout(
            _existing(location),
            ref.selector,
            text,
            options.scratch,
            options.platform,
            archive=ref.scheme == "oci-archive",
        )
    if ref.scheme == "dir":
        return RootDirectory(location, text)
    # Imported here: the HTTP stack costs a tenth of a second that local scans need not pay.
    if ref.scheme == "registry":
        from mamori.image.registry import RegistrySource

        return RegistrySource(
            options.scratch,
            platform=options.platform,
            insecure=options.insecure_registry,
            skip_tls_verify=options.skip_tls_verify,
            on_progress=options.on_download,
        ).open(ref.location)
    from mamori.image.engine import EngineSource

    return EngineSource(ref.scheme, options.scratch).open(ref.location)


def _existing(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"no such file or directory: {path}")
    return path
