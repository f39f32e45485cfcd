"""Turn an opened image into one `LayerIndex` per layer, from the cache where possible."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mamori.image.decompress import DecompressingReader, LayerLimits
from mamori.image.digest import VerifyingReader
from mamori.image.interface import LayerBlob, LayerProbe, OpenedImage
from mamori.image.layer_analysis import analyze_directory, analyze_tar
from mamori.image.layer_cache import LayerCache
from mamori.image.layer_index import LayerIndex

# Called after each layer with (layer number from 1, layer count, whether the cache had it).
LayerProgress = Callable[[int, int, bool], None]


def load_layers(
    image: OpenedImage,
    probe: LayerProbe,
    cache: LayerCache,
    limits: LayerLimits | None = None,
    on_layer: LayerProgress | None = None,
) -> list[LayerIndex]:
    if image.rootfs is not None:
        rootfs: Path = image.rootfs
        index = cache.build("", lambda content: analyze_directory(rootfs, probe, content))
        if on_layer:
            on_layer(1, 1, False)
        return [index]
    indexes: list[LayerIndex] = []
    total = len(image.blobs)
    for number, blob in enumerate(image.blobs, start=1):
        cached = cache.lookup(blob.diff_id)
        if cached is None:
            cached = cache.build(
                blob.diff_id,
                lambda content, b=blob: _analyze_blob(image, b, probe, content, limits),
            )
            hit = False
        else:
            hit = True
        indexes.append(cached)
        if on_layer:
            on_layer(number, total, hit)
    return indexes


def _analyze_blob(
    image: OpenedImage,
    blob: LayerBlob,
    probe: LayerProbe,
    content_dir: Path,
    limits: LayerLimits | None,
) -> LayerIndex:
    what = f"layer {blob.digest}"
    with image.open_blob(blob) as raw:
        uncompressed = DecompressingReader(raw, what, limits)
        verified = VerifyingReader(uncompressed, blob.diff_id, f"{what} (uncompressed)")
        index = analyze_tar(verified, blob.diff_id, probe, content_dir, what)
        verified.finish()
        index.uncompressed_size = uncompressed.uncompressed
    return index
