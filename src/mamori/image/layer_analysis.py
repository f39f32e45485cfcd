"""Stream one layer (a tar) or one unpacked directory into a `LayerIndex`.

Nothing from the layer is ever written to disk by its own path: the file table is kept in
memory and the few contents the probe captures are stored under numbered names in the
layer's content directory, so a hostile tar cannot write anywhere.
"""

from __future__ import annotations

import os
import posixpath
import stat
import tarfile
from pathlib import Path
from typing import BinaryIO, cast

from mamori.errors import ImageError
from mamori.image.interface import LayerProbe
from mamori.image.layer_index import FileMeta, LayerIndex
from mamori.model import FileKind

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
MAX_CAPTURE = 512 << 20  # a package database larger than this is refused, not loaded


def normalise_member_path(name: str, what: str) -> str:
    """The absolute path a tar member names, refusing names that escape the root."""
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
        self.content_dir = content_dir
        self.what = what
        self._captured = 0

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
                raise ImageError(
                    f"{self.what}: {path} is {size} bytes, larger than the {MAX_CAPTURE}-byte "
                    "limit for a package database"
                )
            content = self._store(stream.read())
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

    def _store(self, data: bytes) -> str:
        self._captured += 1
        name = str(self._captured)
        (self.content_dir / name).write_bytes(data)
        return name


def analyze_tar(
    stream: BinaryIO, diff_id: str, probe: LayerProbe, content_dir: Path, what: str
) -> LayerIndex:
    """Index an uncompressed tar stream, reading it exactly once from start to end."""
    builder = _Builder(diff_id, probe, content_dir, what)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                path = normalise_member_path(member.name, what)
                if builder.add_whiteout(path):
                    continue
                mode = member.mode & 0o7777
                if member.isreg():
                    content = cast(BinaryIO | None, tar.extractfile(member))
                    builder.add_file(path, mode, member.size, content)
                elif member.isdir():
                    builder.add_other(path, FileKind.DIR, mode)
                elif member.issym():
                    builder.add_other(path, FileKind.SYMLINK, mode, member.linkname)
                elif member.islnk():
                    builder.add_link(path, normalise_member_path(member.linkname, what))
                else:
                    builder.add_other(path, FileKind.OTHER, mode)
    except tarfile.TarError as exc:
        raise ImageError(f"{what}: corrupt tar: {exc}") from None
    except EOFError:
        raise ImageError(f"{what}: truncated tar (unexpected end of data)") from None
    return builder.index


def analyze_directory(root: Path, probe: LayerProbe, content_dir: Path) -> LayerIndex:
    """Index an unpacked root filesystem without following any symlink."""
    what = f"directory {root}"
    builder = _Builder("", probe, content_dir, what)
    if not root.is_dir():
        raise ImageError(f"{root} is not a directory")
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
    return builder.index


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
