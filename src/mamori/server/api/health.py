"""`/healthz` (alive), `/readyz` (database reachable, migrations at head), `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from mamori.server.metrics import Metrics
from mamori.server.migrate import at_head
from mamori.server.models import Base

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "database unreachable or not migrated"}})
def readyz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            migrated = at_head(connection)
    except SQLAlchemyError as exc:
        detail = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"detail": detail}, status_code=503)
    if not migrated:
        detail = "database schema is not at the newest migration: run `mamori server migrate`"
        return JSONResponse({"detail": detail}, status_code=503)
    return JSONResponse({"status": "ready"})


def _scan_count(engine: Engine) -> int:
    scans = Base.metadata.tables.get("scans")
    if scans is None:
        return 0
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(scans)) or 0)


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    engine: Engine = request.app.state.engine
    app_metrics: Metrics = request.app.state.metrics
    try:
        app_metrics.scans_stored.set(_scan_count(engine))
        app_metrics.db_up.set(1)
    except SQLAlchemyError:
        app_metrics.db_up.set(0)
    return Response(generate_latest(app_metrics.registry), media_type=CONTENT_TYPE_LATEST)
