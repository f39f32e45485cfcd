"""Session login for scripts and the console's fetches: log in, log out, who am I.

The console's HTML login form uses the same service (`mamori.server.auth.sessions.login`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mamori.server.auth.deps import require_scope
from mamori.server.auth.principal import Principal
from mamori.server.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    login,
    logout,
    set_session_cookie,
)
from mamori.server.deps import DbSession, app_settings
from mamori.server.settings import Settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class Identity(BaseModel):
    username: str
    role: str
    scopes: list[str]
    via: str


class SessionOpened(Identity):
    csrf_token: str


def identity(principal: Principal) -> Identity:
    return Identity(
        username=principal.username,
        role=principal.role,
        scopes=sorted(principal.scopes),
        via=principal.via,
    )


@router.post(
    "/session",
    response_model=SessionOpened,
    responses={401: {"description": "wrong credentials"}, 429: {"description": "rate limited"}},
)
def open_session(
    credentials: Credentials,
    request: Request,
    session: DbSession,
    settings: Settings = Depends(app_settings),
) -> Response:
    """Log in: sets the `mamori_session` cookie and returns the session's CSRF token."""
    result = login(
        session, credentials.username, credentials.password, client_ip(request), settings
    )
    if result.outcome == "throttled":
        return JSONResponse(
            {"detail": f"too many failed logins: retry in {result.retry_after} s"},
            status_code=429,
            headers={"Retry-After": str(result.retry_after)},
        )
    if result.outcome == "invalid" or result.principal is None or result.csrf_token is None:
        return JSONResponse({"detail": "wrong username or password"}, status_code=401)
    body = SessionOpened(**identity(result.principal).model_dump(), csrf_token=result.csrf_token)
    response = JSONResponse(body.model_dump())
    set_session_cookie(response, result, settings)
    return response


@router.delete("/session", status_code=204)
def close_session(
    request: Request,
    session: DbSession,
    settings: Settings = Depends(app_settings),
    _principal: Principal = Depends(require_scope("read")),
) -> Response:
    """Log out (cookie sessions need the CSRF token like every unsafe request)."""
    logout(session, request.cookies.get(SESSION_COOKIE))
    response = Response(status_code=204)
    clear_session_cookie(response, settings)
    return response


@router.get("/whoami", response_model=Identity)
def whoami(principal: Principal = Depends(require_scope("read"))) -> Identity:
    return identity(principal)
