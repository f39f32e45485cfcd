"""One OSV record (https://ossf.github.io/osv-schema/): parsed, shape-checked, normalised.

A record whose top level is unusable (not JSON, no `id`, wrong field types) is rejected as a
whole; an affected entry that names an unknown ecosystem is dropped alone; a range that cannot
be understood is dropped from its entry. Every rejection is a `Problem` the import counts.
Version strings are only checked for being plausible tokens here: their ordering belongs to
`mamori.versions`, which the matcher applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from mamori.vulndb.names import KNOWN_ECOSYSTEMS, base_ecosystem, normalize_name

RANGE_TYPES = frozenset({"ECOSYSTEM", "SEMVER", "GIT"})
EVENT_KINDS = frozenset({"introduced", "fixed", "last_affected", "limit"})
MAX_TOKEN = 256  # longest id / version accepted; real ones are far shorter

# Reasons, as counted in the import summary.
MALFORMED_JSON = "malformed JSON"
NOT_A_RECORD = "not an OSV record"
MISSING_ID = "missing or invalid id"
INVALID_FIELD = "invalid field"
UNKNOWN_ECOSYSTEM = "unknown ecosystem"
NO_PACKAGE = "affected entry without package"
BAD_RANGE = "unparseable range"
BAD_VERSION = "unparseable version"


@dataclass(frozen=True)
class Problem:
    reason: str
    where: str  # "PyPI-all.zip:PYSEC-2021-1.json", with detail when it helps


@dataclass(frozen=True)
class OSVRange:
    type: str
    repo: str
    events: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class OSVAffected:
    ecosystem: str
    base: str
    name: str
    norm_name: str
    purl: str
    ranges: tuple[OSVRange, ...]
    versions: tuple[str, ...]
    severities: tuple[tuple[str, str], ...] | None  # None: the entry has no severity of its own
    ecosystem_specific: dict[str, Any] | None
    database_specific: dict[str, Any] | None


@dataclass(frozen=True)
class OSVRecord:
    id: str
    summary: str
    published: str
    modified: str
    withdrawn: str
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]
    severities: tuple[tuple[str, str], ...]
    database_specific: dict[str, Any] | None
    affected: tuple[OSVAffected, ...]
    problems: tuple[Problem, ...]  # entries, ranges or versions dropped from this record


class _Invalid(Exception):
    pass


def parse_record(data: bytes, where: str) -> OSVRecord | Problem:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Problem(MALFORMED_JSON, f"{where} ({_first_line(str(exc))})")
    if not isinstance(doc, dict):
        return Problem(NOT_A_RECORD, where)
    record_id = doc.get("id")
    if not _token(record_id):
        return Problem(MISSING_ID, where)
    assert isinstance(record_id, str)
    place = f"{where} ({record_id})"
    try:
        problems: list[Problem] = []
        affected = tuple(
            entry
            for raw in _list(doc, "affected", dict)
            if (entry := _affected(raw, place, problems)) is not None
        )
        return OSVRecord(
            id=record_id,
            summary=_str(doc, "summary"),
            published=_str(doc, "published"),
            modified=_required_str(doc, "modified"),
            withdrawn=_str(doc, "withdrawn"),
            aliases=tuple(a for a in _list(doc, "aliases", str) if a and a != record_id),
            upstream=tuple(_list(doc, "upstream", str)),
            severities=_severities(doc.get("severity")),
            database_specific=_dict(doc, "database_specific"),
            affected=affected,
            problems=tuple(problems),
        )
    except _Invalid as exc:
        return Problem(INVALID_FIELD, f"{place}: {exc}")


def _affected(raw: dict[str, Any], place: str, problems: list[Problem]) -> OSVAffected | None:
    package = raw.get("package")
    if not isinstance(package, dict):
        problems.append(Problem(NO_PACKAGE, place))
        return None
    ecosystem, name = package.get("ecosystem"), package.get("name")
    if not isinstance(ecosystem, str) or not isinstance(name, str) or not name:
        raise _Invalid("affected[].package needs a string ecosystem and name")
    base = base_ecosystem(ecosystem)
    if base not in KNOWN_ECOSYSTEMS:
        problems.append(Problem(UNKNOWN_ECOSYSTEM, f"{place}: {ecosystem!r}"))
        return None
    ranges_in = raw.get("ranges", [])
    versions_in = raw.get("versions", [])
    if not isinstance(ranges_in, list) or not isinstance(versions_in, list):
        raise _Invalid("affected[].ranges and affected[].versions must be lists")
    ranges = []
    for item in ranges_in:
        parsed = _range(item)
        if parsed is None:
            problems.append(Problem(BAD_RANGE, f"{place}: {_excerpt(item)}"))
        else:
            ranges.append(parsed)
    versions = []
    for version in versions_in:
        if _token(version):
            versions.append(version)
        else:
            problems.append(Problem(BAD_VERSION, f"{place}: {_excerpt(version)}"))
    if (ranges_in or versions_in) and not ranges and not versions:
        return None  # everything it said was unusable: matching it would guess
    severity = raw.get("severity")
    purl = package.get("purl", "")
    return OSVAffected(
        ecosystem=ecosystem,
        base=base,
        name=name,
        norm_name=normalize_name(ecosystem, name),
        purl=purl if isinstance(purl, str) else "",
        ranges=tuple(ranges),
        versions=tuple(versions),
        severities=None if severity is None else _severities(severity),
        ecosystem_specific=_dict(raw, "ecosystem_specific"),
        database_specific=_dict(raw, "database_specific"),
    )


def _range(item: object) -> OSVRange | None:
    if not isinstance(item, dict):
        return None
    kind, events_in, repo = item.get("type"), item.get("events"), item.get("repo", "")
    if kind not in RANGE_TYPES or not isinstance(events_in, list) or not isinstance(repo, str):
        return None
    events = []
    for event in events_in:
        if not isinstance(event, dict) or len(event) != 1:
            return None
        ((key, value),) = event.items()
        if key not in EVENT_KINDS or not _token(value):
            return None
        events.append((key, value))
    if not any(key == "introduced" for key, _ in events):
        return None  # the schema requires one; without it the range has no start
    assert isinstance(kind, str)
    return OSVRange(kind, repo, tuple(events))


def _severities(value: object) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Invalid("severity must be a list")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise _Invalid("severity[] must be objects")
        kind, score = item.get("type"), item.get("score")
        if not isinstance(kind, str) or not isinstance(score, str):
            raise _Invalid("severity[] needs string type and score")
        out.append((kind, score))
    return tuple(out)


def _token(value: object) -> bool:
    """A plausible id or version: a short string without whitespace or control characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_TOKEN
        and value.isprintable()
        and not any(c.isspace() for c in value)
    )


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be a string")
    return value


def _required_str(doc: dict[str, Any], key: str) -> str:
    value = _str(doc, key)
    if not value:
        raise _Invalid(f"{key} is required")
    return value


def _list(doc: dict[str, Any], key: str, kind: type) -> list[Any]:
    value = doc.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, kind) for v in value):
        raise _Invalid(f"{key} must be a list of {'strings' if kind is str else 'objects'}")
    return value


def _dict(doc: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = doc.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise _Invalid(f"{key} must be an object")


def _excerpt(value: object) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:77] + "..."


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else text
