"""What a scan must find, worked out from the OSV files themselves, not with mamori's matcher.

PyPI: the explicit `versions` list each PYSEC advisory carries. npm and Debian (the fixtures
carry no lists): each range must hold a single `introduced` and at most one `fixed` or
`last_affected` (checked), so a version is affected when introduced ≤ v and v < fixed (or
v ≤ last_affected). Versions are compared with mamori's version schemes, which are proven
against upstream vectors in tests/versions; the range walk is what these tests hold mamori to.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mamori.versions import scheme_for
from tests.vulndb.helpers import FIXTURES


@dataclass(frozen=True)
class Hit:
    advisory: str
    ids: frozenset[str]  # the advisory's id and aliases: what merges it with others
    fixed: str  # the fixed event of the range the version is in, "" when none


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pypi_records(zip_path: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(zip_path) as archive:
        return [json.loads(archive.read(name)) for name in archive.namelist()]


def fixture_records(ecosystem: str) -> list[dict[str, Any]]:
    """The fixture records of one folder of tests/data/osv, read now (they may change)."""
    return [json.loads(path.read_text()) for path in sorted((FIXTURES / ecosystem).glob("*.json"))]


# how each ecosystem compares package names
_NAME_KEY: dict[str, Callable[[str], str]] = {"PyPI": pep503, "npm": str, "Debian": str.lower}


def _entries(
    records: Iterable[dict[str, Any]], ecosystem: str, name: str
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(record, affected entry) for `name` in `ecosystem`, withdrawn records left out."""
    name_key = _NAME_KEY[ecosystem.split(":")[0]]
    for record in records:
        if record.get("withdrawn"):
            continue
        for affected in record.get("affected", []):
            package = affected["package"]
            if package["ecosystem"] == ecosystem and name_key(package["name"]) == name_key(name):
                yield record, affected


def _ids(record: dict[str, Any]) -> frozenset[str]:
    return frozenset({record["id"], *record.get("aliases", [])})


def pypi_hits(records: list[dict[str, Any]], name: str, version: str) -> list[Hit]:
    """Advisories whose explicit `versions` list names `version` of `name`."""
    return [
        Hit(record["id"], _ids(record), "")
        for record, affected in _entries(records, "PyPI", name)
        if version in affected.get("versions", [])
    ]


def pypi_fixed_at(records: list[dict[str, Any]], name: str, version: str) -> set[str]:
    """Advisories with an ECOSYSTEM range fixed exactly at `version`: the boundary case."""
    return {
        record["id"]
        for record, affected in _entries(records, "PyPI", name)
        for r in affected.get("ranges", [])
        if r["type"] == "ECOSYSTEM" and {"fixed": version} in r["events"]
    }


def range_hits(records: list[dict[str, Any]], ecosystem: str, name: str, version: str) -> list[Hit]:
    """Advisories whose ranges for `name` in `ecosystem` contain `version`."""
    key = scheme_for(ecosystem).key
    installed = key(version)
    hits = []
    for record, affected in _entries(records, ecosystem, name):
        for r in affected.get("ranges", []):
            events = dict(next(iter(e.items())) for e in r["events"])
            assert len(r["events"]) == len(events) <= 2 and "introduced" in events, r
            start = events["introduced"]
            if start != "0" and installed < key(start):
                continue
            if "fixed" in events and not installed < key(events["fixed"]):
                continue
            if "last_affected" in events and key(events["last_affected"]) < installed:
                continue
            hits.append(Hit(record["id"], _ids(record), events.get("fixed", "")))
            break
    return hits


def alias_groups(hits: list[Hit]) -> set[frozenset[str]]:
    """The advisories of `hits` grouped by shared ids (transitively): one finding each."""
    groups: list[tuple[set[str], set[str]]] = []  # (ids, advisories)
    for hit in hits:
        joined = [g for g in groups if g[0] & hit.ids]
        ids = set(hit.ids).union(*(g[0] for g in joined))
        advisories = {hit.advisory}.union(*(g[1] for g in joined))
        groups = [g for g in groups if g not in joined] + [(ids, advisories)]
    return {frozenset(advisories) for _, advisories in groups}
