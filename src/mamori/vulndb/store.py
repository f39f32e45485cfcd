"""Writes a new database file: batched inserts in one transaction, then indexes, alias groups
and counts. Only ever writes a file nobody reads yet (see build.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import zstandard

from mamori.vulndb.metadata import SCHEMA_VERSION, DBMetadata, EcosystemCount, SourceInfo
from mamori.vulndb.osv import OSVAffected, OSVRecord
from mamori.vulndb.schema import ADVISORY_COLUMNS, AFFECTED_COLUMNS, LOOKUP_INDEXES, TABLES

BATCH = 2000


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


class StoreWriter:
    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path.as_uri(), uri=True, isolation_level=None)
        for pragma in (
            "journal_mode=MEMORY",  # the file is private until renamed; rollback only for merges
            "synchronous=OFF",  # build.py fsyncs once before the rename
            "locking_mode=EXCLUSIVE",
            "temp_store=MEMORY",
            "cache_size=-65536",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(TABLES)
        self._conn.execute("BEGIN")
        self._seen: dict[str, tuple[int, str]] = {}  # id -> (rowid, modified)
        self._next_rowid = 1
        self._advisories: list[tuple[Any, ...]] = []
        self._aliases: list[tuple[int, str]] = []
        self._affected: list[tuple[Any, ...]] = []
        self._compress = zstandard.ZstdCompressor(level=3).compress
        self.advisories = 0  # stored by add(), replacements not counted twice
        self.affected = 0

    def add(self, record: OSVRecord, raw: bytes) -> bool:
        """Store `record` (its JSON is `raw`); False when the same id with an equal or newer
        `modified` is already stored (the per-ecosystem exports repeat shared advisories)."""
        known = self._seen.get(record.id)
        if known is not None:
            rowid, modified = known
            if record.modified <= modified:
                return False
            self._flush()
            (entries,) = self._conn.execute(
                "SELECT COUNT(*) FROM affected WHERE advisory = ?", (rowid,)
            ).fetchone()
            self.advisories -= 1
            self.affected -= entries
            for table, column in (("affected", "advisory"), ("alias", "advisory")):
                self._conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (rowid,))
            self._conn.execute("DELETE FROM advisory WHERE rowid = ?", (rowid,))
        else:
            rowid = self._next_rowid
            self._next_rowid += 1
        self._seen[record.id] = (rowid, record.modified)
        self.advisories += 1
        self.affected += len(record.affected)
        severity = (record.database_specific or {}).get("severity")
        self._advisories.append(
            (
                rowid,
                record.id,
                record.summary,
                record.published,
                record.modified,
                record.withdrawn,
                severity if isinstance(severity, str) else "",
                orjson.dumps(record.severities).decode(),
                orjson.dumps(record.upstream).decode(),
                _json(record.database_specific),
                self._compress(raw),
            )
        )
        self._aliases.extend((rowid, alias) for alias in record.aliases)
        self._affected.extend(_affected_row(rowid, entry) for entry in record.affected)
        if len(self._advisories) >= BATCH or len(self._affected) >= BATCH:
            self._flush()
        return True

    def merge_from(
        self, old_db: Path, replaced: frozenset[str]
    ) -> tuple[int, tuple[SourceInfo, ...]] | None:
        """Carry over from `old_db` every advisory not re-imported, with its affected entries
        except those of the `replaced` base ecosystems. Returns (advisories kept, the old
        sources), or None when the old file is not a database of this schema."""
        self._flush()
        self._conn.execute("COMMIT")  # ATTACH is refused inside a transaction
        result = None
        try:
            self._conn.execute(
                "ATTACH DATABASE ? AS old", (old_db.as_uri() + "?mode=ro&immutable=1",)
            )
            try:
                result = self._merge(replaced)
            except sqlite3.DatabaseError:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            finally:
                self._conn.execute("DETACH DATABASE old")
        except sqlite3.Error:
            result = None
        self._conn.execute("BEGIN")
        return result

    def _merge(self, replaced: frozenset[str]) -> tuple[int, tuple[SourceInfo, ...]] | None:
        conn = self._conn
        row = conn.execute("SELECT value FROM old.meta WHERE key = 'metadata'").fetchone()
        if row is None:
            return None
        old_meta = DBMetadata.from_json(row[0])
        if old_meta.schema_version != SCHEMA_VERSION:
            return None
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE replaced (name TEXT PRIMARY KEY)")
        conn.executemany("INSERT INTO temp.replaced VALUES (?)", [(n,) for n in replaced])
        conn.execute(
            """CREATE TEMP TABLE keep AS SELECT o.rowid AS old_rowid FROM old.advisory o
            WHERE NOT EXISTS (SELECT 1 FROM main.advisory m WHERE m.id = o.id)
            AND (EXISTS (SELECT 1 FROM old.affected f WHERE f.advisory = o.rowid
                         AND f.base_ecosystem NOT IN (SELECT name FROM temp.replaced))
                 OR NOT EXISTS (SELECT 1 FROM old.affected f WHERE f.advisory = o.rowid))"""
        )
        conn.execute(
            f"""INSERT INTO main.advisory ({ADVISORY_COLUMNS})
            SELECT {ADVISORY_COLUMNS} FROM old.advisory
            WHERE rowid IN (SELECT old_rowid FROM temp.keep)"""
        )
        mapping = """FROM temp.keep k JOIN old.advisory o ON o.rowid = k.old_rowid
            JOIN main.advisory m ON m.id = o.id"""
        conn.execute(
            f"""INSERT INTO main.alias (advisory, alias) SELECT m.rowid, a.alias {mapping}
            JOIN old.alias a ON a.advisory = k.old_rowid"""
        )
        columns = ", ".join(f"f.{c.strip()}" for c in AFFECTED_COLUMNS.split(","))
        conn.execute(
            f"""INSERT INTO main.affected (advisory, {AFFECTED_COLUMNS})
            SELECT m.rowid, {columns} {mapping}
            JOIN old.affected f ON f.advisory = k.old_rowid
            WHERE f.base_ecosystem NOT IN (SELECT name FROM temp.replaced)"""
        )
        (kept,) = conn.execute("SELECT COUNT(*) FROM temp.keep").fetchone()
        conn.execute("DROP TABLE temp.keep")
        conn.execute("DROP TABLE temp.replaced")
        conn.execute("COMMIT")
        return int(kept), old_meta.sources

    def finish(self, sources: Iterable[SourceInfo], built_at: str) -> DBMetadata:
        """Indexes, alias groups, counts and metadata; commits and closes the file."""
        self._flush()
        conn = self._conn
        for statement in LOOKUP_INDEXES.split(";"):
            conn.execute(statement)  # executescript() would commit first
        self._alias_groups()
        counts = {
            base: EcosystemCount(int(advisories), int(entries))
            for base, advisories, entries in conn.execute(
                "SELECT base_ecosystem, COUNT(DISTINCT advisory), COUNT(*) FROM affected "
                "GROUP BY base_ecosystem ORDER BY base_ecosystem"
            )
        }
        ecosystems = {
            eco: int(n)
            for eco, n in conn.execute(
                "SELECT ecosystem, COUNT(*) FROM affected GROUP BY ecosystem ORDER BY ecosystem"
            )
        }
        (total,) = conn.execute("SELECT COUNT(*) FROM advisory").fetchone()
        metadata = DBMetadata(
            schema_version=SCHEMA_VERSION,
            built_at=built_at,
            checked_at=built_at,
            sources=tuple(sources),
            counts=counts,
            ecosystems=ecosystems,
            advisories=int(total),
        )
        conn.execute("INSERT INTO meta VALUES ('metadata', ?)", (metadata.to_json().decode(),))
        conn.execute("COMMIT")
        conn.close()
        return metadata

    def close(self) -> None:
        self._conn.close()

    def _flush(self) -> None:
        conn = self._conn
        if self._advisories:
            conn.executemany(
                f"INSERT INTO advisory (rowid, {ADVISORY_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._advisories,
            )
        if self._aliases:
            conn.executemany("INSERT INTO alias VALUES (?, ?)", self._aliases)
        if self._affected:
            conn.executemany(
                f"INSERT INTO affected (advisory, {AFFECTED_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._affected,
            )
        self._advisories.clear()
        self._aliases.clear()
        self._affected.clear()

    def _alias_groups(self) -> None:
        """Connected components of the "X is an alias of Y" graph, numbered from 1."""
        parent: dict[str, str] = {}

        def find(name: str) -> str:
            root = parent.setdefault(name, name)
            while root != parent[root]:
                parent[root] = parent[parent[root]]
                root = parent[root]
            return root

        conn = self._conn
        for (advisory_id,) in conn.execute("SELECT id FROM advisory"):
            find(advisory_id)
        for advisory_id, alias in conn.execute(
            "SELECT a.id, l.alias FROM alias l JOIN advisory a ON a.rowid = l.advisory"
        ):
            left, right = find(advisory_id), find(alias)
            if left != right:
                parent[max(left, right)] = min(left, right)
        numbers: dict[str, int] = {}
        rows = []
        for name in parent:
            root = find(name)
            group = numbers.setdefault(root, len(numbers) + 1)
            rows.append((name, group))
        conn.executemany("INSERT INTO alias_group VALUES (?, ?)", rows)
        conn.execute(
            "UPDATE advisory SET grp = (SELECT grp FROM alias_group g WHERE g.name = advisory.id)"
        )


def _affected_row(rowid: int, entry: OSVAffected) -> tuple[Any, ...]:
    ranges = [[r.type, r.repo, r.events] for r in entry.ranges]
    return (
        rowid,
        entry.ecosystem,
        entry.base,
        entry.name,
        entry.norm_name,
        entry.purl,
        orjson.dumps(ranges).decode(),
        orjson.dumps(entry.versions).decode(),
        _json(entry.severities),
        _json(entry.ecosystem_specific),
        _json(entry.database_specific),
    )
