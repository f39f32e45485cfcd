"""One scan: summary, policy evaluation, vulnerabilities (filtered and sorted, swapped by HTMX),
image-config findings; its packages and its layers on pages of their own."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from mamori.server.db import utcnow
from mamori.server.deps import DbSession
from mamori.server.scans.queries import (
    FindingRow,
    Page,
    ScanDetail,
    config_issues_of,
    ecosystems_of,
    findings_of,
    layers_of,
    packages_of,
    scan_detail,
)
from mamori.server.web.console_auth import User
from mamori.server.web.filters import (
    FINDING_PARAMS,
    FilterError,
    finding_query,
    offset_of,
    params_of,
)
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.pipeline_pages import wants_fragment
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)

FINDINGS_PAGE = 100
PACKAGES_PAGE = 200
DEFAULT_ACCEPTANCE_DAYS = 90


def _detail(session: Session, scan_id: str) -> ScanDetail:
    detail = scan_detail(session, scan_id)
    if detail is None:
        raise HTTPException(404, f"no scan {scan_id[:40]}")
    return detail


def db_age(detail: ScanDetail) -> str:
    """How old the vulnerability database was when the scan ran, in words."""
    if not detail.db_built_at:
        return "no database (inventory only)"
    try:
        built = datetime.fromisoformat(detail.db_built_at)
    except ValueError:
        return detail.db_built_at
    days = (detail.summary.created_at - built).days
    age = "less than a day old" if days < 1 else f"{days} day{'s' if days > 1 else ''} old"
    return f"built {built:%Y-%m-%d %H:%M}, {age} at scan time"


@router.get("/scans/{scan_id}", include_in_schema=False)
def scan_page(scan_id: str, request: Request, session: DbSession, user: User) -> Response:
    detail = _detail(session, scan_id)
    params = params_of(request.query_params, *FINDING_PARAMS)
    error, status = "", 200
    try:
        query = finding_query(params)
        findings = findings_of(
            session,
            scan_id,
            query.filters,
            query.sort,
            offset=offset_of(request.query_params),
            limit=FINDINGS_PAGE,
        )
    except FilterError as exc:
        error, status, findings = str(exc), 400, Page[FindingRow]((), 0, 0, FINDINGS_PAGE)
    assert findings is not None  # the scan exists: _detail found it
    context = {
        "detail": detail,
        "findings": findings,
        "params": params,
        "error": error,
        "ecosystems": ecosystems_of(session, scan_id),
        "default_expiry": (utcnow().date() + timedelta(days=DEFAULT_ACCEPTANCE_DAYS)).isoformat(),
    }
    if wants_fragment(request, "findings"):
        return render(request, "_findings_table.html", user, status, **context)
    return render(
        request,
        "scan.html",
        user,
        status,
        db_age=db_age(detail),
        config_issues=config_issues_of(session, scan_id),
        **context,
    )


@router.get("/scans/{scan_id}/packages", include_in_schema=False)
def packages_page(scan_id: str, request: Request, session: DbSession, user: User) -> Response:
    detail = _detail(session, scan_id)
    params = params_of(request.query_params, "q", "layer")
    layer = params["layer"]
    if layer and not (layer.isdigit() and len(layer) < 6):
        raise HTTPException(400, f"invalid layer {layer[:40]!r}: use a layer index")
    try:
        offset = offset_of(request.query_params)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None
    page = packages_of(
        session,
        scan_id,
        text=params["q"] or None,
        layer=int(layer) if layer else None,
        offset=offset,
        limit=PACKAGES_PAGE,
    )
    return render(request, "packages.html", user, detail=detail, page=page, params=params)


@router.get("/scans/{scan_id}/layers", include_in_schema=False)
def layers_page(scan_id: str, request: Request, session: DbSession, user: User) -> Response:
    detail = _detail(session, scan_id)
    return render(request, "layers.html", user, detail=detail, layers=layers_of(session, scan_id))
