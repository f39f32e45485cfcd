"""The `registry` image source: pull an image's manifest, config and layers from a registry.

Layers are downloaded into the work directory as verified temp files, by a pool of four
threads. `prefetch(blobs)` starts downloads ahead of use (pass the layers the cache does not
hold); `open_blob` waits for its layer's download, starting it if nobody asked before.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from mamori.errors import ImageError
from mamori.image.config import layer_history, parse_config
from mamori.image.digest import is_digest
from mamori.image.interface import LayerBlob
from mamori.image.platform import Platform, default_platform
from mamori.image.reference import RegistryReference, parse_registry_reference
from mamori.image.registry_auth import credentials_for
from mamori.image.registry_client import Manifest, ProgressCallback, RegistryClient
from mamori.model import ImageConfig, ImageInfo, LayerInfo

CONFIG_TYPES = (
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
)
MAX_CONFIG_BYTES = 16 << 20
DOWNLOAD_WORKERS = 4


class RegistrySource:
    scheme = "registry"

    def __init__(
        self,
        work_dir: Path,
        *,
        platform: Platform | None = None,
        insecure: bool = False,
        skip_tls_verify: bool = False,
        timeout: float = 30.0,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self._work_dir = work_dir
        self._platform = platform or default_platform()  # picks an image out of an index
        self._insecure = insecure
        self._skip_tls_verify = skip_tls_verify
        self._timeout = timeout
        self._on_progress = on_progress

    def open(self, reference: str) -> RegistryImage:
        ref = parse_registry_reference(reference)
        if not ref.tag and not ref.digest:
            ref = RegistryReference(ref.registry, ref.repository, "latest")
        client = RegistryClient(
            ref.registry,
            credentials=credentials_for(ref.registry),
            insecure=self._insecure,
            skip_tls_verify=self._skip_tls_verify,
            timeout=self._timeout,
        )
        try:
            info = self._inspect(client, ref)
        except BaseException:
            client.close()
            raise
        return RegistryImage(info, client, ref.repository, self._work_dir, self._on_progress)

    def _inspect(self, client: RegistryClient, ref: RegistryReference) -> ImageInfo:
        top, manifest = client.resolve(ref, self._platform)
        descriptor = manifest.doc.get("config")
        if not isinstance(descriptor, dict) or not isinstance(descriptor.get("digest"), str):
            raise ImageError(f"manifest of {ref} has no config descriptor")
        media_type = str(descriptor.get("mediaType", ""))
        if media_type not in CONFIG_TYPES:
            raise ImageError(f"{ref} is not a container image (config media type {media_type!r})")
        config_digest = descriptor["digest"]
        raw = client.get_blob(ref.repository, config_digest, MAX_CONFIG_BYTES, f"config of {ref}")
        config, diff_ids = parse_config(raw)
        layers = _layers(ref, manifest, config, diff_ids)
        return ImageInfo(
            reference=str(ref),
            source="registry",
            digest=manifest.digest,
            config_digest=config_digest,
            repo_tags=(f"{ref.registry}/{ref.repository}:{ref.tag}",) if ref.tag else (),
            repo_digests=(f"{ref.registry}/{ref.repository}@{top.digest}",),
            config=config,
            layers=layers,
            size=sum(layer.size for layer in layers),
        )


def _layers(
    ref: RegistryReference, manifest: Manifest, config: ImageConfig, diff_ids: tuple[str, ...]
) -> tuple[LayerInfo, ...]:
    descriptors = manifest.doc.get("layers")
    if not isinstance(descriptors, list) or not all(isinstance(d, dict) for d in descriptors):
        raise ImageError(f"manifest of {ref} has no layers list")
    if len(descriptors) != len(diff_ids):
        raise ImageError(
            f"manifest of {ref} lists {len(descriptors)} layers but its config "
            f"{len(diff_ids)} diff_ids"
        )
    created_by = layer_history(config, len(descriptors))
    layers = []
    for index, (descriptor, diff_id) in enumerate(zip(descriptors, diff_ids, strict=True)):
        digest, size = descriptor.get("digest"), descriptor.get("size")
        if not isinstance(digest, str) or not is_digest(digest):
            raise ImageError(f"manifest of {ref}: layer {index} has no valid digest")
        if not isinstance(size, int) or size < 0:
            raise ImageError(f"manifest of {ref}: layer {index} has no valid size")
        media_type = str(descriptor.get("mediaType", ""))
        layers.append(LayerInfo(index, digest, diff_id, media_type, size, created_by[index]))
    return tuple(layers)


class _Cancelled(Exception):
    """Raised inside a download thread once the image is closed."""


class RegistryImage:
    """An opened registry image; its layers download on demand into a private temp dir."""

    rootfs: Path | None = None

    def __init__(
        self,
        info: ImageInfo,
        client: RegistryClient,
        repository: str,
        work_dir: Path,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.info = info
        self.blobs = tuple(
            LayerBlob(layer.digest, layer.diff_id, layer.media_type, layer.size)
            for layer in info.layers
        )
        self._client = client
        self._repository = repository
        self._on_progress = on_progress
        work_dir.mkdir(parents=True, exist_ok=True)
        self._dir = Path(tempfile.mkdtemp(prefix="registry-", dir=work_dir))
        self._pool = ThreadPoolExecutor(DOWNLOAD_WORKERS, thread_name_prefix="mamori-pull")
        self._downloads: dict[str, Future[Path]] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def prefetch(self, blobs: Iterable[LayerBlob]) -> None:
        """Start downloading these blobs now, in parallel."""
        for blob in blobs:
            self._download(blob)

    @contextmanager
    def open_blob(self, blob: LayerBlob) -> Iterator[BinaryIO]:
        """The downloaded (already verified) blob; its temp file is removed afterwards."""
        path = self._download(blob).result()
        try:
            with path.open("rb") as stream:
                yield stream
        finally:
            with self._lock:
                self._downloads.pop(blob.digest, None)
            path.unlink(missing_ok=True)

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _download(self, blob: LayerBlob) -> Future[Path]:
        with self._lock:
            future = self._downloads.get(blob.digest)
            if future is None:
                future = self._pool.submit(self._fetch, blob)
                self._downloads[blob.digest] = future
        return future

    def _fetch(self, blob: LayerBlob) -> Path:
        dest = self._dir / blob.digest.replace(":", "-")
        self._client.download_blob(self._repository, blob.digest, blob.size, dest, self._progress)
        return dest

    def _progress(self, digest: str, done: int, total: int) -> None:
        if self._closed.is_set():
            raise _Cancelled(digest)
        if self._on_progress is not None:
            self._on_progress(digest, done, total)
