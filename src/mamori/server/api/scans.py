"""Pipeline scans: upload (`mamori.scan/v1`), list, detail, findings, packages, layers, compare,
images (latest verdict per repository:tag) and the trend of a repository.

Uploading needs the "scan:write" scope, everything else "read". The request body size limit is
the app's (413); a body that is not a valid scan document gets 400 with one line naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from mamori.server.auth.deps import require_scope
from mamori.server.auth.principal import Principal
from mamori.server.deps import DbSession, app_settings
from mamori.server.scans import queries
from mamori.server.scans.ingest import DocumentError, parse_scan_document, store_scan
from mamori.server.settings import Settings

router = APIRouter(prefix="/api/v1", tags=["scans"])

Severity = Literal["critical", "high", "medium", "low", "negligible", "unknown"]
Reader = Annotated[Principal, Depends(require_scope("read"))]
Db = DbSession
Offset = Annotated[int, Query(ge=0)]


def _limit(default: int) -> Any:
    return Query(default, ge=1, le=queries.MAX_PAGE)


class Uploaded(BaseModel):
    id: str
    url: str
    created: bool


class Counts(BaseModel):
    total: int
    fixable: int


class CIContext(BaseModel):
    provider: str | None
    repository: str | None
    commit: str | None
    ref: str | None
    run_url: str | None


class ScanItem(BaseModel):
    id: str
    url: str
    repository: str
    tag: str
    reference: str
    digest: str
    verdict: str
    counts: dict[str, Counts]
    findings: int
    fixable: int
    accepted: int
    packages: int
    created_at: datetime
    uploaded_at: datetime
    ci: CIContext | None


class ScanList(BaseModel):
    items: list[ScanItem]
    total: int
    offset: int
    limit: int


class RuleVerdict(BaseModel):
    policy: str
    rule_id: str
    kind: str
    description: str
    passed: bool
    informational: bool
    failed_findings: list[str]
    failed_packages: list[str]


class ConfigIssue(BaseModel):
    check: str
    detail: str
    informational: bool


class ScanDetail(ScanItem):
    config_digest: str
    os: str
    db_built_at: str
    uploader: str | None
    layers: int
    previous_id: str | None
    policy: list[RuleVerdict]
    config_issues: list[ConfigIssue]


class Finding(BaseModel):
    id: str
    aliases: list[str]
    package: str
    version: str
    type: str
    ecosystem: str
    purl: str
    layer: int | None
    severity: str
    score: float | None
    status: str
    fixed_version: str
    title: str
    accepted: bool


class FindingList(BaseModel):
    items: list[Finding]
    total: int
    offset: int
    limit: int


class Package(BaseModel):
    name: str
    version: str
    type: str
    ecosystem: str
    purl: str
    layer: int | None
    path: str
    findings: int
    worst_severity: str | None


class PackageList(BaseModel):
    items: list[Package]
    total: int
    offset: int
    limit: int


class Layer(BaseModel):
    index: int
    digest: str
    created_by: str
    size: int
    packages: int
    counts: dict[str, Counts]


class PackageChange(BaseModel):
    name: str
    type: str
    base_versions: list[str]
    head_versions: list[str]


class Comparison(BaseModel):
    base: ScanItem
    head: ScanItem
    new: list[Finding]
    fixed: list[Finding]
    unchanged: list[Finding]
    packages_added: list[Package]
    packages_removed: list[Package]
    packages_changed: list[PackageChange]


class Image(BaseModel):
    repository: str
    tag: str
    scans: int
    latest: ScanItem


class ImageList(BaseModel):
    items: list[Image]
    total: int
    offset: int
    limit: int


class RepositoryItem(BaseModel):
    name: str
    scans: int
    last_scan_at: datetime


class TrendPoint(BaseModel):
    scan_id: str
    created_at: datetime
    tag: str
    verdict: str
    counts: dict[str, Counts]


class Trend(BaseModel):
    repository: str
    points: list[TrendPoint]


def _counts(counts: tuple[queries.SeverityCount, ...]) -> dict[str, Counts]:
    return {c.severity: Counts(total=c.total, fixable=c.fixable) for c in counts}


def _scan_item(summary: queries.ScanSummary, settings: Settings) -> dict[str, Any]:
    has_ci = summary.ci_provider is not None
    return {
        "id": summary.id,
        "url": settings.absolute_url(f"/scans/{summary.id}"),
        "repository": summary.repository,
        "tag": summary.tag,
        "reference": summary.reference,
        "digest": summary.digest,
        "verdict": summary.verdict,
        "counts": _counts(summary.counts),
        "findings": summary.total,
        "fixable": summary.fixable,
        "accepted": summary.accepted,
        "packages": summary.package_count,
        "created_at": summary.created_at,
        "uploaded_at": summary.uploaded_at,
        "ci": CIContext(
            provider=summary.ci_provider,
            repository=summary.ci_repository,
            commit=summary.ci_commit,
            ref=summary.ci_ref,
            run_url=summary.ci_run_url,
        )
        if has_ci
        else None,
    }


def _finding(f: queries.FindingRow) -> Finding:
    return Finding(
        id=f.vuln_id,
        aliases=list(f.aliases),
        package=f.package_name,
        version=f.package_version,
        type=f.package_type,
        ecosystem=f.ecosystem,
        purl=f.purl,
        layer=f.layer_index,
        severity=f.severity,
        score=f.score,
        status=f.status,
        fixed_version=f.fixed_version,
        title=f.title,
        accepted=f.accepted,
    )


def _package(p: queries.PackageRow) -> Package:
    return Package(
        name=p.name,
        version=p.version,
        type=p.type,
        ecosystem=p.ecosystem,
        purl=p.purl,
        layer=p.layer_index,
        path=p.path,
        findings=p.finding_count,
        worst_severity=p.worst_severity,
    )


def _missing(scan_id: str) -> HTTPException:
    return HTTPException(404, f"no scan {scan_id[:64]!r}")


async def _body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/scans",
    response_model=Uploaded,
    status_code=201,
    responses={200: {"model": Uploaded, "description": "The same document was stored before."}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"description": "mamori.scan/v1"}}},
        }
    },
)
def upload_scan(
    principal: Annotated[Principal, Depends(require_scope("scan:write"))],
    session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
    body: Annotated[bytes, Depends(_body)],
) -> JSONResponse:
    """Store one `mamori.scan/v1` document; uploading the same document again returns it."""
    try:
        document = parse_scan_document(body)
    except DocumentError as exc:
        raise HTTPException(400, str(exc)) from None
    stored = store_scan(session, document, principal.user_id)
    scan_id = str(stored.scan_id)
    content = {
        "id": scan_id,
        "url": settings.absolute_url(f"/scans/{scan_id}"),
        "created": stored.created,
    }
    return JSONResponse(content, status_code=201 if stored.created else 200)


@router.get("/scans", response_model=ScanList)
def list_scans(
    _: Reader,
    session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
    repository: str | None = None,
    tag: str | None = None,
    verdict: Literal["passed", "failed", "none"] | None = None,
    severity: Annotated[
        Severity | None, Query(description="Scans with a finding at least this severe.")
    ] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: Annotated[str | None, Query(description="Text in the reference, tag or commit.")] = None,
    offset: Offset = 0,
    limit: int = _limit(50),
) -> dict[str, Any]:
    """Scans newest first, filtered, paginated."""
    filters = queries.ScanFilter(repository, tag, verdict, severity, since, until, q)
    page = queries.list_scans(session, filters, offset=offset, limit=limit)
    return {
        "items": [_scan_item(s, settings) for s in page.items],
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    }


@router.get("/scans/{scan_id}", response_model=ScanDetail)
def scan_detail(
    scan_id: str,
    _: Reader,
    session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
) -> dict[str, Any]:
    """Summary, policy evaluation (failing rules first) and image-configuration findings."""
    detail = queries.scan_detail(session, scan_id)
    if detail is None:
        raise _missing(scan_id)
    return {
        **_scan_item(detail.summary, settings),
        "config_digest": detail.config_digest,
        "os": detail.os,
        "db_built_at": detail.db_built_at,
        "uploader": detail.uploader,
        "layers": detail.layer_count,
        "previous_id": detail.previous_id,
        "policy": [RuleVerdict(**vars(v)) for v in detail.policy],
        "config_issues": [
            ConfigIssue(**vars(c)) for c in queries.config_issues_of(session, scan_id)
        ],
    }


@router.get("/scans/{scan_id}/findings", response_model=FindingList)
def scan_findings(
    scan_id: str,
    _: Reader,
    session: Db,
    severity: Annotated[list[Severity] | None, Query()] = None,
    fixable: bool | None = None,
    package: str | None = None,
    ecosystem: str | None = None,
    layer: int | None = None,
    q: Annotated[str | None, Query(description="Text in the id, title or package.")] = None,
    sort: queries.FindingSort = "severity",
    order: Literal["asc", "desc"] | None = None,
    offset: Offset = 0,
    limit: int = _limit(100),
) -> dict[str, Any]:
    filters = queries.FindingFilter(tuple(severity or ()), fixable, package, ecosystem, q, layer)
    page = queries.findings_of(
        session,
        scan_id,
        filters,
        sort,
        descending=None if order is None else order == "desc",
        offset=offset,
        limit=limit,
    )
    if page is None:
        raise _missing(scan_id)
    return {
        "items": [_finding(f) for f in page.items],
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    }


@router.get("/scans/{scan_id}/packages", response_model=PackageList)
def scan_packages(
    scan_id: str,
    _: Reader,
    session: Db,
    q: Annotated[str | None, Query(description="Text in the name or purl.")] = None,
    layer: int | None = None,
    offset: Offset = 0,
    limit: int = _limit(200),
) -> dict[str, Any]:
    page = queries.packages_of(session, scan_id, text=q, layer=layer, offset=offset, limit=limit)
    if page is None:
        raise _missing(scan_id)
    return {
        "items": [_package(p) for p in page.items],
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    }


@router.get("/scans/{scan_id}/layers", response_model=list[Layer])
def scan_layers(scan_id: str, _: Reader, session: Db) -> list[Layer]:
    """The image's layers, base first, with the packages and findings each brought."""
    if queries.scan_summary(session, scan_id) is None:
        raise _missing(scan_id)
    return [
        Layer(
            index=layer.index,
            digest=layer.digest,
            created_by=layer.created_by,
            size=layer.size,
            packages=layer.package_count,
            counts=_counts(layer.counts),
        )
        for layer in queries.layers_of(session, scan_id)
    ]


@router.get("/scans/{scan_id}/document")
def scan_document(scan_id: str, _: Reader, session: Db) -> dict[str, Any]:
    """The stored `mamori.scan/v1` document."""
    document = queries.scan_document(session, scan_id)
    if document is None:
        raise _missing(scan_id)
    return document


@router.get("/scans/{scan_id}/compare", response_model=Comparison)
def compare_scans(
    scan_id: str,
    _: Reader,
    session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
    base: Annotated[
        str | None, Query(description="Default: the previous scan of the same repository.")
    ] = None,
) -> dict[str, Any]:
    """What changed from `base` to this scan: new, fixed and unchanged findings; packages."""
    if base is None:
        previous = queries.previous_scan(session, scan_id)
        if previous is None:
            if queries.scan_summary(session, scan_id) is None:
                raise _missing(scan_id)
            raise HTTPException(404, f"scan {scan_id} has no earlier scan of its repository")
        base = previous.id
    comparison = queries.compare(session, base, scan_id)
    if comparison is None:
        missing = scan_id if queries.scan_summary(session, scan_id) is None else base
        raise _missing(missing)
    return {
        "base": _scan_item(comparison.base, settings),
        "head": _scan_item(comparison.head, settings),
        "new": [_finding(f) for f in comparison.new],
        "fixed": [_finding(f) for f in comparison.fixed],
        "unchanged": [_finding(f) for f in comparison.unchanged],
        "packages_added": [_package(p) for p in comparison.packages_added],
        "packages_removed": [_package(p) for p in comparison.packages_removed],
        "packages_changed": [
            PackageChange(
                name=c.name,
                type=c.type,
                base_versions=list(c.base_versions),
                head_versions=list(c.head_versions),
            )
            for c in comparison.packages_changed
        ],
    }


@router.get("/images", response_model=ImageList)
def list_images(
    _: Reader,
    session: Db,
    settings: Annotated[Settings, Depends(app_settings)],
    repository: str | None = None,
    offset: Offset = 0,
    limit: int = _limit(50),
) -> dict[str, Any]:
    """The latest scan of every repository:tag, newest first."""
    page = queries.images(session, repository, offset=offset, limit=limit)
    return {
        "items": [
            {
                "repository": i.repository,
                "tag": i.tag,
                "scans": i.scans,
                "latest": _scan_item(i.latest, settings),
            }
            for i in page.items
        ],
        "total": page.total,
        "offset": page.offset,
        "limit": page.limit,
    }


@router.get("/repositories", response_model=list[RepositoryItem])
def list_repositories(_: Reader, session: Db) -> list[RepositoryItem]:
    return [
        RepositoryItem(name=r.name, scans=r.scans, last_scan_at=r.last_scan_at)
        for r in queries.repositories(session)
    ]


@router.get("/repositories/{repository:path}/trend", response_model=Trend)
def repository_trend(
    repository: str, _: Reader, session: Db, limit: int = _limit(200)
) -> dict[str, Any]:
    """Counts per severity of the repository's last `limit` scans, oldest first."""
    points = queries.trend(session, repository, limit=limit)
    if not points:
        raise HTTPException(404, f"no scans of repository {repository[:200]!r}")
    return {
        "repository": repository,
        "points": [
            {
                "scan_id": p.scan_id,
                "created_at": p.created_at,
                "tag": p.tag,
                "verdict": p.verdict,
                "counts": _counts(p.counts),
            }
            for p in points
        ],
    }
