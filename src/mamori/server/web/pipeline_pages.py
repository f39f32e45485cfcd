"""The pipeline list (`/`) and the images list (latest verdict per repository:tag).

Filters are a GET form: the URL is the shareable state. HTMX requests aimed at the table get the
table alone (`HX-Target: scans`); everything else gets the whole page.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mamori.server.deps import DbSession
from mamori.server.scans.queries import Page, ScanSummary, images, list_scans, repositories
from mamori.server.web.console_auth import User
from mamori.server.web.filters import (
    PAGE_SIZE,
    SCAN_PARAMS,
    FilterError,
    offset_of,
    params_of,
    scan_filter,
)
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)


def wants_fragment(request: Request, target: str) -> bool:
    return (
        request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == target
    )


@router.get("/", include_in_schema=False)
def pipeline(request: Request, session: DbSession, user: User) -> Response:
    params = params_of(request.query_params, *SCAN_PARAMS)
    error, status = "", 200
    try:
        page = list_scans(
            session, scan_filter(params), offset=offset_of(request.query_params), limit=PAGE_SIZE
        )
    except FilterError as exc:
        error, status = str(exc), 400
        page = Page[ScanSummary]((), 0, 0, PAGE_SIZE)
    context = {"page": page, "params": params, "error": error}
    if wants_fragment(request, "scans"):
        return render(request, "_scans_table.html", user, status, **context)
    return render(
        request, "pipeline.html", user, status, repositories=repositories(session), **context
    )


@router.get("/images", include_in_schema=False)
def images_page(request: Request, session: DbSession, user: User) -> Response:
    params = params_of(request.query_params, "repository")
    try:
        offset = offset_of(request.query_params)
    except FilterError as exc:
        return render(request, "error.html", user, 400, heading="Bad request", message=str(exc))
    page = images(session, params["repository"] or None, offset=offset, limit=PAGE_SIZE)
    return render(request, "images.html", user, page=page, params=params)
