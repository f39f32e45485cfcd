"""Go programs: the Go version and module list the linker embeds as build info.

The build info starts with the 14-byte magic `\\xff Go buildinf:` at a 16-byte aligned
offset, then the pointer size and a flags byte, in a 32-byte header. Since Go 1.18 (flags
& 2) the header is zero-padded and the Go version and the module info follow inline as two
varint-length strings. Older binaries store pointers to those strings in the header
instead, which cannot be followed while the file streams past: they are reported as
unsupported. The module info is text between
two 16-byte sentinels: `path`, `mod` (main module), `dep` and `=>` (replacement of the
module on the line before) and `build` lines, tab separated.

Binaries that use the debug/buildinfo package carry the magic a second time as data; such
copies are told apart by failing the header and version checks, and the search goes on.
"""

from __future__ import annotations

import re
from typing import Any, BinaryIO

from packageurl import PackageURL

from mamori.catalog.binaries.interface import WARNING
from mamori.catalog.binaries.scan import CHUNK, Window, is_elf
from mamori.model import Location, Package, PackageType

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGN = 16
FLAG_INLINE = 2
MIN_SIZE = 100 << 10  # the smallest Go programs are about a megabyte
MAX_VERSION = 256
MAX_MODINFO = 4 << 20
SENTINEL_SIZE = 16
DEVEL = "(devel)"
# Build settings kept; the others (-ldflags, -gcflags, CGO_*FLAGS) may carry secrets.
BUILD_KEYS = frozenset(
    (
        "-buildmode",
        "-compiler",
        "-tags",
        "-trimpath",
        "CGO_ENABLED",
        "GOARCH",
        "GOOS",
        "GOAMD64",
        "GOARM",
        "GOARM64",
        "GO386",
        "GOEXPERIMENT",
        "GOFIPS140",
        "vcs",
        "vcs.modified",
        "vcs.revision",
        "vcs.time",
    )
)
PRE_118 = "build info in the pointer format of Go before 1.18 is not supported"
_RELEASE = re.compile(r"go\d+(?:\.\d+)*\S*")


def read_build_info(stream: BinaryIO, chunk: int = CHUNK) -> dict[str, Any] | None:
    """The build info of the ELF file in `stream` as a finding, or None. Never raises on
    bad content; memory stays within `chunk` plus the module info (capped)."""
    window = Window(stream, chunk)
    if not is_elf(window):
        return None
    while True:
        at = window.data.find(MAGIC)
        if at < 0:
            window.drop(max(0, len(window.data) - len(MAGIC) + 1))
            if not window.more():
                return None
            continue
        window.drop(at)
        if window.start % ALIGN == 0:
            finding = _decode(window)
            if finding is not None:
                return finding
        window.drop(1)


def _decode(window: Window) -> dict[str, Any] | None:
    """The finding for the header at the start of `window`, or None if it is not one."""
    if not window.ensure(HEADER_SIZE):
        return None
    pointer_size, flags = window.data[len(MAGIC)], window.data[len(MAGIC) + 1]
    if pointer_size not in (4, 8):
        return None
    if not flags & FLAG_INLINE:
        return {"classifier": "go", WARNING: PRE_118}
    if window.data[len(MAGIC) + 2 : HEADER_SIZE].strip(b"\x00"):
        return None  # the linker zero-pads the inline format's header
    version, offset = _string(window, HEADER_SIZE, MAX_VERSION)
    if version is None or not version.startswith((b"go", b"devel")) or not version.isascii():
        return None
    modinfo, _ = _string(window, offset, MAX_MODINFO)
    if modinfo is None:
        return None
    return {"classifier": "go", "go_version": version.decode(), **parse_modinfo(_unwrap(modinfo))}


def _string(window: Window, offset: int, limit: int) -> tuple[bytes | None, int]:
    """The varint-length-prefixed string at `offset` and the offset after it."""
    length = shift = 0
    while True:
        if shift > 63 or not window.ensure(offset + 1):
            return None, offset
        byte = window.data[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    if length > limit or not window.ensure(offset + length):
        return None, offset
    return window.data[offset : offset + length], offset + length


def _unwrap(modinfo: bytes) -> str:
    """The module info without its sentinels, as Go's debug/buildinfo strips them."""
    if len(modinfo) <= 2 * SENTINEL_SIZE or modinfo[-SENTINEL_SIZE - 1] != ord("\n"):
        return ""
    return modinfo[SENTINEL_SIZE:-SENTINEL_SIZE].decode("utf-8", errors="replace")


def parse_modinfo(text: str) -> dict[str, Any]:
    """`path`, `main`, `deps` (each may carry a `replace`) and kept `build` settings."""
    path = ""
    main: dict[str, Any] | None = None
    deps: list[dict[str, Any]] = []
    build: dict[str, str] = {}
    last: dict[str, Any] | None = None
    for line in text.split("\n"):
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "path":
            path = fields[0]
        elif kind in ("mod", "dep") and fields[0]:
            last = {"path": fields[0], "version": fields[1] if len(fields) > 1 else ""}
            if kind == "mod":
                main = last
            else:
                deps.append(last)
        elif kind == "=>" and last is not None and fields[0]:
            last["replace"] = {"path": fields[0], "version": fields[1] if len(fields) > 1 else ""}
        elif kind == "build":
            key, equals, value = rest.partition("=")
            if equals and key in BUILD_KEYS:
                build[key] = value
    return {"path": path, "main": main, "deps": deps, "build": build}


def go_purl(path: str, version: str) -> str:
    """`pkg:golang/<module path>@<version>`; empty for local paths (`./x`, `../x`, `/x`)."""
    namespace, _, name = path.rpartition("/")
    if not name or path.startswith((".", "/")):
        return ""
    return PackageURL(
        type="golang", namespace=namespace or None, name=name, version=version or None
    ).to_string()


def _version(module: dict[str, Any]) -> str:
    version = str(module.get("version", ""))
    return "" if version == DEVEL else version


class GoClassifier:
    name = "go"
    reports_owned = True

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        return bool(mode & 0o111) and size >= MIN_SIZE

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        return read_build_info(stream)

    def packages(self, finding: dict[str, Any], location: Location) -> list[Package]:
        """stdlib (named and versioned as Syft does: `go1.22.1`), the main module (without
        the `(devel)` placeholder version) and every dependency, replacements applied."""
        build: dict[str, str] = finding.get("build") or {}
        main: dict[str, Any] | None = finding.get("main")
        main_path = str(main["path"]) if main else ""
        main_version = _version(main) if main else ""

        def package(
            path: str,
            version: str,
            metadata: tuple[tuple[str, str], ...] = (),
            purl_version: str | None = None,
        ) -> Package:
            return Package(
                name=path,
                version=version,
                type=PackageType.GOLANG,
                purl=go_purl(path, version if purl_version is None else purl_version),
                cataloger="go-binary",
                locations=(location,),
                source_name=main_path,
                source_version=main_version,
                arch=build.get("GOARCH", ""),
                ecosystem="Go",
                metadata=metadata,
            )

        packages: list[Package] = []
        release = _RELEASE.fullmatch(str(finding.get("go_version", "")).split(" ")[0])
        if release:
            stdlib = release.group()
            packages.append(package("stdlib", stdlib, purl_version=stdlib.removeprefix("go")))
        if main:
            packages.append(package(main_path, main_version, tuple(sorted(build.items()))))
        for dep in finding.get("deps") or ():
            used = dep.get("replace") or dep
            path, version = str(used["path"]), _version(used)
            replaced = (("replaces", f"{dep['path']}@{dep['version']}"),) if used is not dep else ()
            packages.append(package(path, version, replaced))
        return packages
