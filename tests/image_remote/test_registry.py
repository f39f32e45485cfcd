"""Pulling from a real Distribution registry: tags, digests, indexes, media types, tampering."""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path
from typing import Any

import pytest

from mamori.errors import ImageError, RegistryError
from mamori.image.platform import default_platform, parse_platform
from mamori.image.registry import RegistryImage, RegistrySource
from tests.image_remote.conftest import BuiltImage, Layout, Pushed, Registry, tar_files

pytestmark = [pytest.mark.registry, pytest.mark.xdist_group("registry")]

DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def pull(reference: str, work: Path, **options: Any) -> RegistryImage:
    return RegistrySource(work, **options).open(reference)


def layer_files(image: RegistryImage) -> list[dict[str, bytes]]:
    """Every layer streamed through `open_blob`, checked against its digests, unpacked."""
    image.prefetch(image.blobs)
    contents = []
    for blob in image.blobs:
        with image.open_blob(blob) as stream:
            data = stream.read()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest
        plain = gzip.decompress(data)
        assert "sha256:" + hashlib.sha256(plain).hexdigest() == blob.diff_id
        contents.append(tar_files(plain))
    return contents


def check_image(image: RegistryImage, built: BuiltImage) -> None:
    info = image.info
    assert [layer.diff_id for layer in info.layers] == list(built.diff_ids)
    assert [layer.created_by for layer in info.layers] == list(built.created_by)
    assert [layer.size for layer in info.layers] == [d["size"] for d in built.layers]
    assert [layer.index for layer in info.layers] == list(range(len(built.layers)))
    assert info.size == sum(d["size"] for d in built.layers)
    assert layer_files(image) == list(built.files)


def test_pull_by_tag_oci_manifest(registry: Registry, pushed: Pushed, tmp_path: Path) -> None:
    image = pull(f"{registry.host}/demo/app:oci", tmp_path / "work")
    try:
        info = image.info
        assert info.source == "registry"
        assert info.reference == f"{registry.host}/demo/app:oci"
        assert info.digest == pushed.oci_digest == pushed.app.manifest["digest"]
        assert info.config_digest == pushed.app.config_digest
        assert info.repo_tags == (f"{registry.host}/demo/app:oci",)
        assert info.repo_digests == (f"{registry.host}/demo/app@{pushed.oci_digest}",)
        assert {layer.media_type for layer in info.layers} == {OCI_LAYER}
        assert [layer.digest for layer in info.layers] == [d["digest"] for d in pushed.app.layers]
        assert (info.config.user, info.config.env_names) == ("1000", ("PATH", "SECRET"))
        check_image(image, pushed.app)
    finally:
        image.close()
    assert list((tmp_path / "work").iterdir()) == []  # downloads are cleaned up


def test_pull_docker_schema2_manifest(registry: Registry, pushed: Pushed, tmp_path: Path) -> None:
    image = pull(f"{registry.host}/demo/app:docker", tmp_path)
    try:
        assert image.info.digest == pushed.docker_digest != pushed.oci_digest
        assert {layer.media_type for layer in image.info.layers} == {DOCKER_LAYER}
        check_image(image, pushed.app)
    finally:
        image.close()


def test_pull_by_digest(registry: Registry, pushed: Pushed, tmp_path: Path) -> None:
    image = pull(f"{registry.host}/demo/app@{pushed.docker_digest}", tmp_path)
    try:
        assert image.info.digest == pushed.docker_digest
        assert image.info.repo_tags == ()
        assert image.info.reference == f"{registry.host}/demo/app@{pushed.docker_digest}"
        check_image(image, pushed.app)
    finally:
        image.close()


@pytest.mark.parametrize(
    ("platform", "arch"),
    [("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/arm64/v8", "arm64"), (None, "")],
)
def test_index_resolved_by_platform(
    registry: Registry, pushed: Pushed, tmp_path: Path, platform: str | None, arch: str
) -> None:
    wanted = parse_platform(platform) if platform else None
    arch = arch or default_platform().architecture
    built = pushed.amd64 if arch == "amd64" else pushed.arm64
    image = pull(f"{registry.host}/demo/multi:1", tmp_path, platform=wanted)
    try:
        assert image.info.config.architecture == arch
        assert image.info.digest == built.manifest["digest"]
        assert image.info.repo_digests == (f"{registry.host}/demo/multi@{pushed.index_digest}",)
        check_image(image, built)
    finally:
        image.close()


def test_index_without_the_platform_lists_what_it_has(
    registry: Registry, pushed: Pushed, tmp_path: Path
) -> None:
    with pytest.raises(ImageError) as caught:
        pull(f"{registry.host}/demo/multi:1", tmp_path, platform=parse_platform("linux/s390x"))
    assert caught.value.message == (
        f"image index {registry.host}/demo/multi:1 has no image for platform linux/s390x; "
        "available: linux/amd64, linux/arm64/v8 (choose one with --platform)"
    )


def test_unknown_tag_is_a_404_error(registry: Registry, pushed: Pushed, tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        pull(f"{registry.host}/demo/app:nope", tmp_path)
    assert caught.value.message == (
        f"manifest {registry.host}/demo/app:nope not found "
        "(404 Not Found: MANIFEST_UNKNOWN manifest unknown)"
    )


def test_tampered_layer_blob_is_a_digest_mismatch(
    registry: Registry, layout: Layout, tmp_path: Path
) -> None:
    built = layout.image([{"tamper/me": b"original content of a layer only this test uses"}])
    registry.push(layout.tag("tamper", built.manifest), "demo/tamper:1")
    stored = registry.blob_path(built.layers[0]["digest"])
    data = bytearray(stored.read_bytes())
    data[-8] ^= 0xFF  # the gzip trailer's CRC: same size, different bytes
    stored.write_bytes(bytes(data))

    image = pull(f"{registry.host}/demo/tamper:1", tmp_path)
    try:
        with pytest.raises(ImageError) as caught, image.open_blob(image.blobs[0]):
            pass
    finally:
        image.close()
    assert caught.value.message.startswith(
        f"layer {built.layers[0]['digest']} of {registry.host}/demo/tamper digest mismatch: "
        f"expected {built.layers[0]['digest']}, got sha256:"
    )


def test_progress_reported_from_download_threads(
    registry: Registry, pushed: Pushed, tmp_path: Path
) -> None:
    seen: dict[str, tuple[int, int]] = {}
    threads: set[str] = set()
    lock = threading.Lock()

    def progress(digest: str, done: int, total: int) -> None:
        with lock:
            assert done > seen.get(digest, (0, 0))[0]
            seen[digest] = (done, total)
            threads.add(threading.current_thread().name)

    image = pull(f"{registry.host}/demo/app:oci", tmp_path, on_progress=progress)
    try:
        layer_files(image)
    finally:
        image.close()
    assert seen == {d["digest"]: (d["size"], d["size"]) for d in pushed.app.layers}
    assert all(name.startswith("mamori-pull") for name in threads)


def test_tls_registry_with_untrusted_certificate(tls_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(RegistryError) as caught:
        pull(f"{tls_registry.host}/demo/app:1", tmp_path)
    message = caught.value.message
    assert message.startswith("HTTPS failed: [SSL: CERTIFICATE_VERIFY_FAILED]")
    assert message.endswith(
        f"; then {tls_registry.host} does not speak the registry API v2 "
        "(GET /v2/ answered 400 Bad Request)"
    )


def test_tls_registry_trusted_through_ssl_cert_file(
    tls_registry: Registry, app_image: BuiltImage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_registry.storage.parent / "cert.pem"))
    image = pull(f"{tls_registry.host}/demo/app:1", tmp_path)
    try:
        check_image(image, app_image)
    finally:
        image.close()


def test_tls_registry_with_verification_skipped(
    tls_registry: Registry, app_image: BuiltImage, tmp_path: Path
) -> None:
    image = pull(f"{tls_registry.host}/demo/app:1", tmp_path, skip_tls_verify=True)
    try:
        check_image(image, app_image)
    finally:
        image.close()
