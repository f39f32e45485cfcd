"""Stream one layer (a tar) or one unpacked directory into a `LayerIndex`.

Nothing from the layer is ever written to disk by its own path: the file table is kept in
memory and the few contents the probe captures are stored under numbered names in the
layer's content directory, so a hostile tar cannot write anywhere.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path
from typing import BinaryIO, cast

from mamori.errors import ImageError
from mamori.image.interface import LayerProbe
from mamori.image.layer_index import ContentPack, FileMeta, LayerIndex
from mamori.image.tar_stream import MemberReader, TarStream
from mamori.model import FileKind

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
MAX_CAPTURE = 256 << 20  # a "package database" larger than this is skipped, not loaded


def normalise_member_path(name: str, what: str) -> str:
    """The absolute path a tar member names, refusing names that escape the root."""
    if name.startswith("./"):
        name = name[2:]
    if "/." not in name and "//" not in name and "\\" not in name and not name.startswith("."):
        return "/" + name.strip("/")  # the common case: already clean
    cleaned = posixpath.normpath("/" + name.replace("\\", "/")) if name else "/"
    raw_parts = [p for p in name.split("/") if p not in ("", ".")]
    depth = 0
    for part in raw_parts:
        depth = depth - 1 if part == ".." else depth + 1
        if depth < 0:
            raise ImageError(f"{what}: entry {name!r} escapes the image root (path traversal)")
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


class _Builder:
    """Accumulates one layer's index while its entries stream past."""

    def __init__(self, diff_id: str, probe: LayerProbe, content_dir: Path, what: str) -> None:
        self.index = LayerIndex(diff_id=diff_id, content_dir=content_dir)
        self.probe = probe
        self.what = what
        self._pack = ContentPack(content_dir)

    def add_whiteout(self, path: str) -> bool:
        """Record `path` if it is a whiteout marker; return whether it was one."""
        directory, base = posixpath.split(path)
        if not base.startswith(WHITEOUT_PREFIX):
            return False
        if base == OPAQUE_MARKER:
            self.index.opaque_dirs.append(directory)
        else:
            self.index.whiteouts.append(posixpath.join(directory, base[len(WHITEOUT_PREFIX) :]))
        return True

    def add_file(self, path: str, mode: int, size: int, stream: BinaryIO | None) -> None:
        content = ""
        if stream is not None and self.probe.capture(path, size):
            if size > MAX_CAPTURE:
                self.index.warnings.append(
                    f"{path} ({size} bytes) is larger than the {MAX_CAPTURE}-byte limit for a "
                    "package database: not read"
                )
            else:
                content = self._pack.add(stream.read())
        elif stream is not None and self.probe.should_examine(path, mode, size):
            result = self.probe.examine(path, stream)
            if result is not None:
                self.index.findings[path] = result
        self.index.files[path] = FileMeta(FileKind.FILE, mode, size, "", content)

    def add_link(self, path: str, target: str) -> None:
        """A hardlink shares its target's captured content and findings."""
        original = self.index.files.get(target)
        content = original.content if original is not None else ""
        size = original.size if original is not None else 0
        mode = original.mode if original is not None else 0
        if target in self.index.findings:
            self.index.findings[path] = self.index.findings[target]
        self.index.files[path] = FileMeta(FileKind.HARDLINK, mode, size, target, content)

    def add_other(self, path: str, kind: FileKind, mode: int, link: str = "") -> None:
        self.index.files[path] = FileMeta(kind, mode, 0, link)

    def close(self) -> None:
        self._pack.close()


def analyze_tar(
    stream: BinaryIO, diff_id: str, probe: LayerProbe, content_dir: Path, what: str
) -> LayerIndex:
    """Index an uncompressed tar stream, reading it exactly once from start to end."""
    builder = _Builder(diff_id, probe, content_dir, what)
    tar = TarStream(stream, what)
    reader = cast(BinaryIO, MemberReader(tar))
    try:
        for member in tar:
            path = normalise_member_path(member.name, what)
            if ".wh." in path and builder.add_whiteout(path):
                continue
            mode = member.mode & 0o7777
            if member.is_file:
                builder.add_file(path, mode, member.size, reader)
            elif member.is_dir:
                builder.add_other(path, FileKind.DIR, mode)
            elif member.is_symlink:
                builder.add_other(path, FileKind.SYMLINK, mode, member.linkname)
            elif member.is_hardlink:
                builder.add_link(path, normalise_member_path(member.linkname, what))
            else:
                builder.add_other(path, FileKind.OTHER, mode)
    finally:
        builder.close()
    return builder.index


def analyze_directory(root: Path, probe: LayerProbe, content_dir: Path) -> LayerIndex:
    """Index an unpacked root filesystem without following any symlink."""
    what = f"directory {root}"
    builder = _Builder("", probe, content_dir, what)
    if not root.is_dir():
        raise ImageError(f"{root} is not a directory")
    try:
        _walk(builder, root, what)
    finally:
        builder.close()
    return builder.index


def _walk(builder: _Builder, root: Path, what: str) -> None:
    for current, dirs, files in os.walk(root, followlinks=False):
        base = "/" + os.path.relpath(current, root).replace(os.sep, "/")
        base = "/" if base == "/." else base
        for name in [*dirs, *files]:
            full = os.path.join(current, name)
            path = posixpath.join(base, name)
            try:
                info = os.lstat(full)
                _add_dir_entry(builder, path, full, info)
            except OSError as exc:
                raise ImageError(f"{what}: cannot read {path}: {exc.strerror}") from None


def _add_dir_entry(builder: _Builder, path: str, full: str, info: os.stat_result) -> None:
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        builder.add_other(path, FileKind.SYMLINK, mode, os.readlink(full))
    elif stat.S_ISDIR(info.st_mode):
        builder.add_other(path, FileKind.DIR, mode)
    elif stat.S_ISREG(info.st_mode):
        if builder.probe.capture(path, info.st_size) or builder.probe.should_examine(
            path, mode, info.st_size
        ):
            with open(full, "rb") as handle:
                builder.add_file(path, mode, info.st_size, handle)
        else:
            builder.add_file(path, mode, info.st_size, None)
    else:
        builder.add_other(path, FileKind.OTHER, mode)
