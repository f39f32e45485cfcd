"""Write images (OCI archives and `docker save` archives) from layer entries.

Used by the demo to build its image offline and by the tests to make images of every shape,
including malformed ones, without a container engine.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EPOCH = 1_700_000_000  # fixed timestamps: the same recipe gives the same digests


@dataclass(frozen=True)
class Entry:
    """One tar member: a file (data), a directory, a symlink or a hardlink."""

    name: str
    data: bytes | None = None
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644


def file(name: str, data: bytes | str, mode: int = 0o644) -> Entry:
    return Entry(name, data.encode() if isinstance(data, str) else data, mode=mode)


def directory(name: str) -> Entry:
    return Entry(name, type=tarfile.DIRTYPE, mode=0o755)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, type=tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, type=tarfile.LNKTYPE, linkname=target)


def layer_tar(entries: Sequence[Entry]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.mtime = EPOCH
            info.type = entry.type
            info.mode = entry.mode
            info.linkname = entry.linkname
            if entry.data is not None and entry.type == tarfile.REGTYPE:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return out.getvalue()


@dataclass
class ImageSpec:
    layers: list[bytes]  # uncompressed layer tars, base first
    config: dict[str, Any] = field(default_factory=dict)  # the "config" part (Env, Cmd, …)
    history: list[str] = field(default_factory=list)  # created_by per layer
    architecture: str = "amd64"
    compress: str = "gzip"  # gzip or none

    def config_document(self) -> bytes:
        doc = {
            "architecture": self.architecture,
            "os": "linux",
            "created": "2024-01-01T00:00:00Z",
            "config": self.config,
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest() for raw in self.layers],
            },
            "history": [
                {"created": "2024-01-01T00:00:00Z", "created_by": step}
                for step in (self.history or ["layer"] * len(self.layers))
            ],
        }
        return json.dumps(doc, sort_keys=True).encode()

    def blobs(self) -> list[bytes]:
        if self.compress == "gzip":
            return [gzip.compress(raw, mtime=0) for raw in self.layers]
        return list(self.layers)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_tar(output: Path, members: dict[str, bytes]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.mtime = EPOCH
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def oci_layout_files(spec: ImageSpec, ref_name: str = "") -> dict[str, bytes]:
    """The files of an OCI image layout holding `spec`, by path inside the layout."""
    media = "tar+gzip" if spec.compress == "gzip" else "tar"
    files: dict[str, bytes] = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}'}

    def blob(data: bytes, media_type: str) -> dict[str, Any]:
        files[f"blobs/sha256/{_sha(data)[7:]}"] = data
        return {"mediaType": media_type, "digest": _sha(data), "size": len(data)}

    config = blob(spec.config_document(), "application/vnd.oci.image.config.v1+json")
    layers = [blob(b, f"application/vnd.oci.image.layer.v1.{media}") for b in spec.blobs()]
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config,
        "layers": layers,
    }
    descriptor = blob(
        json.dumps(manifest, sort_keys=True).encode(), "application/vnd.oci.image.manifest.v1+json"
    )
    if ref_name:
        descriptor["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
    files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()
    return files


def write_oci_archive(spec: ImageSpec, output: Path, ref_name: str = "") -> None:
    _write_tar(output, oci_layout_files(spec, ref_name))


def write_docker_archive(images: dict[str, ImageSpec], output: Path) -> None:
    """A `docker save`-style archive; `images` maps a repo tag to its spec."""
    members: dict[str, bytes] = {}
    manifest = []
    for tag, spec in images.items():
        config = spec.config_document()
        config_name = f"{_sha(config)[7:]}.json"
        members[config_name] = config
        layer_names = []
        for blob in spec.blobs():
            name = f"blobs/sha256/{_sha(blob)[7:]}"
            members[name] = blob
            layer_names.append(name)
        manifest.append({"Config": config_name, "RepoTags": [tag], "Layers": layer_names})
    members["manifest.json"] = json.dumps(manifest).encode()
    _write_tar(output, members)
