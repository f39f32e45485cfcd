"""Value types passed between the stages (image → catalog → report).

Everything here is a frozen dataclass with no behaviour beyond small helpers, so every
stage depends on this module and never on another stage's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FileKind(StrEnum):
    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    OTHER = "other"


@dataclass(frozen=True)
class LayerInfo:
    """One layer of an image, in order from the base (index 0) up."""

    index: int
    digest: str  # digest of the blob as stored (compressed), or the diff_id when unknown
    diff_id: str  # digest of the uncompressed tar
    media_type: str
    size: int  # blob size in bytes (compressed)
    created_by: str = ""  # the history entry that produced it, when known


@dataclass(frozen=True)
class HistoryEntry:
    created: str
    created_by: str
    empty_layer: bool
    comment: str = ""


@dataclass(frozen=True)
class ImageConfig:
    """The parts of the image config a security reviewer needs. Env values are never kept."""

    architecture: str
    os: str
    variant: str = ""
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""
    env_names: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    created: str = ""
    history: tuple[HistoryEntry, ...] = ()
    healthcheck: tuple[str, ...] = ()
    stop_signal: str = ""


@dataclass(frozen=True)
class ImageInfo:
    reference: str  # as the user gave it, normalised
    source: str  # registry, docker-archive, oci-archive, oci, dir, engine
    digest: str  # manifest digest where there is one, else the config digest
    config_digest: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]
    config: ImageConfig
    layers: tuple[LayerInfo, ...]
    size: int  # sum of blob sizes


@dataclass(frozen=True)
class OSRelease:
    id: str  # debian, ubuntu, alpine, rhel, rocky, almalinux, amzn, …
    version_id: str
    pretty_name: str = ""
    version_codename: str = ""
    id_like: tuple[str, ...] = ()
    distroless: bool = False

    @property
    def distro_purl_qualifier(self) -> str:
        """The `distro=` qualifier value used in purls, e.g. `debian-12`."""
        return f"{self.id}-{self.version_id}" if self.version_id else self.id


@dataclass(frozen=True)
class Location:
    path: str  # absolute path in the image, e.g. /var/lib/dpkg/status
    layer_index: int  # index into ImageInfo.layers; -1 when the image has no layers (dir:)
    layer_diff_id: str = ""


class PackageType(StrEnum):
    DEB = "deb"
    APK = "apk"
    RPM = "rpm"
    NPM = "npm"
    PYPI = "pypi"
    GOLANG = "golang"
    BINARY = "binary"  # runtimes found as binaries outside any package manager


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    type: PackageType
    purl: str
    cataloger: str  # which cataloger found it (dpkg, status.d, apk, rpm, npm, python, go-binary …)
    locations: tuple[Location, ...]
    source_name: str = ""  # OS packages: the source package; Go modules: the main module
    source_version: str = ""
    arch: str = ""
    licenses: tuple[str, ...] = ()
    ecosystem: str = ""  # OSV ecosystem name where one applies (Debian:12, npm, PyPI, Go …)
    metadata: tuple[tuple[str, str], ...] = field(default=())

    @property
    def layer_index(self) -> int:
        return self.locations[0].layer_index if self.locations else -1

    def sort_key(self) -> tuple[str, str, str, str]:
        first = self.locations[0].path if self.locations else ""
        return (self.type.value, self.name.lower(), self.version, first)


@dataclass(frozen=True)
class Inventory:
    """What is in an image: the result of the inventory stage."""

    image: ImageInfo
    os: OSRelease | None
    packages: tuple[Package, ...]
    warnings: tuple[str, ...] = ()
    scanner_version: str = ""
    created_at: str = ""  # when the inventory was taken (UTC, RFC 3339)
