"""docker-archive, oci-archive and OCI layout sources: selection, integrity, damage."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from mamori.demo.oci_writer import (
    ImageSpec,
    file,
    layer_tar,
    oci_layout_files,
    write_docker_archive,
    write_oci_archive,
)
from mamori.errors import ImageError, UsageError
from mamori.image.layer_cache import LayerCache
from mamori.image.layers import load_layers
from mamori.image.open import OpenOptions, open_image
from mamori.image.platform import Platform
from mamori.image.squash import SquashedView
from tests.image.probes import TextProbe


def _spec(text: str) -> ImageSpec:
    return ImageSpec(
        layers=[layer_tar([file("etc/which.txt", text)])],
        config={"Env": ["SECRET_TOKEN=hunter2"], "User": "1000", "ExposedPorts": {"22/tcp": {}}},
    )


def _read(ref: str, tmp_path: Path, **kw: object) -> tuple[bytes | None, object]:
    cache = LayerCache(tmp_path / "cache", "t")
    try:
        image = open_image(ref, OpenOptions(scratch=cache.scratch(), **kw))  # type: ignore[arg-type]
        view = SquashedView(load_layers(image, TextProbe(), cache))
        return view.read("/etc/which.txt"), image.info
    finally:
        cache.close()


def test_docker_archive_with_several_images(tmp_path: Path) -> None:
    archive = tmp_path / "two.tar"
    write_docker_archive({"app:1": _spec("one"), "localhost/app:2": _spec("two")}, archive)
    assert _read(f"docker-archive:{archive}:app:1", tmp_path)[0] == b"one"
    assert _read(f"docker-archive:{archive}:app:2", tmp_path)[0] == b"two"
    with pytest.raises(UsageError, match="holds 2 images"):
        _read(f"docker-archive:{archive}", tmp_path)
    with pytest.raises(UsageError, match="no image tagged"):
        _read(f"docker-archive:{archive}:app:3", tmp_path)


def test_config_keeps_env_names_never_values(tmp_path: Path) -> None:
    archive = tmp_path / "one.tar"
    write_docker_archive({"app:1": _spec("one")}, archive)
    _, info = _read(str(archive), tmp_path)  # auto-detected as a docker-archive
    config = info.config  # type: ignore[attr-defined]
    assert config.env_names == ("SECRET_TOKEN",)
    assert "hunter2" not in repr(info)
    assert config.user == "1000" and config.exposed_ports == ("22/tcp",)


def test_gzipped_docker_archive(tmp_path: Path) -> None:
    archive = tmp_path / "one.tar"
    write_docker_archive({"app:1": _spec("zipped")}, archive)
    zipped = tmp_path / "one.tar.gz"
    zipped.write_bytes(gzip.compress(archive.read_bytes()))
    assert _read(f"docker-archive:{zipped}", tmp_path)[0] == b"zipped"


def test_oci_archive_and_layout_dir(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    write_oci_archive(_spec("oci"), archive, "app:1")
    content, info = _read(f"oci-archive:{archive}", tmp_path)
    assert content == b"oci" and info.source == "oci-archive"  # type: ignore[attr-defined]
    layout = tmp_path / "layout"
    for name, data in oci_layout_files(_spec("dir"), "app:1").items():
        (layout / name).parent.mkdir(parents=True, exist_ok=True)
        (layout / name).write_bytes(data)
    assert _read(f"oci:{layout}:app:1", tmp_path)[0] == b"dir"
    assert _read(str(layout), tmp_path)[0] == b"dir"


def test_oci_index_by_platform(tmp_path: Path) -> None:
    layout = tmp_path / "multi"
    descriptors = []
    for arch in ("amd64", "arm64"):
        files = oci_layout_files(ImageSpec(layers=[layer_tar([file("etc/which.txt", arch)])]))
        index = json.loads(files.pop("index.json"))
        descriptor = index["manifests"][0]
        descriptor["platform"] = {"os": "linux", "architecture": arch}
        descriptors.append(descriptor)
        for name, data in files.items():
            (layout / name).parent.mkdir(parents=True, exist_ok=True)
            (layout / name).write_bytes(data)
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": descriptors}))
    arm = Platform("linux", "arm64")
    assert _read(f"oci:{layout}", tmp_path, platform=arm)[0] == b"arm64"
    assert _read(f"oci:{layout}", tmp_path, platform=Platform("linux", "amd64"))[0] == b"amd64"
    with pytest.raises(ImageError, match=r"no image for platform linux/s390x.*linux/amd64"):
        _read(f"oci:{layout}", tmp_path, platform=Platform("linux", "s390x"))


def _tamper_layer(layout: Path) -> None:
    index = json.loads((layout / "index.json").read_text())
    manifest_name = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_name).read_text())
    layer = layout / "blobs/sha256" / manifest["layers"][0]["digest"].split(":")[1]
    raw = bytearray(gzip.decompress(layer.read_bytes()))
    raw[600] ^= 0x01  # flip one bit of file content
    layer.write_bytes(gzip.compress(bytes(raw)))


def test_tampered_blob_is_detected(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    for name, data in oci_layout_files(_spec("x" * 2000)).items():
        (layout / name).parent.mkdir(parents=True, exist_ok=True)
        (layout / name).write_bytes(data)
    _tamper_layer(layout)
    with pytest.raises(ImageError, match="digest mismatch"):
        _read(f"oci:{layout}", tmp_path)


def test_tampered_config_is_detected(tmp_path: Path) -> None:
    archive = tmp_path / "one.tar"
    write_docker_archive({"app:1": _spec("one")}, archive)
    out = tmp_path / "bad.tar"
    with tarfile.open(archive) as src, tarfile.open(out, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name.endswith(".json") and member.name != "manifest.json":
                data = data.replace(b"1000", b"0000")
            member.size = len(data)
            dst.addfile(member, __import__("io").BytesIO(data))
    with pytest.raises(ImageError, match="config digest mismatch"):
        _read(f"docker-archive:{out}", tmp_path)


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not a tar at all" * 100, UsageError),
        (b"", UsageError),
    ],
)
def test_not_an_archive(tmp_path: Path, content: bytes, error: type[Exception]) -> None:
    bogus = tmp_path / "bogus.tar"
    bogus.write_bytes(content)
    with pytest.raises(error):
        _read(str(bogus), tmp_path)


def test_truncated_archive(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    write_oci_archive(
        ImageSpec(layers=[layer_tar([file("etc/a.txt", os.urandom(100_000))])]), archive
    )
    data = archive.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises((ImageError, UsageError)):
        _read(f"oci-archive:{cut}", tmp_path)


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        _read(f"docker-archive:{tmp_path / 'nope.tar'}", tmp_path)


def test_manifest_digest_recorded(tmp_path: Path) -> None:
    archive = tmp_path / "img.tar"
    files = oci_layout_files(_spec("d"))
    write_oci_archive(_spec("d"), archive)
    descriptor = json.loads(files["index.json"])["manifests"][0]
    _, info = _read(f"oci-archive:{archive}", tmp_path)
    assert info.digest == descriptor["digest"]  # type: ignore[attr-defined]
    manifest = files["blobs/sha256/" + descriptor["digest"].split(":")[1]]
    assert descriptor["digest"] == "sha256:" + hashlib.sha256(manifest).hexdigest()
    shutil.rmtree(tmp_path / "cache")
