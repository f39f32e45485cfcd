"""Build a database from OSV exports into a work file, then swap it in.

Nothing in the database folder changes until the new file is complete: an import that fails,
is interrupted or killed leaves the old database (and any reader of it) untouched.

What the new database holds besides the given sources is the `Merge` policy:
- FRESH: the given sources only;
- UPSERT (`db import`): every advisory of the old database that the sources do not contain;
- per-ecosystem (`db update`): like UPSERT, minus the old entries of the ecosystems that were
  downloaded anew (the export is authoritative for its ecosystem, so advisories it dropped or
  renamed disappear).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from mamori.errors import MamoriError, UsageError
from mamori.vulndb.layout import DbDir, commit_file, write_atomic
from mamori.vulndb.metadata import DBMetadata, SourceInfo, utc_now
from mamori.vulndb.osv import Problem, parse_record
from mamori.vulndb.sources import MAX_RECORD_BYTES, OSVSource
from mamori.vulndb.store import StoreWriter

# progress(task, done, total): total 0 when unknown.
Progress = Callable[[str, int, int], None]


def no_progress(task: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class Merge:
    keep_previous: bool
    replaced_ecosystems: frozenset[str] = frozenset()


FRESH = Merge(keep_previous=False)
UPSERT = Merge(keep_previous=True)


@dataclass(frozen=True)
class BuildInput:
    path: Path
    info: SourceInfo
    label: str = ""  # how problems name the source; default the file name


@dataclass
class ImportStats:
    advisories: int = 0  # records stored from the given sources
    affected: int = 0
    duplicates: int = 0  # records repeated across sources (the newest is kept)
    retained: int = 0  # advisories carried over from the previous database
    skipped: Counter[str] = field(default_factory=Counter)  # whole records or sources
    dropped: Counter[str] = field(default_factory=Counter)  # entries, ranges, versions
    examples: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def count(self, problem: Problem, counter: Counter[str]) -> None:
        counter[problem.reason] += 1
        self.examples.setdefault(problem.reason, problem.where)

    def summary(self) -> str:
        text = f"imported {self.advisories} advisories, {self.affected} affected entries"
        if self.retained:
            text += f", kept {self.retained} advisories from the previous database"
        parts = []
        if self.skipped:
            parts.append(f"{sum(self.skipped.values())} records ({_reasons(self.skipped)})")
        if self.dropped:
            parts.append(
                f"{sum(self.dropped.values())} parts of records ({_reasons(self.dropped)})"
            )
        return text + ("; skipped " + " and ".join(parts) if parts else "; nothing skipped")

    def warnings(self) -> list[str]:
        lines = list(self.notes)
        for counter in (self.skipped, self.dropped):
            for reason, n in counter.most_common():
                lines.append(f"{n} × {reason}, e.g. {self.examples[reason]}")
        return lines


def _reasons(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in counter.most_common())


def build_database(
    dbdir: DbDir,
    inputs: Sequence[BuildInput],
    merge: Merge,
    *,
    progress: Progress = no_progress,
    before_commit: Callable[[], None] | None = None,
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> tuple[ImportStats, DBMetadata]:
    """Build and swap in a new database. The caller holds `dbdir.writer_lock()`.

    Raises MamoriError, with the old database untouched, when no advisory could be read."""
    stats = ImportStats()
    work = dbdir.work_file(dbdir.root, ".build-")
    writer = StoreWriter(work)
    try:
        sources = [_read(item, writer, stats, progress, max_record_bytes) for item in inputs]
        stats.advisories, stats.affected = writer.advisories, writer.affected
        if stats.advisories == 0:
            detail = "; ".join(stats.warnings()) or "no OSV records found"
            raise MamoriError(f"nothing to import ({detail}); the database was not changed")
        if merge.keep_previous and dbdir.db.exists():
            merged = writer.merge_from(dbdir.db, merge.replaced_ecosystems)
            if merged is None:
                stats.notes.append(
                    f"the previous database in {dbdir.root} is unreadable or of another "
                    "format: it is replaced by the imported sources alone"
                )
            else:
                stats.retained, old_sources = merged
                sources = _carried_over(old_sources, sources, merge) + sources
        metadata = writer.finish(sources, utc_now())
        if before_commit is not None:
            before_commit()
        commit_file(work, dbdir.db)
        write_atomic(dbdir.metadata, metadata.to_json())
        return stats, metadata
    except BaseException:
        writer.close()
        work.unlink(missing_ok=True)
        raise


def _read(
    item: BuildInput,
    writer: StoreWriter,
    stats: ImportStats,
    progress: Progress,
    max_record_bytes: int,
) -> SourceInfo:
    source = OSVSource(item.path, max_record_bytes, label=item.label)
    task = f"import {source.label}"
    stored = 0
    try:
        total = source.total
        progress(task, 0, total)
        for done, document in enumerate(source.documents(), 1):
            if isinstance(document, Problem):
                stats.count(document, stats.skipped)
                continue
            record = parse_record(document.data, document.where)
            if isinstance(record, Problem):
                stats.count(record, stats.skipped)
                continue
            for problem in record.problems:
                stats.count(problem, stats.dropped)
            if writer.add(record, document.data):
                stored += 1
            else:
                stats.duplicates += 1
            if done % 256 == 0:
                progress(task, done, total)
        progress(task, total, total)
    finally:
        source.close()
    return replace(item.info, records=stored)


def _carried_over(
    old: Sequence[SourceInfo], new: Sequence[SourceInfo], merge: Merge
) -> list[SourceInfo]:
    """The old sources that still contribute: not imported again, not downloaded anew."""
    locations = {s.location for s in new}
    return [
        s
        for s in old
        if s.location not in locations
        and not (s.kind == "download" and s.ecosystem in merge.replaced_ecosystems)
    ]


def import_paths(
    dbdir: DbDir, paths: Sequence[Path], *, replace_all: bool, progress: Progress = no_progress
) -> tuple[ImportStats, DBMetadata]:
    """`db import`: zips, folders or files of OSV JSON, merged into the database (UPSERT) or,
    with `replace_all`, making up the whole new database (FRESH)."""
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path}: no such file or folder")
    now = utc_now()
    inputs = [BuildInput(p, SourceInfo("import", str(p.resolve()), fetched_at=now)) for p in paths]
    with dbdir.writer_lock():
        return build_database(dbdir, inputs, FRESH if replace_all else UPSERT, progress=progress)
