"""Turn an opened image into one `LayerIndex` per layer, from the cache where possible."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import BinaryIO, cast

from mamori.image.decompress import DecompressingReader, LayerLimits
from mamori.image.digest import VerifyingReader
from mamori.image.interface import LayerBlob, LayerProbe, OpenedImage
from mamori.image.layer_analysis import analyze_directory, analyze_tar
from mamori.image.layer_cache import LayerCache
from mamori.image.layer_index import LayerIndex
from mamori.image.prefetch import CHUNK, PrefetchReader

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
    cached_layers = {blob.diff_id: cache.lookup(blob.diff_id) for blob in image.blobs}
    image.prefetch(tuple(b for b in image.blobs if cached_layers[b.diff_id] is None))
    indexes: list[LayerIndex] = []
    total = len(image.blobs)
    for number, blob in enumerate(image.blobs, start=1):
        cached = cached_layers[blob.diff_id]
        if cached is None:
            cached = cache.build(blob.diff_id, partial(_analyze_blob, image, blob, probe, limits))
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
    limits: LayerLimits | None,
    content_dir: Path,
) -> LayerIndex:
    what = f"layer {blob.digest}"
    with image.open_blob(blob) as raw:
        uncompressed = DecompressingReader(raw, what, limits)
        verified = VerifyingReader(
            cast(BinaryIO, uncompressed), blob.diff_id, f"{what} (uncompressed)"
        )
        with PrefetchReader(verified) as ahead:
            index = analyze_tar(cast(BinaryIO, ahead), blob.diff_id, probe, content_dir, what)
            while ahead.read(CHUNK):  # past the end-of-archive marker, so all is verified
                pass
        index.uncompressed_size = uncompressed.uncompressed
    return index
