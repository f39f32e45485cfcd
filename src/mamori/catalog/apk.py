"""Alpine packages: apk's database /lib/apk/db/installed.

Records are separated by blank lines; each line is `K:value` with a one-letter key
(P name, V version, A arch, o origin, L license, F folder, R file in the last folder …).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass

from mamori.catalog.interface import CatalogContext
from mamori.catalog.os_release import osv_ecosystem
from mamori.catalog.pkgdb import (
    Problems,
    located_records,
    os_package_purl,
    own_files,
    undecodable,
)
from mamori.model import Location, Package, PackageType

INSTALLED = "/lib/apk/db/installed"

_FIELD_NAMES = {"P": "name", "V": "version", "A": "arch", "o": "origin", "L": "license"}


@dataclass(frozen=True)
class ApkRecord:
    name: str
    version: str
    arch: str
    origin: str
    license: str
    files: tuple[str, ...]  # absolute paths

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, self.arch, self.version)


def parse_installed(data: bytes, problems: Problems) -> list[ApkRecord]:
    """The installed packages, in file order; broken records go to `problems`."""
    records = []
    for line, fields in _stanzas(data, problems):
        record = _record(line, fields, problems)
        if record is not None:
            records.append(record)
    return records


class ApkCataloger:
    name = "apk"

    def capture(self, path: str) -> bool:
        return path == INSTALLED

    def catalog(self, context: CatalogContext) -> list[Package]:
        packages = []
        for record, location in located_records(context, INSTALLED, parse_installed):
            packages.append(_package(context, record, location))
            own_files(context, record.files, f"apk:{record.name}")
        return packages


def _stanzas(data: bytes, problems: Problems) -> Iterator[tuple[int, list[tuple[str, str]]]]:
    """(first line number, [(key, value)]) per well-formed record; broken ones are warned."""
    start, problem = 0, ""
    fields: list[tuple[str, str]] = []
    for number, raw in enumerate([*data.split(b"\n"), b""], start=1):
        line = raw.decode("utf-8", "surrogateescape").rstrip("\r")
        if not line.strip():
            if problem:
                problems.add(f"record at line {start}: {problem}")
            elif fields:
                yield start, fields
            start, fields, problem = 0, [], ""
            continue
        start = start or number
        if len(line) < 2 or line[1] != ":":
            problem = problem or f"line {number} is not a 'K:value' field"
        else:
            fields.append((line[0], line[2:]))


def _record(line: int, fields: list[tuple[str, str]], problems: Problems) -> ApkRecord | None:
    values: dict[str, str] = {}
    files: list[str] = []
    folder = ""
    for key, value in fields:
        if key in _FIELD_NAMES:
            values.setdefault(key, value)
        elif key == "F":
            folder = value
        elif key == "R" and value:
            files.append("/" + posixpath.join(folder, value).lstrip("/"))
    for key in ("P", "V"):
        value = values.get(key, "")
        if not value:
            problems.add(f"record at line {line} has no {key}: ({_FIELD_NAMES[key]}) field")
            return None
        if any(c.isspace() for c in value):
            problems.add(f"record at line {line} has a malformed {key}: field {value!r}")
            return None
    for key, value in values.items():
        if undecodable(value):
            problems.add(f"record at line {line}: the {key}: field is not valid UTF-8")
            return None
    return ApkRecord(
        name=values["P"],
        version=values["V"],
        arch=values.get("A", ""),
        origin=values.get("o", ""),
        license=values.get("L", ""),
        files=tuple(files),
    )


def _package(context: CatalogContext, record: ApkRecord, location: Location) -> Package:
    purl = os_package_purl("apk", context.os, "alpine", record.name, record.version, record.arch)
    # Subpackages are built from their origin's APKBUILD at the same pkgver-pkgrel.
    return Package(
        name=record.name,
        version=record.version,
        type=PackageType.APK,
        purl=purl,
        cataloger="apk",
        locations=(location,),
        source_name=record.origin or record.name,
        source_version=record.version,
        arch=record.arch,
        licenses=(record.license,) if record.license else (),
        ecosystem=osv_ecosystem(context.os),
    )
