"""RPM packages: the sqlite rpmdb (RHEL 9, Rocky, Alma, Amazon Linux 2023, Fedora).

The database is opened from memory (`sqlite3.Connection.deserialize`), so nothing is
written to disk. The older BerkeleyDB and NDB formats are detected and reported as not
supported yet.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from mamori.catalog import rpm_header as tags
from mamori.catalog.interface import CatalogContext
from mamori.catalog.os_release import osv_ecosystem
from mamori.catalog.pkgdb import Problems, located_records, os_package_purl, own_files
from mamori.catalog.rpm_header import RpmHeader, RpmHeaderError
from mamori.model import Location, Package, PackageType

SQLITE_DATABASES = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
_UNSUPPORTED_DATABASES = (
    ("/var/lib/rpm/Packages", "BerkeleyDB"),
    ("/usr/lib/sysimage/rpm/Packages", "BerkeleyDB"),
    ("/var/lib/rpm/Packages.db", "NDB"),
    ("/usr/lib/sysimage/rpm/Packages.db", "NDB"),
)
_SQLITE_MAGIC = b"SQLite format 3\0"
_SOURCE_SUFFIXES = (".src.rpm", ".nosrc.rpm")


@dataclass(frozen=True)
class RpmRecord:
    name: str
    version: str
    release: str
    epoch: int | None
    arch: str
    license: str
    source_rpm: str
    files: tuple[str, ...]

    @property
    def evr(self) -> str:
        """[epoch:]version-release, as rpm compares versions."""
        prefix = f"{self.epoch}:" if self.epoch is not None else ""
        return f"{prefix}{self.version}-{self.release}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.arch, self.evr)


def parse_rpmdb(data: bytes, problems: Problems) -> list[RpmRecord]:
    """The packages of an sqlite rpmdb, in install order; unreadable ones go to `problems`."""
    try:
        rows = _header_blobs(data)
    except (sqlite3.Error, OverflowError) as exc:
        problems.add(f"not a readable rpm sqlite database ({exc})")
        return []
    records = []
    for hnum, blob in rows:
        if not isinstance(blob, bytes):
            problems.add(f"package #{hnum}: the header is not a blob")
            continue
        try:
            record = _record(RpmHeader(blob))
        except RpmHeaderError as exc:
            problems.add(f"package #{hnum}: {exc}")
            continue
        if record is not None:
            records.append(record)
    return records


class RpmCataloger:
    name = "rpm"

    def capture(self, path: str) -> bool:
        return path in SQLITE_DATABASES

    def catalog(self, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        seen: set[str] = set()
        for path in SQLITE_DATABASES:
            found = context.view.resolve(path)
            # /var/lib/rpm is often a symlink to /usr/lib/sysimage/rpm: read the file once.
            if found is not None and found.path not in seen:
                seen.add(found.path)
                packages += _from_database(context, found.path)
        if not seen:
            for path, kind in _UNSUPPORTED_DATABASES:
                if context.view.resolve(path) is not None:
                    context.warnings.append(
                        f"{path}: rpm database in {kind} format is not supported yet"
                    )
        return packages


def _from_database(context: CatalogContext, path: str) -> list[Package]:
    located = located_records(context, path, parse_rpmdb)
    wal = context.view.resolve(path + "-wal")
    if context.view.resolve(path) is not None and wal is not None and wal.meta.size > 0:
        context.warnings.append(
            f"{path}-wal is not empty: packages not yet checkpointed into the database are missed"
        )
    packages = []
    for record, location in located:
        packages.append(_package(context, record, location))
        own_files(context, record.files, f"rpm:{record.name}")
    return packages


def _header_blobs(data: bytes) -> list[tuple[object, object]]:
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(_without_wal_flag(data))
        connection.execute("PRAGMA trusted_schema = OFF")
        connection.execute("PRAGMA query_only = ON")
        return connection.execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
    finally:
        connection.close()


def _without_wal_flag(data: bytes) -> bytes:
    """The database with its header saying "rollback journal" instead of "WAL".

    rpm keeps its database in WAL mode (file format read/write versions 2 at header offsets
    18 and 19, per sqlite's file-format document), and sqlite cannot open a WAL database
    from memory. Setting both bytes to 1 (legacy) leaves the content as it is.
    """
    if data.startswith(_SQLITE_MAGIC) and len(data) >= 20 and data[18:20] == b"\2\2":
        return data[:18] + b"\1\1" + data[20:]
    return data


def _record(header: RpmHeader) -> RpmRecord | None:
    """The header's package; None for gpg-pubkey entries (imported signing keys, no files)."""
    name = header.string(tags.NAME)
    version = header.string(tags.VERSION)
    release = header.string(tags.RELEASE)
    if not name or not version or not release:
        raise RpmHeaderError("the header has no NAME, VERSION or RELEASE")
    if name == "gpg-pubkey":
        return None
    epochs = header.int32s(tags.EPOCH)
    return RpmRecord(
        name=name,
        version=version,
        release=release,
        epoch=epochs[0] if epochs else None,
        arch=header.string(tags.ARCH) or "",
        license=header.string(tags.LICENSE) or "",
        source_rpm=header.string(tags.SOURCERPM) or "",
        files=tuple(header.files()),
    )


def _source(record: RpmRecord) -> tuple[str, str]:
    """Source package name and [epoch:]version-release from SOURCERPM
    ("openssl-3.0.7-27.el9.src.rpm"); a source package shares its binaries' epoch."""
    stem = record.source_rpm
    for suffix in _SOURCE_SUFFIXES:
        stem = stem.removesuffix(suffix)
    parts = stem.rsplit("-", 2)
    if stem == record.source_rpm or len(parts) != 3 or not all(parts):
        return record.name, record.evr
    prefix = f"{record.epoch}:" if record.epoch is not None else ""
    return parts[0], f"{prefix}{parts[1]}-{parts[2]}"


def _package(context: CatalogContext, record: RpmRecord, location: Location) -> Package:
    os = context.os
    epoch = {"epoch": str(record.epoch)} if record.epoch is not None else {}
    purl = os_package_purl(
        "rpm", os, None, record.name, f"{record.version}-{record.release}", record.arch, **epoch
    )
    source_name, source_version = _source(record)
    return Package(
        name=record.name,
        version=record.evr,
        type=PackageType.RPM,
        purl=purl,
        cataloger="rpm",
        locations=(location,),
        source_name=source_name,
        source_version=source_version,
        arch=record.arch,
        licenses=(record.license,) if record.license else (),
        ecosystem=osv_ecosystem(os),
    )
