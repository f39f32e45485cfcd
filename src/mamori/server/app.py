"""`create_app`: the FastAPI application with its database, routers and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from mamori import __version__
from mamori.server.api import acceptances, auth, health, scans, tokens, users
from mamori.server.db import make_engine, make_sessionmaker
from mamori.server.limits import BodySizeLimit
from mamori.server.metrics import Metrics, MetricsMiddleware
from mamori.server.settings import Settings
from mamori.server.web import router as console

TAGS = [
    {"name": "health", "description": "Liveness, readiness and Prometheus metrics."},
    {"name": "auth", "description": "Console sessions: log in, log out, who am I."},
    {"name": "tokens", "description": "API tokens: created once, listed by prefix, revoked."},
    {"name": "users", "description": "User accounts and roles (admin only)."},
    {"name": "scans", "description": "Pipeline scan results: upload, list, detail, compare."},
    {"name": "acceptances", "description": "Risk acceptances applied by `mamori scan`."},
]


def validation_message(exc: RequestValidationError) -> str:
    """The first validation error as one line: `body.name: Field required`."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_message(exc)}, status_code=400)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="mamori",
        version=__version__,
        description="Container security console: pipeline scans, risk acceptances, tokens.",
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.metrics = Metrics()
    app.add_exception_handler(RequestValidationError, _validation_error)
    for module in (health, auth, tokens, users, scans, acceptances):
        app.include_router(module.router)
    app.include_router(console.router)
    app.mount("/static", console.static_files(), name="static")
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app
