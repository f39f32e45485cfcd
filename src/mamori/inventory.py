"""The inventory stage: image reference → layers → squashed view → catalogers → Inventory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mamori import __version__
from mamori.catalog import result_cache
from mamori.catalog.catalogers import default_catalogers, default_classifiers
from mamori.catalog.interface import CatalogContext
from mamori.catalog.os_release import OS_RELEASE_PATHS, detect_os
from mamori.catalog.probe import CatalogProbe
from mamori.image.decompress import LayerLimits
from mamori.image.layer_cache import LayerCache
from mamori.image.layers import LayerProgress, load_layers
from mamori.image.open import OpenOptions, open_image
from mamori.image.platform import Platform, default_platform
from mamori.image.squash import SquashedView
from mamori.model import Inventory

if TYPE_CHECKING:
    from mamori.image.registry_client import ProgressCallback


@dataclass(frozen=True)
class InventoryOptions:
    cache_root: Path
    use_cache: bool = True
    platform: Platform = field(default_factory=default_platform)
    insecure_registry: bool = False
    skip_tls_verify: bool = False
    limits: LayerLimits = field(default_factory=LayerLimits)
    on_download: ProgressCallback | None = None  # (digest, bytes done, total) per blob


def take_inventory(
    reference: str,
    options: InventoryOptions,
    on_layer: LayerProgress | None = None,
    on_opened: Callable[[int], None] | None = None,
) -> Inventory:
    catalogers = default_catalogers()
    probe = CatalogProbe(catalogers, default_classifiers(), OS_RELEASE_PATHS)
    cache = LayerCache(options.cache_root, probe.version, enabled=options.use_cache)
    try:
        opened = open_image(
            reference,
            OpenOptions(
                scratch=cache.scratch(),
                platform=options.platform,
                insecure_registry=options.insecure_registry,
                skip_tls_verify=options.skip_tls_verify,
                on_download=options.on_download,
            ),
        )
        try:
            if on_opened:
                on_opened(len(opened.blobs) or 1)
            digest = opened.info.config_digest if options.use_cache else ""
            found = result_cache.load(options.cache_root, digest, probe.version) if digest else None
            if found is not None:
                os_release, packages, warnings = found
                if on_layer:
                    for number in range(1, len(opened.blobs) + 1):
                        on_layer(number, len(opened.blobs), True)
            else:
                layers = load_layers(opened, probe, cache, options.limits, on_layer)
                view = SquashedView(layers)
                context = CatalogContext(
                    view=view,
                    image=opened.info,
                    os=detect_os(view),
                    warnings=[w for layer in layers for w in layer.warnings],
                )
                packages = [p for cataloger in catalogers for p in cataloger.catalog(context)]
                os_release, warnings = context.os, context.warnings
                if digest:
                    result_cache.store(
                        options.cache_root, digest, probe.version, os_release, packages, warnings
                    )
        finally:
            opened.close()
    finally:
        cache.close()
    return Inventory(
        image=opened.info,
        os=os_release,
        packages=tuple(sorted(packages, key=lambda p: p.sort_key())),
        warnings=tuple(warnings),
        scanner_version=__version__,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
