"""Debian packages: dpkg's status database, and the status.d records of distroless images.

Distroless images carry no dpkg: each package's control stanza is a file in
/var/lib/dpkg/status.d/ (optionally with a `<name>.md5sums` file listing its files).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from mamori.catalog.deb822 import Stanza, parse_stanzas
from mamori.catalog.interface import CatalogContext
from mamori.catalog.os_release import osv_ecosystem
from mamori.catalog.pkgdb import Problems, located_records, os_package_purl, own_files
from mamori.model import FileKind, Location, Package, PackageType

STATUS = "/var/lib/dpkg/status"
STATUS_DIR = "/var/lib/dpkg/status.d"
INFO_DIR = "/var/lib/dpkg/info"

# dpkg states (dpkg-query(1)) in which the package's files are on disk. Not reported:
# not-installed, config-files (only conffiles left) and half-installed (an unpack or a
# removal was interrupted, so which files exist is unknown).
_FILES_PRESENT = frozenset(
    {"installed", "unpacked", "half-configured", "triggers-awaited", "triggers-pending"}
)
_SOURCE = re.compile(r"(?P<name>\S+)(?:\s+\((?P<version>[^()\s]+)\))?")
_MD5SUMS_LINE = re.compile(r"[0-9a-fA-F]{32} [ *](?P<path>.+)")


@dataclass(frozen=True)
class DebRecord:
    """One installed package as its stanza describes it."""

    name: str
    version: str  # with the epoch, as dpkg prints it ("1:2.38.1-5")
    arch: str
    source_name: str
    source_version: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.arch, self.version)


def parse_status(data: bytes, problems: Problems) -> list[DebRecord]:
    """The packages whose files are present, in file order; broken stanzas go to `problems`."""
    records = []
    for stanza in parse_stanzas(data):
        record = _record(stanza, problems)
        if record is not None:
            records.append(record)
    return records


class DpkgCataloger:
    name = "dpkg"

    def capture(self, path: str) -> bool:
        if path == STATUS or path.startswith(STATUS_DIR + "/"):
            return True
        return path.startswith(INFO_DIR + "/") and path.endswith(".list")

    def catalog(self, context: CatalogContext) -> list[Package]:
        packages = _from_status(context) + _from_status_dir(context)
        _record_owners(context)
        return packages


def _from_status(context: CatalogContext) -> list[Package]:
    return [
        _package(context, record, "dpkg", location)
        for record, location in located_records(context, STATUS, parse_status)
    ]


def _from_status_dir(context: CatalogContext) -> list[Package]:
    packages = []
    for entry in context.view.children(STATUS_DIR):
        if entry.path.endswith(".md5sums") or entry.meta.kind is FileKind.DIR:
            continue
        data = context.view.read(entry.path)
        if data is None:
            continue
        problems = Problems(entry.path, context.warnings)
        location = context.location(entry.path)
        packages += [
            _package(context, record, "status.d", location)
            for record in parse_status(data, problems)
        ]
        problems.close()
    return packages


def _record(stanza: Stanza, problems: Problems) -> DebRecord | None:
    """The stanza's package, or None when it is not installed or cannot be read (warned)."""
    where = f"stanza at line {stanza.line}"
    if stanza.problem:
        problems.add(f"{where}: {stanza.problem}")
        return None
    for field in ("Status", "Package", "Version", "Architecture", "Source"):
        if stanza.undecodable(field):
            problems.add(f"{where}: the {field} field is not valid UTF-8")
            return None
    # status.d records are control files without a Status field: they are installed.
    status = stanza.get("Status")
    if status is not None:
        words = status.split()
        if len(words) != 3:
            problems.add(f"{where} has a malformed Status field {status!r}")
            return None
        if words[2] not in _FILES_PRESENT:
            return None
    name = _single_word(stanza, "Package", problems)
    version = _single_word(stanza, "Version", problems) if name else None
    if not name or not version:
        return None
    source_name, source_version = name, version
    source = stanza.get("Source")
    if source:
        match = _SOURCE.fullmatch(source)
        if match is None:
            problems.add(f"{where} has a malformed Source field {source!r}")
            return None
        source_name, source_version = match["name"], match["version"] or version
    return DebRecord(name, version, stanza.get("Architecture") or "", source_name, source_version)


def _single_word(stanza: Stanza, field: str, problems: Problems) -> str | None:
    value = stanza.get(field)
    if not value:
        problems.add(f"stanza at line {stanza.line} has no {field} field")
        return None
    if any(c.isspace() for c in value):
        problems.add(f"stanza at line {stanza.line} has a malformed {field} field {value!r}")
        return None
    return value


def _package(
    context: CatalogContext, record: DebRecord, cataloger: str, location: Location
) -> Package:
    os = context.os
    # The purl spec's deb type keeps the epoch inside the version
    # ("pkg:deb/debian/attr@1:2.4.47-2%2Bb1"), as Syft does; Trivy moves it to an `epoch`
    # qualifier, which the deb type does not define. The version is exactly dpkg's.
    purl = os_package_purl("deb", os, "debian", record.name, record.version, record.arch)
    return Package(
        name=record.name,
        version=record.version,
        type=PackageType.DEB,
        purl=purl,
        cataloger=cataloger,
        locations=(location,),
        source_name=record.source_name,
        source_version=record.source_version,
        arch=record.arch,
        ecosystem=osv_ecosystem(os),
    )


def _record_owners(context: CatalogContext) -> None:
    """Files listed by info/<name>[:<arch>].list and status.d/<name>.md5sums."""
    view = context.view
    for entry in view.children(INFO_DIR):
        if entry.path.endswith(".list"):
            name = posixpath.basename(entry.path).removesuffix(".list").split(":")[0]
            paths = (line for line in _lines(view.read(entry.path)) if line != "/.")
            own_files(context, paths, f"deb:{name}")
    for entry in view.children(STATUS_DIR):
        if entry.path.endswith(".md5sums"):
            name = posixpath.basename(entry.path).removesuffix(".md5sums")
            matches = (_MD5SUMS_LINE.fullmatch(line) for line in _lines(view.read(entry.path)))
            paths = ("/" + m["path"].lstrip("/") for m in matches if m is not None)
            own_files(context, paths, f"deb:{name}")


def _lines(data: bytes | None) -> list[str]:
    # tarfile decodes member names the same way, so undecodable names still match.
    return data.decode("utf-8", "surrogateescape").splitlines() if data else []
