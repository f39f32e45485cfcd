"""`db status`: what the database holds, where it came from, and whether it is getting old."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mamori.vulndb.layout import DbDir
from mamori.vulndb.metadata import DBMetadata
from mamori.vulndb.reader import VulnDB


@dataclass(frozen=True)
class Status:
    lines: tuple[str, ...]
    warning: str  # "" when fresh enough


def database_status(dbpath: Path, max_age_hours: float, now: datetime | None = None) -> Status:
    """Raises MamoriError (via VulnDB.open) when there is no usable database."""
    dbdir = DbDir(dbpath)
    with VulnDB.open(dbpath) as db:
        metadata = db.metadata
    checked = _last_check(dbdir, metadata)
    now = now or datetime.now(UTC)
    age_hours = (now - datetime.fromisoformat(checked)).total_seconds() / 3600
    lines = [
        f"database:    {dbdir.db} ({_size(dbdir.db.stat().st_size)})",
        f"built at:    {metadata.built_at}",
        f"checked at:  {checked} ({_age(age_hours)} ago)",
        f"advisories:  {metadata.advisories}",
        "sources:",
    ]
    for source in metadata.sources:
        detail = [f"{source.records} records"]
        if source.etag:
            detail.append(f"ETag {source.etag}")
        if source.last_modified:
            detail.append(f"Last-Modified {source.last_modified}")
        if source.fetched_at:
            detail.append(f"fetched {source.fetched_at}")
        lines.append(f"  {source.kind:<8} {source.location}  ({', '.join(detail)})")
    lines.append("ecosystems:")
    width = max((len(name) for name in metadata.counts), default=0)
    for name, count in metadata.counts.items():
        lines.append(
            f"  {name:<{width}}  {count.advisories:>7} advisories  {count.affected:>7} entries"
        )
    warning = ""
    if age_hours > max_age_hours:
        warning = (
            f"the vulnerability database is {_age(age_hours)} old (more than "
            f"{max_age_hours:g} h): run `mamori db update`"
        )
    return Status(tuple(lines), warning)


def _last_check(dbdir: DbDir, metadata: DBMetadata) -> str:
    """The newest confirmation that the data is current: the build, or a later `db update`
    that found every export unchanged (recorded in metadata.json only)."""
    try:
        remembered = DBMetadata.from_json(dbdir.metadata.read_bytes())
    except (OSError, ValueError, KeyError, TypeError):
        return metadata.built_at
    if remembered.built_at == metadata.built_at:
        return max(remembered.checked_at, metadata.checked_at)
    return metadata.built_at


def _age(hours: float) -> str:
    if hours < 1:
        return f"{max(hours * 60, 0):.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KiB"
