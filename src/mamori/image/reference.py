"""Image references: which source a string names, and registry reference parsing.

Accepted forms (a prefix picks the source; without one it is auto-detected):

    registry:HOST/REPO[:TAG][@DIGEST]   pull://…      a registry (also the default)
    docker-archive:PATH[:REF]            `docker save` output, REF selects one image
    oci-archive:PATH[:REF]               a tar of an OCI layout
    oci:DIR[:REF]                        an OCI layout directory
    dir:PATH                             an unpacked root filesystem
    docker://NAME  podman://NAME         an image in a Docker Engine API (unix socket)
    file://PATH                          a local path, kind auto-detected
"""

from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mamori.errors import UsageError
from mamori.image.digest import parse_digest

ARCHIVE_SCHEMES = ("docker-archive", "oci-archive", "oci")
SCHEMES = ("registry", *ARCHIVE_SCHEMES, "dir", "docker", "podman")
_URL_PREFIXES = {"docker://": "docker", "podman://": "podman", "pull://": "registry"}
DEFAULT_REGISTRY_ENV = "MAMORI_DEFAULT_REGISTRY"


@dataclass(frozen=True)
class SourceRef:
    scheme: str
    location: str  # a path, a registry reference or an engine image name
    selector: str = ""  # which image inside an archive or layout, when several
    original: str = ""


def parse_source(text: str) -> SourceRef:
    text = text.strip()
    if not text:
        raise UsageError("empty image reference")
    for prefix, scheme in _URL_PREFIXES.items():
        if text.startswith(prefix):
            return _checked(SourceRef(scheme, text[len(prefix) :], "", text))
    if text.startswith("file://"):
        found = _detect_local(text[len("file://") :], text, required=True)
        assert found is not None  # required=True raises instead
        return found
    scheme, sep, rest = text.partition(":")
    if sep and scheme in SCHEMES:
        if scheme in ARCHIVE_SCHEMES:
            path, selector = _split_selector(rest)
            return SourceRef(scheme, path, selector, text)
        return _checked(SourceRef(scheme, rest, "", text))
    local = _detect_local(text, text, required=False)
    if local is not None:
        return local
    return _checked(SourceRef("registry", text, "", text))


def _checked(ref: SourceRef) -> SourceRef:
    if not ref.location:
        raise UsageError(f"image reference {ref.original!r} names no image")
    if ref.scheme == "registry":
        parse_registry_reference(ref.location)
    return ref


def _split_selector(rest: str) -> tuple[str, str]:
    """`PATH[:REF]`: the longest prefix that exists on disk is the path."""
    if os.path.exists(rest) or ":" not in rest:
        return rest, ""
    cut = rest.find(":")
    while cut != -1:
        if os.path.exists(rest[:cut]):
            return rest[:cut], rest[cut + 1 :]
        cut = rest.find(":", cut + 1)
    return rest, ""


def _detect_local(path: str, original: str, *, required: bool) -> SourceRef | None:
    target = Path(path)
    if target.is_dir():
        scheme = "oci" if (target / "oci-layout").is_file() else "dir"
        return SourceRef(scheme, path, "", original)
    if target.is_file():
        return SourceRef(_archive_kind(target), path, "", original)
    if required:
        raise UsageError(f"no such file or directory: {path}")
    return None


def _archive_kind(path: Path) -> str:
    try:
        with tarfile.open(path, "r:*") as tar:
            names = set()
            for member in tar:
                names.add(member.name.lstrip("./"))
                if "manifest.json" in names:
                    return "docker-archive"
                if len(names) > 10000:
                    break
    except (tarfile.TarError, OSError) as exc:
        raise UsageError(f"{path} is not an image archive (tar): {exc}") from None
    if "oci-layout" in names or "index.json" in names:
        return "oci-archive"
    raise UsageError(f"{path} is neither a docker-archive nor an OCI archive")


# -- registry references --------------------------------------------------------------------

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


@dataclass(frozen=True)
class RegistryReference:
    registry: str  # host[:port]
    repository: str
    tag: str = ""
    digest: str = ""

    @property
    def reference(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_host(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def parse_registry_reference(text: str, default_registry: str | None = None) -> RegistryReference:
    """Parse `[HOST[:PORT]/]REPO[:TAG][@DIGEST]`.

    A reference without a host uses `default_registry`, or `$MAMORI_DEFAULT_REGISTRY`; mamori
    has no built-in default registry, so a bare name without either is a usage error.
    """
    name, _, digest = text.partition("@")
    if digest:
        parse_digest(digest)
    tag = ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise UsageError(f"invalid tag {tag!r} in image reference {text!r}")
    first, _, remainder = name.partition("/")
    if remainder and _looks_like_host(first):
        registry, repository = first, remainder
    else:
        registry = default_registry or os.environ.get(DEFAULT_REGISTRY_ENV, "")
        repository = name
        if not registry:
            raise UsageError(
                f"image reference {text!r} names no registry host; write HOST/REPO:TAG, "
                f"set {DEFAULT_REGISTRY_ENV}, or use a docker-archive:/oci:/dir: prefix"
            )
    if not _REPOSITORY.match(repository):
        raise UsageError(f"invalid repository name {repository!r} in image reference {text!r}")
    return RegistryReference(registry, repository, tag, digest)


def is_loopback_host(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry
    host = host.strip("[]").split("]")[0]
    return host in ("localhost", "::1") or host.startswith("127.")
