"""A repository's findings per severity over time, as a chart drawn on the server.

The page shows the last `TREND_SCANS` scans (and says so): one point per scan and severity
keeps the chart readable and the page small; older scans are in the pipeline list."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from markupsafe import Markup

from mamori.server.deps import DbSession
from mamori.server.scans.queries import trend
from mamori.server.web.console_auth import User
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render
from mamori.server.web.trend_chart import trend_svg

router = APIRouter(route_class=ConsolePageRoute)

TREND_SCANS = 100


@router.get("/repositories/{repository:path}/trend", include_in_schema=False)
def trend_page(repository: str, request: Request, session: DbSession, user: User) -> Response:
    points = trend(session, repository, limit=TREND_SCANS)
    if not points:
        raise HTTPException(404, f"no scans of repository {repository[:200]!r}")
    title = f"Vulnerabilities per severity in the last {len(points)} scans of {repository}"
    # trend_svg escapes every string it writes, so the markup is safe to insert as is.
    chart = Markup(trend_svg(points, title))
    return render(
        request,
        "trend.html",
        user,
        repository=repository,
        points=points,
        chart=chart,
        limit=TREND_SCANS,
    )
