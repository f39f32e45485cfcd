"""Local image sources: `docker save` archives, OCI layouts (directory or tar).

Archive members are looked up by name and streamed; nothing is extracted to disk, so
member names cannot write anywhere. A compressed archive (`docker save | gzip`) is first
decompressed into the run's scratch directory, since layers need random access.
"""

from __future__ import annotations

import os
import shutil
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

import orjson

from mamori.errors import ImageError, UsageError
from mamori.image.config import layer_history, parse_config
from mamori.image.decompress import DecompressingReader
from mamori.image.digest import VerifyingReader, digest_bytes, is_digest, parse_digest
from mamori.image.interface import LayerBlob, OpenedImage
from mamori.image.platform import Platform, select_platform
from mamori.model import ImageInfo, LayerInfo

MAX_METADATA = 16 << 20  # manifests, indexes and configs are small; refuse giants

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
REF_NAME = "org.opencontainers.image.ref.name"


class _Slice:
    """A regular member of an uncompressed tar, read straight from the file with pread:
    several times faster than tarfile's member reader for layers of hundreds of MB."""

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self._fd = fd
        self._position = offset
        self._end = offset + size

    def read(self, size: int = -1) -> bytes:
        remaining = self._end - self._position
        if size < 0 or size > remaining:
            size = remaining
        data = os.pread(self._fd, size, self._position) if size else b""
        if len(data) < size:
            raise ImageError("image archive is truncated (a member ends early)")
        self._position += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """The descriptor belongs to the archive, closed with it."""

    def __enter__(self) -> _Slice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Files:
    """Named files of an archive or a directory, opened for streaming."""

    def __init__(self, root: Path, tar: tarfile.TarFile | None) -> None:
        self._root = root
        self._tar = tar
        self._fd = os.open(str(tar.name), os.O_RDONLY) if tar is not None and tar.name else -1
        self._members: dict[str, tarfile.TarInfo] = {}
        if tar is not None:
            try:
                members = tar.getmembers()
            except (tarfile.TarError, EOFError) as exc:
                raise ImageError(f"{root}: corrupt or truncated archive: {exc}") from None
            for member in members:
                if member.isreg() or member.islnk():
                    self._members[member.name.lstrip("./").lstrip("/")] = member

    def exists(self, name: str) -> bool:
        if self._tar is not None:
            return name in self._members
        return (self._root / name).is_file()

    def size(self, name: str) -> int:
        if self._tar is not None:
            return self._members[name].size
        return (self._root / name).stat().st_size

    def open(self, name: str) -> IO[bytes]:
        if self._tar is not None:
            member = self._members.get(name)
            if member is not None and member.isreg() and self._fd >= 0:
                return cast(IO[bytes], _Slice(self._fd, member.offset_data, member.size))
            handle = self._tar.extractfile(member) if member is not None else None
            if handle is None:
                raise ImageError(f"{self._root}: missing {name}")
            return handle
        try:
            return (self._root / name).open("rb")
        except OSError as exc:
            raise ImageError(f"{self._root}: cannot read {name}: {exc.strerror}") from None

    def read(self, name: str) -> bytes:
        if not self.exists(name):
            raise ImageError(f"{self._root}: missing {name}")
        if self.size(name) > MAX_METADATA:
            raise ImageError(f"{self._root}: {name} is too large for image metadata")
        with self.open(name) as handle:
            return handle.read()

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class ArchiveImage:
    def __init__(
        self, info: ImageInfo, blobs: tuple[LayerBlob, ...], files: _Files, names: dict[str, str]
    ) -> None:
        self.info = info
        self.blobs = blobs
        self.rootfs: Path | None = None
        self._files = files
        self._names = names  # blob digest → member name

    def prefetch(self, blobs: tuple[LayerBlob, ...]) -> None:
        """Local blobs need no fetching."""

    @contextmanager
    def open_blob(self, blob: LayerBlob) -> Iterator[BinaryIO]:
        name = self._names[blob.digest]
        with self._files.open(name) as handle:
            if blob.digest == blob.diff_id:
                # Legacy `docker save` names layers by v1 id: the uncompressed content is
                # verified against the diff_id instead.
                yield cast(BinaryIO, handle)
                return
            reader = VerifyingReader(
                cast(BinaryIO, handle), blob.digest, f"layer blob {blob.digest}"
            )
            yield cast(BinaryIO, reader)
            reader.finish()

    def close(self) -> None:
        self._files.close()


def _open_tar(path: Path, scratch: Path) -> tarfile.TarFile:
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise ImageError(f"cannot read {path}: {exc.strerror}") from None
    if head.startswith(b"\x1f\x8b") or head == b"\x28\xb5\x2f\xfd":
        plain = scratch / "archive.tar"
        with path.open("rb") as raw, plain.open("wb") as out:
            shutil.copyfileobj(cast(BinaryIO, DecompressingReader(raw, str(path))), out, 1 << 20)
        path = plain
    try:
        return tarfile.open(path, "r:")
    except (tarfile.TarError, OSError) as exc:
        raise ImageError(f"{path} is not a readable tar archive: {exc}") from None


def _json(files: _Files, name: str) -> Any:
    try:
        return orjson.loads(files.read(name))
    except orjson.JSONDecodeError as exc:
        raise ImageError(f"{name} is not valid JSON: {exc}") from None


def _blob_name(digest: str) -> str:
    try:
        algorithm, hexdigest = parse_digest(digest)
    except UsageError:
        raise ImageError(f"malformed digest {digest!r} in image metadata") from None
    return f"blobs/{algorithm}/{hexdigest}"


def open_docker_archive(path: Path, selector: str, reference: str, scratch: Path) -> OpenedImage:
    files = _Files(path, _open_tar(path, scratch))
    manifest = _json(files, "manifest.json")
    if not isinstance(manifest, list) or not manifest:
        raise ImageError(f"{path}: manifest.json lists no images")
    entry = _select_docker_entry(manifest, selector, path)
    config_name = str(entry.get("Config", ""))
    config_raw = files.read(config_name)
    config_digest = digest_bytes(config_raw)
    expected = _digest_from_name(config_name)
    if expected and expected != config_digest:
        raise ImageError(
            f"{path}: config digest mismatch: expected {expected}, got {config_digest}"
        )
    layer_names = [str(n) for n in entry.get("Layers") or []]
    named: list[tuple[str, str, str]] = []
    for name in layer_names:
        named.append((name, _digest_from_name(name), ""))  # manifest.json has no media types
    repo_tags = tuple(str(t) for t in entry.get("RepoTags") or [])
    return _build(
        files, "docker-archive", reference, config_raw, config_digest, "", named, repo_tags
    )


def _digest_from_name(name: str) -> str:
    """`blobs/sha256/<hex>` or `<hex>.json` names carry their digest; v1 ids do not."""
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and is_digest(f"{parts[1]}:{parts[2]}"):
        return f"{parts[1]}:{parts[2]}"
    stem = parts[-1].removesuffix(".json")
    if len(parts) == 1 and is_digest(f"sha256:{stem}"):
        return f"sha256:{stem}"
    return ""


def _select_docker_entry(manifest: list[Any], selector: str, path: Path) -> dict[str, Any]:
    entries = [e for e in manifest if isinstance(e, dict)]
    if not selector:
        if len(entries) == 1:
            return entries[0]
        tags = ", ".join(t for e in entries for t in (e.get("RepoTags") or []))
        raise UsageError(
            f"{path} holds {len(entries)} images; choose one: docker-archive:{path}:NAME:TAG "
            f"(tags: {tags or 'none'})"
        )
    if selector.isdigit() and int(selector) < len(entries):
        return entries[int(selector)]
    wanted = _tag_forms(selector)
    for entry in entries:
        for tag in entry.get("RepoTags") or []:
            if _tag_forms(str(tag)) & wanted:
                return entry
    raise UsageError(f"no image tagged {selector!r} in {path}")


def _tag_forms(tag: str) -> set[str]:
    """Equivalent spellings of a tag: with or without a registry host and `library/`."""
    name, _, digest = tag.partition("@")
    if ":" not in name.rsplit("/", 1)[-1] and not digest:
        name += ":latest"
    forms = {name}
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        forms.add(rest)
    forms |= {f.removeprefix("library/") for f in set(forms)}
    return forms


def open_oci_layout(
    path: Path, selector: str, reference: str, scratch: Path, platform: Platform, *, archive: bool
) -> OpenedImage:
    if archive:
        files = _Files(path, _open_tar(path, scratch))
        source = "oci-archive"
    else:
        if not (path / "oci-layout").is_file():
            raise ImageError(f"{path} is not an OCI layout (no oci-layout file)")
        files = _Files(path, None)
        source = "oci"
    index = _json(files, "index.json")
    descriptor = _select_oci_manifest(files, index, selector, platform, path)
    manifest_digest = str(descriptor.get("digest", ""))
    manifest_raw = files.read(_blob_name(manifest_digest))
    if digest_bytes(manifest_raw, parse_digest(manifest_digest)[0]) != manifest_digest:
        raise ImageError(f"{path}: manifest {manifest_digest} does not match its digest")
    manifest = _parse_object(manifest_raw, "manifest")
    config_desc = manifest.get("config") or {}
    config_digest = str(config_desc.get("digest", ""))
    config_raw = files.read(_blob_name(config_digest))
    if digest_bytes(config_raw, parse_digest(config_digest)[0]) != config_digest:
        raise ImageError(f"{path}: config {config_digest} does not match its digest")
    named = []
    for layer in manifest.get("layers") or []:
        digest = str(layer.get("digest", ""))
        named.append((_blob_name(digest), digest, str(layer.get("mediaType", ""))))
    ref_name = str((descriptor.get("annotations") or {}).get(REF_NAME, ""))
    return _build(
        files,
        source,
        reference,
        config_raw,
        config_digest,
        manifest_digest,
        named,
        (ref_name,) if ref_name else (),
    )


def _parse_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ImageError(f"image {what} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ImageError(f"image {what} is not a JSON object")
    return doc


def _select_oci_manifest(
    files: _Files, index: Any, selector: str, platform: Platform, path: Path
) -> dict[str, Any]:
    if not isinstance(index, dict):
        raise ImageError(f"{path}: index.json is not a JSON object")
    manifests = [m for m in index.get("manifests") or [] if isinstance(m, dict)]
    if selector:
        manifests = [
            m
            for m in manifests
            if selector
            in {
                (m.get("annotations") or {}).get(REF_NAME, ""),
                str(m.get("digest", "")),
            }
        ]
        if not manifests:
            raise UsageError(f"no image named {selector!r} in {path}")
    if not manifests:
        raise ImageError(f"{path}: index.json lists no manifests")
    names = {(m.get("annotations") or {}).get(REF_NAME, "") for m in manifests}
    if len(manifests) > 1 and len(names) > 1 and not selector:
        listed = ", ".join(sorted(n for n in names if n)) or "unnamed"
        raise UsageError(f"{path} holds several images; choose one with PATH:NAME ({listed})")
    descriptor = (
        select_platform(manifests, platform, str(path)) if len(manifests) > 1 else manifests[0]
    )
    if descriptor.get("mediaType") in (OCI_INDEX, DOCKER_LIST):
        nested = _parse_object(files.read(_blob_name(str(descriptor.get("digest", "")))), "index")
        return _select_oci_manifest(files, nested, "", platform, path)
    return descriptor


def _build(
    files: _Files,
    source: str,
    reference: str,
    config_raw: bytes,
    config_digest: str,
    manifest_digest: str,
    named: list[tuple[str, str, str]],  # (blob name in the archive, digest, media type)
    repo_tags: tuple[str, ...],
) -> ArchiveImage:
    config, diff_ids = parse_config(config_raw)
    if len(diff_ids) != len(named):
        raise ImageError(
            f"image lists {len(named)} layers but its config has {len(diff_ids)} diff_ids"
        )
    for diff_id in diff_ids:
        if not is_digest(diff_id):
            raise ImageError(f"image config has a malformed diff_id {diff_id!r}")
    history = layer_history(config, len(named))
    blobs: list[LayerBlob] = []
    layers: list[LayerInfo] = []
    names: dict[str, str] = {}
    for index, ((name, digest, media_type), diff_id) in enumerate(
        zip(named, diff_ids, strict=True)
    ):
        if not files.exists(name):
            raise ImageError(f"image archive is missing layer {name}")
        size = files.size(name)
        blob = LayerBlob(digest or diff_id, diff_id, media_type, size)
        blobs.append(blob)
        names[blob.digest] = name
        layers.append(LayerInfo(index, blob.digest, diff_id, media_type, size, history[index]))
    info = ImageInfo(
        reference=reference,
        source=source,
        digest=manifest_digest or config_digest,
        config_digest=config_digest,
        repo_tags=repo_tags,
        repo_digests=(),
        config=config,
        layers=tuple(layers),
        size=sum(layer.size for layer in layers),
    )
    return ArchiveImage(info, tuple(blobs), files, names)
