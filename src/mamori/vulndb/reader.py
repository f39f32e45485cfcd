"""The read API the matcher uses: affected entries by package, advisories, alias groups.

The database file is opened read-only and immutable: writers never change it in place, they
replace it (build.py), so an open `VulnDB` keeps answering from the file it opened.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import orjson
import zstandard

from mamori.errors import MamoriError
from mamori.vulndb.layout import DbDir
from mamori.vulndb.metadata import SCHEMA_VERSION, DBMetadata
from mamori.vulndb.names import normalize_name

__all__ = ["AffectedEntry", "Range", "VulnDB", "normalize_name"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Range(NamedTuple):
    """One range; a tuple so `for kind, events in entry.ranges` works. A GIT range's `repo`
    is in the advisory's JSON."""

    type: str  # ECOSYSTEM, SEMVER or GIT
    events: tuple[tuple[str, str], ...]  # (introduced|fixed|last_affected|limit, version)


@dataclass(frozen=True)
class AffectedEntry:
    """One `affected[]` entry of one advisory, with what the matcher needs of the advisory."""

    advisory_id: str
    aliases: tuple[str, ...]  # the advisory's alias group, sorted, without advisory_id itself
    summary: str
    published: str
    modified: str
    withdrawn: str  # "" if not withdrawn
    ecosystem: str  # exact, as in OSV: "Debian:12"
    package_name: str  # as OSV writes it
    purl: str
    ranges: tuple[Range, ...]
    versions: tuple[str, ...]
    # The entry's own severities when it has any, else the advisory's: (type, score/vector).
    severities: tuple[tuple[str, str], ...]
    database_specific: Mapping[str, Any]  # the advisory's (GHSA severity lives here)
    ecosystem_specific: Mapping[str, Any]  # the entry's (Debian urgency, Ubuntu priority …)
    affected_database_specific: Mapping[str, Any]  # the entry's database_specific
    upstream: tuple[str, ...] = ()  # the advisory's `upstream` ids (DSA → CVE, not aliases)
    severity: str = ""  # the advisory's database_specific.severity, e.g. "HIGH"


_AFFECTED_QUERY = """
SELECT a.id, a.grp, a.summary, a.published, a.modified, a.withdrawn, a.severity,
       a.severities, a.upstream, a.database_specific,
       f.ecosystem, f.name, f.purl, f.ranges, f.versions, f.severities,
       f.ecosystem_specific, f.database_specific
FROM affected f JOIN advisory a ON a.rowid = f.advisory
WHERE f.ecosystem = ? AND f.norm_name = ?
ORDER BY a.id, f.rowid
"""


class VulnDB:
    def __init__(self, conn: sqlite3.Connection, metadata: DBMetadata) -> None:
        self._conn = conn
        self.metadata = metadata
        self._groups: dict[int, frozenset[str]] = {}
        self._decompress = zstandard.ZstdDecompressor().decompress

    @classmethod
    def open(cls, dbpath: Path) -> VulnDB:
        """Open the database in the folder `dbpath`; MamoriError when missing or unusable."""
        file = DbDir(dbpath).db
        advice = "run `mamori db update` or `mamori db import`"
        if not file.is_file():
            raise MamoriError(f"no vulnerability database in {dbpath}: {advice}")
        try:
            conn = sqlite3.connect(
                file.resolve().as_uri() + "?mode=ro&immutable=1",
                uri=True,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise MamoriError(
                f"cannot open the vulnerability database in {dbpath} ({exc})"
            ) from None
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'metadata'").fetchone()
            metadata = DBMetadata.from_json(row[0]) if row else None
        except (sqlite3.DatabaseError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            conn.close()
            raise MamoriError(
                f"the vulnerability database in {dbpath} is unusable ({exc}): {advice}"
            ) from None
        if metadata is None or metadata.schema_version != SCHEMA_VERSION:
            conn.close()
            found = "no metadata" if metadata is None else f"format {metadata.schema_version}"
            raise MamoriError(
                f"the vulnerability database in {dbpath} has {found}, this mamori reads "
                f"format {SCHEMA_VERSION}: {advice}"
            )
        return cls(conn, metadata)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> VulnDB:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def affected(self, ecosystem: str, name: str) -> list[AffectedEntry]:
        """Every entry for the package `name` in `ecosystem` (exact: "Debian:12", "npm")."""
        rows = self._conn.execute(
            _AFFECTED_QUERY, (ecosystem, normalize_name(ecosystem, name))
        ).fetchall()
        return [self._entry(row) for row in rows]

    def ecosystems(self, base: str | None = None) -> tuple[str, ...]:
        """The exact ecosystems present ("Alpine:v3.19", "Alpine:v3.20" …), optionally of one
        base ecosystem: how the matcher finds the release names a distro uses."""
        names = self.metadata.ecosystems
        return tuple(e for e in names if base is None or e.split(":", 1)[0] == base)

    def advisory(self, advisory_id: str) -> dict[str, Any] | None:
        """The advisory's OSV JSON as published."""
        row = self._conn.execute("SELECT raw FROM advisory WHERE id = ?", (advisory_id,)).fetchone()
        if row is None:
            return None
        doc: dict[str, Any] = orjson.loads(self._decompress(row[0]))
        return doc

    def aliases(self, advisory_id: str) -> frozenset[str]:
        """The alias group of any id (CVE, GHSA, PYSEC, DSA …), itself included."""
        row = self._conn.execute(
            "SELECT grp FROM alias_group WHERE name = ?", (advisory_id,)
        ).fetchone()
        return self._group(row[0]) if row else frozenset({advisory_id})

    def _group(self, group: int) -> frozenset[str]:
        members = self._groups.get(group)
        if members is None:
            members = frozenset(
                name
                for (name,) in self._conn.execute(
                    "SELECT name FROM alias_group WHERE grp = ?", (group,)
                )
            )
            self._groups[group] = members
        return members

    def _entry(self, row: tuple[Any, ...]) -> AffectedEntry:
        (
            advisory_id,
            group,
            summary,
            published,
            modified,
            withdrawn,
            severity,
            severities,
            upstream,
            database_specific,
            ecosystem,
            name,
            purl,
            ranges,
            versions,
            entry_severities,
            ecosystem_specific,
            entry_database_specific,
        ) = row
        return AffectedEntry(
            advisory_id=advisory_id,
            aliases=tuple(sorted(self._group(group) - {advisory_id})),
            summary=summary,
            published=published,
            modified=modified,
            withdrawn=withdrawn,
            ecosystem=ecosystem,
            package_name=name,
            purl=purl,
            ranges=tuple(
                Range(kind, tuple((k, v) for k, v in events))
                for kind, _repo, events in orjson.loads(ranges)
            ),
            versions=tuple(orjson.loads(versions)),
            severities=tuple(
                (kind, score) for kind, score in orjson.loads(entry_severities or severities)
            ),
            database_specific=_mapping(database_specific),
            ecosystem_specific=_mapping(ecosystem_specific),
            affected_database_specific=_mapping(entry_database_specific),
            upstream=tuple(orjson.loads(upstream)),
            severity=severity,
        )


def _mapping(text: str | None) -> Mapping[str, Any]:
    return MappingProxyType(orjson.loads(text)) if text else _EMPTY
