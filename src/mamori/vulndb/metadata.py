"""What a database was built from: kept in the database itself and in `metadata.json` beside it.

The copy inside the database is what readers see (it always matches the content); the file is
what `db update` remembers between runs (ETag / Last-Modified of each downloaded export).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SourceInfo:
    kind: str  # "download" or "import"
    location: str  # URL or absolute path
    ecosystem: str = ""  # downloads: the export's ecosystem
    file: str = ""  # downloads: the zip kept in the database folder
    etag: str = ""
    last_modified: str = ""
    fetched_at: str = ""  # when this content was obtained (UTC, ISO 8601)
    records: int = 0  # advisories read from it


@dataclass(frozen=True)
class EcosystemCount:
    advisories: int
    affected: int


@dataclass(frozen=True)
class DBMetadata:
    schema_version: int
    built_at: str  # UTC, ISO 8601
    checked_at: str  # last `db update` that found the sources current (= built_at in the db)
    sources: tuple[SourceInfo, ...]
    counts: dict[str, EcosystemCount] = field(default_factory=dict)  # by base ecosystem
    ecosystems: dict[str, int] = field(default_factory=dict)  # affected entries by exact ecosystem
    advisories: int = 0

    def built_datetime(self) -> datetime:
        return datetime.fromisoformat(self.built_at)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, data: bytes | str) -> DBMetadata:
        doc: dict[str, Any] = orjson.loads(data)
        return cls(
            schema_version=int(doc["schema_version"]),
            built_at=str(doc["built_at"]),
            checked_at=str(doc.get("checked_at") or doc["built_at"]),
            sources=tuple(SourceInfo(**s) for s in doc.get("sources", [])),
            counts={k: EcosystemCount(**v) for k, v in doc.get("counts", {}).items()},
            ecosystems={k: int(v) for k, v in doc.get("ecosystems", {}).items()},
            advisories=int(doc.get("advisories", 0)),
        )


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
