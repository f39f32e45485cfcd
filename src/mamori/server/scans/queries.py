"""Read side of the stored scans: what the console pages and the API show.

Every function takes a SQLAlchemy `Session` and returns frozen dataclasses (never ORM rows);
scan ids are strings on the outside (`parse_scan_id`), unknown ids give None.

Functions:
    list_scans(session, ScanFilter, offset, limit) -> Page[ScanSummary]  the pipeline list
    scan_summary(session, scan_id) -> ScanSummary | None
    scan_detail(session, scan_id) -> ScanDetail | None        summary, policy, previous scan id
    findings_of(session, scan_id, FindingFilter, sort, descending, offset, limit)
        -> Page[FindingRow] | None                            sort: severity, score, package, id
    ecosystems_of(session, scan_id) -> tuple[str, ...]        the choices of the filter
    packages_of(session, scan_id, text, layer, offset, limit) -> Page[PackageRow] | None
    layers_of(session, scan_id) -> tuple[LayerRow, ...]       which layer brought what
    config_issues_of(session, scan_id) -> tuple[ConfigIssueRow, ...]
    previous_scan(session, scan_id) -> ScanSummary | None     same repository, older
    compare(session, base_id, head_id, with_unchanged) -> Comparison | None
                                                              new, fixed, unchanged; packages
    unchanged_findings(session, base_id, head_id, offset, limit) -> Page[FindingRow] | None
    images(session, repository, offset, limit) -> Page[ImageRow]  latest per repository:tag
    repositories(session) -> tuple[RepositoryRow, ...]
    trend(session, repository, limit) -> tuple[TrendPoint, ...]   oldest first
    scan_document(session, scan_id) -> dict | None            the stored document

Dataclasses: Page, SeverityCount, ScanSummary, ScanFilter, ScanDetail, RuleVerdictRow,
FindingFilter, FindingRow, PackageRow, LayerRow, ConfigIssueRow, PackageChange, Comparison,
ImageRow, RepositoryRow, TrendPoint. Severities are the strings of `SEVERITIES`, worst first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

import orjson
import zstandard
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_, union
from sqlalchemy.orm import Session, aliased

from mamori.model import SeverityRating
from mamori.server.auth.tables import User
from mamori.server.scans.ingest import sha256_hex
from mamori.server.scans.tables import (
    ConfigIssue,
    ImageTag,
    PolicyVerdict,
    Repository,
    Scan,
    ScanDocument,
    ScanFinding,
    ScanLayer,
    ScanPackage,
)

T = TypeVar("T")
SEVERITIES: tuple[str, ...] = tuple(r.value for r in sorted(SeverityRating, key=lambda r: -r.rank))
SEVERITY_RANK: dict[str, int] = {r.value: r.rank for r in SeverityRating}
FindingSort = Literal["severity", "score", "package", "id"]
MAX_PAGE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


@dataclass(frozen=True)
class SeverityCount:
    severity: str
    total: int
    fixable: int  # with a fix released


@dataclass(frozen=True)
class ScanSummary:
    """A row of the pipeline list."""

    id: str
    repository: str
    tag: str
    reference: str
    digest: str
    verdict: str  # passed | failed | none (no policy evaluated)
    counts: tuple[SeverityCount, ...]  # one per severity, worst first
    accepted: int
    package_count: int
    created_at: datetime
    uploaded_at: datetime
    ci_provider: str | None
    ci_repository: str | None
    ci_commit: str | None
    ci_ref: str | None
    ci_run_url: str | None

    @property
    def total(self) -> int:
        return sum(c.total for c in self.counts)

    @property
    def fixable(self) -> int:
        return sum(c.fixable for c in self.counts)

    def count(self, severity: str) -> SeverityCount:
        return self.counts[SEVERITIES.index(severity)]


@dataclass(frozen=True)
class ScanFilter:
    repository: str | None = None  # exact name
    tag: str | None = None  # exact tag
    verdict: str | None = None  # passed | failed | none
    min_severity: str | None = None  # scans with a finding at least this severe
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    text: str | None = None  # substring of reference, tag or CI commit (case-insensitive)


@dataclass(frozen=True)
class RuleVerdictRow:
    policy: str
    rule_id: str
    kind: str
    description: str
    passed: bool
    informational: bool
    failed_findings: tuple[str, ...]  # "ID package version"
    failed_packages: tuple[str, ...]  # "name version"


@dataclass(frozen=True)
class ScanDetail:
    summary: ScanSummary
    config_digest: str
    os: str
    db_built_at: str  # "" when the document names no database
    uploader: str | None
    policy: tuple[RuleVerdictRow, ...]  # failing rules first, informational failures next
    layer_count: int
    previous_id: str | None  # the previous scan of the same repository


@dataclass(frozen=True)
class FindingFilter:
    severities: tuple[str, ...] = ()  # empty: all
    fixable: bool | None = None
    package: str | None = None  # substring of the package name
    ecosystem: str | None = None  # exact (e.g. "npm", "Debian:12")
    text: str | None = None  # substring of id, title, package name
    layer: int | None = None


@dataclass(frozen=True)
class FindingRow:
    vuln_id: str
    aliases: tuple[str, ...]
    package_name: str
    package_version: str
    package_type: str
    ecosystem: str
    purl: str
    layer_index: int | None
    severity: str
    score: float | None
    status: str  # fixed | not-fixed | wont-fix
    fixed_version: str
    title: str
    accepted: bool

    @property
    def fixable(self) -> bool:
        return self.status == "fixed"

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two scans' findings "the same": vulnerability and package."""
        return (self.vuln_id, self.package_name, self.package_type)


@dataclass(frozen=True)
class PackageRow:
    name: str
    version: str
    type: str
    ecosystem: str
    purl: str
    layer_index: int | None
    path: str
    finding_count: int
    worst_severity: str | None


@dataclass(frozen=True)
class LayerRow:
    index: int
    digest: str
    created_by: str
    size: int
    package_count: int
    counts: tuple[SeverityCount, ...]  # findings of the packages this layer brought

    @property
    def finding_count(self) -> int:
        return sum(c.total for c in self.counts)


@dataclass(frozen=True)
class ConfigIssueRow:
    check: str
    detail: str
    informational: bool


@dataclass(frozen=True)
class PackageChange:
    name: str
    type: str
    base_versions: tuple[str, ...]
    head_versions: tuple[str, ...]


@dataclass(frozen=True)
class Comparison:
    base: ScanSummary
    head: ScanSummary
    new: tuple[FindingRow, ...]  # in head only
    fixed: tuple[FindingRow, ...]  # in base only (base's rows)
    unchanged: tuple[FindingRow, ...]  # in both (head's rows); empty unless asked for
    unchanged_total: int
    packages_added: tuple[PackageRow, ...]
    packages_removed: tuple[PackageRow, ...]
    packages_changed: tuple[PackageChange, ...]


@dataclass(frozen=True)
class ImageRow:
    repository: str
    tag: str
    latest: ScanSummary
    scans: int  # scans of this repository:tag


@dataclass(frozen=True, order=True)
class RepositoryRow:
    name: str
    scans: int
    last_scan_at: datetime


@dataclass(frozen=True)
class TrendPoint:
    scan_id: str
    created_at: datetime
    tag: str
    verdict: str
    counts: tuple[SeverityCount, ...] = field(default=())


def parse_scan_id(scan_id: str | int) -> int | None:
    if isinstance(scan_id, int):
        return scan_id
    return int(scan_id) if scan_id.isascii() and scan_id.isdigit() and len(scan_id) < 10 else None


def _clamp(offset: int, limit: int) -> tuple[int, int]:
    return max(offset, 0), min(max(limit, 1), MAX_PAGE)


# -- scans -----------------------------------------------------------------------------------

_SUMMARY_COLUMNS = (  # ScanSummary's fields but the counts, then totals and fixable counts
    Scan.id,
    Repository.name,
    Scan.tag,
    Scan.reference,
    Scan.digest,
    Scan.verdict,
    Scan.accepted,
    Scan.package_count,
    Scan.created_at,
    Scan.uploaded_at,
    Scan.ci_provider,
    Scan.ci_repository,
    Scan.ci_commit,
    Scan.ci_ref,
    Scan.ci_run_url,
    *(getattr(Scan, s) for s in SEVERITIES),
    *(getattr(Scan, f"{s}_fixable") for s in SEVERITIES),
)
_FIELDS = len(_SUMMARY_COLUMNS) - 2 * len(SEVERITIES)


def _summary(row: Sequence[Any]) -> ScanSummary:
    """A row of `_SUMMARY_COLUMNS` (plain columns: no ORM entities to build)."""
    fields, totals = row[:_FIELDS], row[_FIELDS:]
    counts = tuple(
        SeverityCount(s, totals[n], totals[n + len(SEVERITIES)]) for n, s in enumerate(SEVERITIES)
    )
    scan_id, repository, tag, reference, digest, verdict, accepted, packages = fields[:8]
    created_at, uploaded_at, provider, ci_repository, commit, ref, run_url = fields[8:]
    return ScanSummary(
        id=str(scan_id),
        repository=repository,
        tag=tag,
        reference=reference,
        digest=digest,
        verdict=verdict,
        counts=counts,
        accepted=accepted,
        package_count=packages,
        created_at=created_at,
        uploaded_at=uploaded_at,
        ci_provider=provider,
        ci_repository=ci_repository,
        ci_commit=commit,
        ci_ref=ref,
        ci_run_url=run_url,
    )


def _summaries_query() -> Select[Any]:
    return select(*_SUMMARY_COLUMNS).join(Repository, Repository.id == Scan.repository_id)


NEWEST_FIRST = (Scan.created_at.desc(), Scan.id.desc())


def _aware(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _scan_conditions(filters: ScanFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.repository is not None:
        conditions.append(Repository.name_key == sha256_hex(filters.repository))
    if filters.tag is not None:
        conditions.append(Scan.tag_key == sha256_hex(filters.tag))
    if filters.verdict is not None:
        conditions.append(Scan.verdict == filters.verdict)
    if filters.min_severity is not None:
        conditions.append(Scan.worst_rank >= SEVERITY_RANK[filters.min_severity])
    if filters.since is not None:
        conditions.append(Scan.created_at >= _aware(filters.since))
    if filters.until is not None:
        conditions.append(Scan.created_at < _aware(filters.until))
    if filters.text:
        conditions.append(
            or_(
                *(
                    column.icontains(filters.text, autoescape=True)
                    for column in (Scan.reference, Scan.tag, Scan.ci_commit)
                )
            )
        )
    return conditions


def list_scans(
    session: Session, filters: ScanFilter = ScanFilter(), *, offset: int = 0, limit: int = 50
) -> Page[ScanSummary]:
    """Scans newest first, filtered, one page of them with the total."""
    offset, limit = _clamp(offset, limit)
    conditions = _scan_conditions(filters)
    counted = select(func.count()).select_from(Scan)
    if filters.repository is not None:
        counted = counted.join(Repository, Repository.id == Scan.repository_id)
    total = session.scalar(counted.where(*conditions)) or 0
    rows = session.execute(
        _summaries_query().where(*conditions).order_by(*NEWEST_FIRST).offset(offset).limit(limit)
    )
    return Page(tuple(_summary(row) for row in rows), total, offset, limit)


def scan_summary(session: Session, scan_id: str | int) -> ScanSummary | None:
    number = parse_scan_id(scan_id)
    if number is None:
        return None
    row = session.execute(_summaries_query().where(Scan.id == number)).first()
    return None if row is None else _summary(row)


def scan_detail(session: Session, scan_id: str | int) -> ScanDetail | None:
    number = parse_scan_id(scan_id)
    scan = None if number is None else session.get(Scan, number)
    summary = None if number is None else scan_summary(session, number)
    if scan is None or summary is None:
        return None
    verdicts = session.scalars(
        select(PolicyVerdict)
        .where(PolicyVerdict.scan_id == scan.id)
        .order_by(PolicyVerdict.passed, PolicyVerdict.informational, PolicyVerdict.position)
    )
    uploader = (
        None
        if scan.uploader_id is None
        else session.scalar(select(User.username).where(User.id == scan.uploader_id))
    )
    layer_count = session.scalar(
        select(func.count()).select_from(ScanLayer).where(ScanLayer.scan_id == scan.id)
    )
    previous = _previous(session, scan)
    return ScanDetail(
        summary=summary,
        config_digest=scan.config_digest,
        os=scan.os,
        db_built_at=scan.db_built_at,
        uploader=uploader,
        policy=tuple(
            RuleVerdictRow(
                policy=v.policy,
                rule_id=v.rule_id,
                kind=v.kind,
                description=v.description,
                passed=v.passed,
                informational=v.informational,
                failed_findings=tuple(v.failed_findings),
                failed_packages=tuple(v.failed_packages),
            )
            for v in verdicts
        ),
        layer_count=layer_count or 0,
        previous_id=None if previous is None else previous.id,
    )


def _previous(session: Session, scan: Scan) -> ScanSummary | None:
    older = or_(
        Scan.created_at < scan.created_at,
        and_(Scan.created_at == scan.created_at, Scan.id < scan.id),
    )
    query = (
        _summaries_query()
        .where(Scan.repository_id == scan.repository_id, older)
        .order_by(*NEWEST_FIRST)
        .limit(1)
    )
    row = session.execute(query).first()
    return None if row is None else _summary(row)


def previous_scan(session: Session, scan_id: str | int) -> ScanSummary | None:
    """The newest scan of the same repository before this one."""
    number = parse_scan_id(scan_id)
    scan = None if number is None else session.get(Scan, number)
    return None if scan is None else _previous(session, scan)


def scan_document(session: Session, scan_id: str | int) -> dict[str, Any] | None:
    """The `mamori.scan/v1` document as uploaded (canonical form)."""
    number = parse_scan_id(scan_id)
    if number is None:
        return None
    blob = session.scalar(select(ScanDocument.zstd).where(ScanDocument.scan_id == number))
    if blob is None:
        return None
    document: dict[str, Any] = orjson.loads(zstandard.ZstdDecompressor().decompress(blob))
    return document


# -- findings, packages, layers, config ------------------------------------------------------

_FINDING_ORDER: dict[str, tuple[Any, ...]] = {
    "severity": (ScanFinding.severity_rank, ScanFinding.score),
    "score": (ScanFinding.score, ScanFinding.severity_rank),
    "package": (ScanFinding.package_name, ScanFinding.package_version),
    "id": (ScanFinding.vuln_id,),
}


_FINDING_COLUMNS = (  # in FindingRow's field order
    ScanFinding.vuln_id,
    ScanFinding.aliases,
    ScanFinding.package_name,
    ScanFinding.package_version,
    ScanFinding.package_type,
    ScanFinding.ecosystem,
    ScanFinding.purl,
    ScanFinding.layer_index,
    ScanFinding.severity,
    ScanFinding.score,
    ScanFinding.status,
    ScanFinding.fixed_version,
    ScanFinding.title,
    ScanFinding.accepted,
)


def _finding_row(row: Sequence[Any]) -> FindingRow:
    """A row of `_FINDING_COLUMNS` (plain columns load several times faster than entities)."""
    vuln_id, aliases, *rest = row
    return FindingRow(vuln_id, tuple(orjson.loads(aliases)), *rest)


def _finding_conditions(scan: int, filters: FindingFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [ScanFinding.scan_id == scan]
    if filters.severities:
        ranks = [SEVERITY_RANK[s] for s in filters.severities]
        conditions.append(ScanFinding.severity_rank.in_(ranks))
    if filters.fixable is not None:
        fixed = ScanFinding.status == "fixed"
        conditions.append(fixed if filters.fixable else ~fixed)
    if filters.package:
        conditions.append(ScanFinding.package_name.icontains(filters.package, autoescape=True))
    if filters.ecosystem:
        conditions.append(
            or_(
                ScanFinding.ecosystem == filters.ecosystem,
                ScanFinding.package_type == filters.ecosystem,
            )
        )
    if filters.layer is not None:
        conditions.append(ScanFinding.layer_index == filters.layer)
    if filters.text:
        conditions.append(
            or_(
                *(
                    column.icontains(filters.text, autoescape=True)
                    for column in (ScanFinding.vuln_id, ScanFinding.title, ScanFinding.package_name)
                )
            )
        )
    return conditions


def findings_of(
    session: Session,
    scan_id: str | int,
    filters: FindingFilter = FindingFilter(),
    sort: FindingSort = "severity",
    *,
    descending: bool | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page[FindingRow] | None:
    """A scan's findings, filtered and sorted; `descending` defaults to worst first for
    severity and score, alphabetical for package and id."""
    number = parse_scan_id(scan_id)
    if number is None or not _exists(session, number):
        return None
    offset, limit = _clamp(offset, limit)
    if descending is None:
        descending = sort in ("severity", "score")
    conditions = _finding_conditions(number, filters)
    total = session.scalar(select(func.count()).select_from(ScanFinding).where(*conditions))
    keys = [
        *(
            c.desc().nulls_last() if descending else c.asc().nulls_last()
            for c in _FINDING_ORDER[sort]
        ),
        ScanFinding.position,
    ]
    rows = session.execute(
        select(*_FINDING_COLUMNS).where(*conditions).order_by(*keys).offset(offset).limit(limit)
    )
    return Page(tuple(_finding_row(f) for f in rows), total or 0, offset, limit)


def _exists(session: Session, scan: int) -> bool:
    return session.scalar(select(Scan.id).where(Scan.id == scan)) is not None


def ecosystems_of(session: Session, scan_id: str | int) -> tuple[str, ...]:
    """The ecosystems the scan's findings are in, sorted."""
    number = parse_scan_id(scan_id)
    if number is None:
        return ()
    return tuple(
        session.scalars(
            select(ScanFinding.ecosystem)
            .where(ScanFinding.scan_id == number)
            .distinct()
            .order_by(ScanFinding.ecosystem)
        )
    )


def _finding_stats(session: Session, scan: int) -> dict[int, tuple[int, int]]:
    """Per package index: (number of findings, worst severity rank)."""
    rows = session.execute(
        select(ScanFinding.package_index, func.count(), func.max(ScanFinding.severity_rank))
        .where(ScanFinding.scan_id == scan)
        .group_by(ScanFinding.package_index)
    )
    return {index: (count, worst) for index, count, worst in rows}


_RANK_SEVERITY = {rank: name for name, rank in SEVERITY_RANK.items()}


_PACKAGE_COLUMNS = (  # the position, then in PackageRow's field order
    ScanPackage.position,
    ScanPackage.name,
    ScanPackage.version,
    ScanPackage.type,
    ScanPackage.ecosystem,
    ScanPackage.purl,
    ScanPackage.layer_index,
    ScanPackage.path,
)


def _package_row(row: Sequence[Any], stats: dict[int, tuple[int, int]]) -> PackageRow:
    position, name, version, type_, ecosystem, purl, layer, path = row
    count, worst = stats.get(position, (0, -1))
    return PackageRow(
        name, version, type_, ecosystem, purl, layer, path, count, _RANK_SEVERITY.get(worst)
    )


def packages_of(
    session: Session,
    scan_id: str | int,
    *,
    text: str | None = None,
    layer: int | None = None,
    offset: int = 0,
    limit: int = 200,
) -> Page[PackageRow] | None:
    """A scan's packages in document order (ecosystem, name, version), with finding counts."""
    number = parse_scan_id(scan_id)
    if number is None or not _exists(session, number):
        return None
    offset, limit = _clamp(offset, limit)
    conditions: list[ColumnElement[bool]] = [ScanPackage.scan_id == number]
    if text:
        conditions.append(
            or_(
                ScanPackage.name.icontains(text, autoescape=True),
                ScanPackage.purl.icontains(text, autoescape=True),
            )
        )
    if layer is not None:
        conditions.append(ScanPackage.layer_index == layer)
    total = session.scalar(select(func.count()).select_from(ScanPackage).where(*conditions))
    rows = session.execute(
        select(*_PACKAGE_COLUMNS)
        .where(*conditions)
        .order_by(ScanPackage.position)
        .offset(offset)
        .limit(limit)
    )
    stats = _finding_stats(session, number)
    return Page(tuple(_package_row(p, stats) for p in rows), total or 0, offset, limit)


def _severity_counts(pairs: Iterable[tuple[str, bool]]) -> tuple[SeverityCount, ...]:
    totals: dict[str, int] = defaultdict(int)
    fixable: dict[str, int] = defaultdict(int)
    for severity, fixed in pairs:
        totals[severity] += 1
        fixable[severity] += fixed
    return tuple(SeverityCount(s, totals[s], fixable[s]) for s in SEVERITIES)


def layers_of(session: Session, scan_id: str | int) -> tuple[LayerRow, ...]:
    """The image's layers, base first, each with the packages and findings it brought."""
    number = parse_scan_id(scan_id)
    if number is None:
        return ()
    layers = session.scalars(
        select(ScanLayer).where(ScanLayer.scan_id == number).order_by(ScanLayer.index)
    ).all()
    packages = dict(
        session.execute(
            select(ScanPackage.layer_index, func.count())
            .where(ScanPackage.scan_id == number)
            .group_by(ScanPackage.layer_index)
        ).all()
    )
    findings: dict[int | None, list[tuple[str, bool]]] = defaultdict(list)
    for index, severity, status in session.execute(
        select(ScanFinding.layer_index, ScanFinding.severity, ScanFinding.status).where(
            ScanFinding.scan_id == number
        )
    ):
        findings[index].append((severity, status == "fixed"))
    return tuple(
        LayerRow(
            index=layer.index,
            digest=layer.digest,
            created_by=layer.created_by,
            size=layer.size,
            package_count=packages.get(layer.index, 0),
            counts=_severity_counts(findings[layer.index]),
        )
        for layer in layers
    )


def config_issues_of(session: Session, scan_id: str | int) -> tuple[ConfigIssueRow, ...]:
    number = parse_scan_id(scan_id)
    if number is None:
        return ()
    rows = session.scalars(
        select(ConfigIssue)
        .where(ConfigIssue.scan_id == number)
        .order_by(ConfigIssue.informational, ConfigIssue.id)
    )
    return tuple(ConfigIssueRow(r.check, r.detail, r.informational) for r in rows)


# -- compare ---------------------------------------------------------------------------------
# Set-based: the other scan's keys are an uncorrelated `IN (SELECT …)` that both databases
# evaluate once into a transient hash or b-tree, so no rows are diffed in Python and no index on
# (possibly very long) names is needed.

_COMPARE_ORDER = (ScanFinding.severity_rank.desc(), ScanFinding.position)
# Aliases for the other scan's rows (and, in `_changed_packages`, the outer query's): built once,
# as an ORM alias built per query costs milliseconds.
_THEIR_FINDINGS = aliased(ScanFinding, name="their_findings")
_THEIR_PACKAGES = aliased(ScanPackage, name="their_packages")
_CHANGED_PACKAGES = aliased(ScanPackage, name="changed_packages")


def _findings_against(scan: int, other: int, *, in_other: bool) -> list[ColumnElement[bool]]:
    """`scan`'s findings whose key (vulnerability, package name and type) is, or is not, also
    a key of `other`'s findings."""
    keys = select(
        _THEIR_FINDINGS.vuln_id, _THEIR_FINDINGS.package_name, _THEIR_FINDINGS.package_type
    ).where(_THEIR_FINDINGS.scan_id == other)
    key = tuple_(ScanFinding.vuln_id, ScanFinding.package_name, ScanFinding.package_type)
    return [ScanFinding.scan_id == scan, key.in_(keys) if in_other else key.not_in(keys)]


def _compared_findings(
    session: Session,
    conditions: list[ColumnElement[bool]],
    *,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[FindingRow, ...]:
    rows = session.execute(
        select(*_FINDING_COLUMNS)
        .where(*conditions)
        .order_by(*_COMPARE_ORDER)
        .offset(offset)
        .limit(limit)
    )
    return tuple(_finding_row(f) for f in rows)


def _count_findings(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(ScanFinding).where(*conditions)) or 0


def _packages_against(scan: int, other: int) -> list[ColumnElement[bool]]:
    """`scan`'s packages with no package of the same name and type in `other`."""
    keys = select(_THEIR_PACKAGES.name, _THEIR_PACKAGES.type).where(
        _THEIR_PACKAGES.scan_id == other
    )
    return [ScanPackage.scan_id == scan, tuple_(ScanPackage.name, ScanPackage.type).not_in(keys)]


def _packages_only_in(session: Session, scan: int, other: int) -> tuple[PackageRow, ...]:
    rows = session.execute(
        select(*_PACKAGE_COLUMNS)
        .where(*_packages_against(scan, other))
        .order_by(ScanPackage.position)
    ).all()
    stats = _finding_stats(session, scan) if rows else {}
    return tuple(_package_row(p, stats) for p in rows)


def _versions_not_in(scan: int, other: int) -> Select[str, str]:
    """(name, type) of `scan`'s packages present in `other` but with a version `other` lacks."""
    names = select(_THEIR_PACKAGES.name, _THEIR_PACKAGES.type).where(
        _THEIR_PACKAGES.scan_id == other
    )
    versions = select(_THEIR_PACKAGES.name, _THEIR_PACKAGES.type, _THEIR_PACKAGES.version).where(
        _THEIR_PACKAGES.scan_id == other
    )
    return select(ScanPackage.name, ScanPackage.type).where(
        ScanPackage.scan_id == scan,
        tuple_(ScanPackage.name, ScanPackage.type).in_(names),
        tuple_(ScanPackage.name, ScanPackage.type, ScanPackage.version).not_in(versions),
    )


def _changed_packages(session: Session, base: int, head: int) -> tuple[PackageChange, ...]:
    """Packages in both scans whose sets of versions differ, by name and type."""
    changed = union(_versions_not_in(head, base), _versions_not_in(base, head)).subquery()
    rows = session.execute(
        select(
            _CHANGED_PACKAGES.scan_id,
            _CHANGED_PACKAGES.name,
            _CHANGED_PACKAGES.type,
            _CHANGED_PACKAGES.version,
        ).where(
            _CHANGED_PACKAGES.scan_id.in_((base, head)),
            tuple_(_CHANGED_PACKAGES.name, _CHANGED_PACKAGES.type).in_(
                select(changed.c.name, changed.c.type)
            ),
        )
    )
    versions: dict[tuple[str, str], tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for scan, name, type_, version in rows:
        versions[(name, type_)][scan == head].add(version)
    return tuple(
        PackageChange(name, type_, tuple(sorted(old)), tuple(sorted(new)))
        for (name, type_), (old, new) in sorted(versions.items())
    )


def compare(
    session: Session, base_id: str | int, head_id: str | int, *, with_unchanged: bool = True
) -> Comparison | None:
    """What changed from `base` to `head`: findings by (id, package name, type); packages by
    (name, type), a package whose set of versions differs counted as changed. Without
    `with_unchanged` only the unchanged findings' count is read (`unchanged_findings` pages
    through them)."""
    base, head = scan_summary(session, base_id), scan_summary(session, head_id)
    if base is None or head is None:
        return None
    old, new = int(base.id), int(head.id)
    kept = _findings_against(new, old, in_other=True)
    unchanged = _compared_findings(session, kept) if with_unchanged else ()
    return Comparison(
        base=base,
        head=head,
        new=_compared_findings(session, _findings_against(new, old, in_other=False)),
        fixed=_compared_findings(session, _findings_against(old, new, in_other=False)),
        unchanged=unchanged,
        unchanged_total=len(unchanged) if with_unchanged else _count_findings(session, kept),
        packages_added=_packages_only_in(session, new, old),
        packages_removed=_packages_only_in(session, old, new),
        packages_changed=_changed_packages(session, old, new),
    )


def unchanged_findings(
    session: Session,
    base_id: str | int,
    head_id: str | int,
    *,
    offset: int = 0,
    limit: int = 100,
) -> Page[FindingRow] | None:
    """A page of the findings `head` shares with `base` (head's rows, worst first)."""
    base, head = parse_scan_id(base_id), parse_scan_id(head_id)
    if base is None or head is None or not (_exists(session, base) and _exists(session, head)):
        return None
    offset, limit = _clamp(offset, limit)
    kept = _findings_against(head, base, in_other=True)
    rows = _compared_findings(session, kept, offset=offset, limit=limit)
    return Page(rows, _count_findings(session, kept), offset, limit)


# -- images, repositories, trend -------------------------------------------------------------


def images(
    session: Session, repository: str | None = None, *, offset: int = 0, limit: int = 50
) -> Page[ImageRow]:
    """The latest scan of every repository:tag, newest first."""
    offset, limit = _clamp(offset, limit)
    conditions: list[ColumnElement[bool]] = []
    if repository is not None:
        conditions.append(Repository.name_key == sha256_hex(repository))
    total = session.scalar(
        select(func.count())
        .select_from(ImageTag)
        .join(Repository, Repository.id == ImageTag.repository_id)
        .where(*conditions)
    )
    rows = session.execute(
        _summaries_query()
        .add_columns(ImageTag.scans)
        .join(ImageTag, ImageTag.latest_scan_id == Scan.id)
        .where(*conditions)
        .order_by(ImageTag.latest_created_at.desc(), ImageTag.latest_scan_id.desc())
        .offset(offset)
        .limit(limit)
    )
    items = tuple(
        ImageRow(summary.repository, summary.tag, summary, row[-1])
        for row in rows
        for summary in (_summary(row[:-1]),)
    )
    return Page(items, total or 0, offset, limit)


def repositories(session: Session) -> tuple[RepositoryRow, ...]:
    """Every repository with scans, by name (code point order)."""
    rows = session.execute(
        select(Repository.name, func.count(Scan.id), func.max(Scan.created_at))
        .join(Scan, Scan.repository_id == Repository.id)
        .group_by(Repository.id, Repository.name)
    )
    # Sorted here: database collations disagree on punctuation.
    return tuple(sorted(RepositoryRow(name, count, last) for name, count, last in rows))


def trend(session: Session, repository: str, *, limit: int = 200) -> tuple[TrendPoint, ...]:
    """The repository's last `limit` scans, oldest first, with their counts per severity."""
    _, limit = _clamp(0, limit)
    rows = session.execute(
        _summaries_query()
        .where(Repository.name_key == sha256_hex(repository))
        .order_by(*NEWEST_FIRST)
        .limit(limit)
    )
    points = [
        TrendPoint(s.id, s.created_at, s.tag, s.verdict, s.counts)
        for s in (_summary(row) for row in rows)
    ]
    return tuple(reversed(points))
