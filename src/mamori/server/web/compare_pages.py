"""Compare two scans: new, fixed and unchanged findings and the package diff; by default
against the previous scan of the same repository.

New and fixed findings are listed in full. The unchanged ones (often hundreds) are a count with
a link; `?unchanged=1` lists them a page at a time, and an HTMX request aimed at the section
(`HX-Target: unchanged`) gets that section alone, without the rest of the comparison."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from mamori.server.deps import DbSession
from mamori.server.scans.queries import (
    ScanFilter,
    compare,
    list_scans,
    scan_detail,
    unchanged_findings,
)
from mamori.server.web.console_auth import User
from mamori.server.web.filters import FilterError, offset_of
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.pipeline_pages import wants_fragment
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)

BASE_CHOICES = 50
UNCHANGED_PAGE = 100


@router.get("/scans/{scan_id}/compare", include_in_schema=False)
def compare_page(
    scan_id: str,
    request: Request,
    session: DbSession,
    user: User,
    base: str = "",
    unchanged: str = "",
) -> Response:
    detail = scan_detail(session, scan_id)
    if detail is None:
        raise HTTPException(404, f"no scan {scan_id[:40]}")
    base_id = base.strip() or detail.previous_id
    try:
        offset = offset_of(request.query_params)
    except FilterError as exc:
        raise HTTPException(400, str(exc)) from None
    shown = None
    if base_id is not None and unchanged:
        shown = unchanged_findings(session, base_id, scan_id, offset=offset, limit=UNCHANGED_PAGE)
        if shown is None:
            raise HTTPException(404, f"no scan {base_id[:40]} to compare with")
        if wants_fragment(request, "unchanged"):
            return render(
                request,
                "_compare_unchanged.html",
                user,
                head_id=detail.summary.id,
                base_id=base_id,
                unchanged=shown,
                unchanged_total=shown.total,
            )
    comparison = (
        None if base_id is None else compare(session, base_id, scan_id, with_unchanged=False)
    )
    if base_id is not None and comparison is None:
        raise HTTPException(404, f"no scan {base_id[:40]} to compare with")
    others = list_scans(
        session, ScanFilter(repository=detail.summary.repository), limit=BASE_CHOICES
    ).items
    return render(
        request,
        "compare.html",
        user,
        detail=detail,
        comparison=comparison,
        choices=[s for s in others if s.id != detail.summary.id],
        head_id=detail.summary.id,
        base_id=base_id,
        unchanged=shown,
        unchanged_total=None if comparison is None else comparison.unchanged_total,
    )
