"""The console: every page module's routes in one router, and the static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.staticfiles import StaticFiles

from mamori.server.web import (
    acceptance_pages,
    compare_pages,
    login_pages,
    pipeline_pages,
    scan_pages,
    token_pages,
    trend_pages,
)

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter()
for _pages in (
    login_pages,
    pipeline_pages,
    scan_pages,
    compare_pages,
    trend_pages,
    acceptance_pages,
    token_pages,
):
    router.include_router(_pages.router)


def static_files() -> StaticFiles:
    """The stylesheet and the vendored HTMX, mounted at /static."""
    return StaticFiles(directory=STATIC_DIR)
