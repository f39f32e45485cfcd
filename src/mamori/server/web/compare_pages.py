"""Compare two scans: new, fixed and unchanged findings and the package diff; by default
against the previous scan of the same repository."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from mamori.server.deps import DbSession
from mamori.server.scans.queries import ScanFilter, compare, list_scans, scan_detail
from mamori.server.web.console_auth import User
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)

BASE_CHOICES = 50


@router.get("/scans/{scan_id}/compare", include_in_schema=False)
def compare_page(
    scan_id: str, request: Request, session: DbSession, user: User, base: str = ""
) -> Response:
    detail = scan_detail(session, scan_id)
    if detail is None:
        raise HTTPException(404, f"no scan {scan_id[:40]}")
    base_id = base.strip() or detail.previous_id
    others = list_scans(
        session, ScanFilter(repository=detail.summary.repository), limit=BASE_CHOICES
    ).items
    comparison = None if base_id is None else compare(session, base_id, scan_id)
    if base_id is not None and comparison is None:
        raise HTTPException(404, f"no scan {base_id[:40]} to compare with")
    return render(
        request,
        "compare.html",
        user,
        detail=detail,
        comparison=comparison,
        choices=[s for s in others if s.id != detail.summary.id],
    )
