"""Installed packages → findings.

For each package: look up its query (see queries.py), evaluate every non-withdrawn advisory's
ranges with the ecosystem's version scheme, then merge the advisories that name each other
(CVE, GHSA, PYSEC, DSA, USN … are aliases of one vulnerability) into one finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mamori.match.queries import Query, query_for
from mamori.match.ranges import evaluate
from mamori.match.severity import severity_of
from mamori.model import Finding, FindingStatus, Package, PackageType, Severity
from mamori.versions import scheme_for
from mamori.versions.interface import InvalidVersion, VersionScheme
from mamori.vulndb.reader import AffectedEntry, VulnDB

OS_TYPES = (PackageType.DEB, PackageType.APK, PackageType.RPM)
_ID_PREFERENCE = ("CVE-", "GHSA-")  # the id a finding is known by, when the group has one


@dataclass
class MatchResult:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Hit:
    entry: AffectedEntry
    fixed_version: str


def match_packages(packages: Iterable[Package], db: VulnDB) -> MatchResult:
    result = MatchResult()
    cache: dict[Query, list[list[_Hit]]] = {}  # the alias groups of each query's hits
    unknown: set[str] = set()
    unparseable = 0
    for package in packages:
        query = query_for(package)
        if query is None:
            continue
        groups = cache.get(query)
        if groups is None:
            try:
                scheme = scheme_for(query.ecosystem)
            except KeyError:
                unknown.add(query.ecosystem)
                continue
            hits, bad = _hits(db.affected(query.ecosystem, query.name), scheme, query.version)
            unparseable += bad
            groups = cache[query] = _alias_groups(hits)
        for group in groups:
            result.findings.append(_finding(package, query, group, scheme_for(query.ecosystem)))
    for ecosystem in sorted(unknown):
        result.warnings.append(f"no version rules for ecosystem {ecosystem!r}: not matched")
    if unparseable:
        result.warnings.append(
            f"{unparseable} advisory ranges could not be read with their ecosystem's version "
            "rules and were skipped"
        )
    result.findings.sort(key=lambda f: (-f.severity.rating.rank, f.package.name, f.id))
    return result


def _hits(
    entries: Sequence[AffectedEntry], scheme: VersionScheme, version: str
) -> tuple[list[_Hit], int]:
    hits: list[_Hit] = []
    unparseable = 0
    for entry in entries:
        if entry.withdrawn:
            continue
        verdict = evaluate(scheme, version, entry.ranges, entry.versions)
        unparseable += verdict.unparseable
        if verdict.affected:
            hits.append(_Hit(entry, verdict.fixed_version))
    return hits, unparseable


# key -> (ids, hits); keys grow, so the dict's order is the order groups last changed in
_Groups = dict[int, tuple[set[str], list[_Hit]]]


def _alias_groups(hits: list[_Hit]) -> list[list[_Hit]]:
    """Hits whose id sets overlap, directly or through another hit, form one group.

    A distribution advisory that fixes one upstream vulnerability (a DSA with one CVE) joins
    that CVE's group. One that fixes several joins none, since it would merge distinct
    vulnerabilities; when every CVE it names is reported anyway it is folded into those
    findings instead of being reported on its own.

    Groups are found through an index of the ids they hold: a package with thousands of
    advisories (Debian's linux) must not cost a scan over every group per advisory."""
    groups: _Groups = {}
    owner: dict[str, int] = {}  # id -> key of the group holding it
    bundles: list[_Hit] = []
    for key, hit in enumerate(hits):
        if len(hit.entry.upstream) > 1 and not hit.entry.aliases:
            bundles.append(hit)
            continue
        _join(groups, owner, _ids(hit), [hit], key)
    for key, hit in enumerate(bundles, len(hits)):
        upstream = set(hit.entry.upstream)
        if all(name in owner for name in upstream):
            for covering in sorted({owner[name] for name in upstream}):
                ids, members = groups[covering]
                members.append(hit)
                ids.add(hit.entry.advisory_id)
        else:
            _join(groups, owner, _ids(hit), [hit], key)
    return [members for _, members in groups.values()]


def _ids(hit: _Hit) -> set[str]:
    entry = hit.entry
    upstream = set(entry.upstream) if len(entry.upstream) == 1 else set()
    return {entry.advisory_id, *entry.aliases, *upstream}


def _join(
    groups: _Groups, owner: dict[str, int], ids: set[str], hits: list[_Hit], key: int
) -> None:
    """Merge `hits` (known by `ids`) with every group sharing an id, as group `key`."""
    joined = sorted({owner[name] for name in ids if name in owner})
    merged_ids = ids.union(*(groups[k][0] for k in joined))
    merged_hits = [h for k in joined for h in groups.pop(k)[1]] + hits
    groups[key] = (merged_ids, merged_hits)
    for name in merged_ids:
        owner[name] = key


def _preferred_id(ids: set[str]) -> str:
    for prefix in _ID_PREFERENCE:
        chosen = sorted(i for i in ids if i.startswith(prefix))
        if chosen:
            return chosen[0]
    return sorted(ids)[0]


def _finding(package: Package, query: Query, group: list[_Hit], scheme: VersionScheme) -> Finding:
    ids = {i for hit in group for i in _ids(hit)}
    chosen = _preferred_id(ids)
    fixes = [hit.fixed_version for hit in group if hit.fixed_version]
    fixed = max(fixes, key=lambda v: _safe_key(scheme, v)) if fixes else ""
    severities = [
        severity_of(
            hit.entry.advisory_id,
            hit.entry.severities,
            hit.entry.database_specific,
            hit.entry.ecosystem_specific,
            os_package=package.type in OS_TYPES,
        )
        for hit in group
    ]
    worst: Severity = max(severities, key=lambda s: (s.rating.rank, s.score or 0.0))
    entries = [hit.entry for hit in group]
    return Finding(
        id=chosen,
        aliases=tuple(sorted(ids - {chosen})),
        package=package,
        installed_version=query.version,
        fixed_version=fixed,
        status=FindingStatus.FIXED if fixed else FindingStatus.NOT_FIXED,
        severity=worst,
        summary=next((e.summary for e in entries if e.summary), ""),
        published=min((e.published for e in entries if e.published), default=""),
        modified=max((e.modified for e in entries if e.modified), default=""),
        advisories=tuple(sorted(e.advisory_id for e in entries)),
        matched_as=str(query),
    )


def _safe_key(scheme: VersionScheme, version: str) -> tuple[int, object]:
    try:
        return (1, scheme.key(version))
    except InvalidVersion:
        return (0, version)
