"""`require_scope`: the FastAPI dependency that authenticates a request and checks one scope.

A request authenticates with `Authorization: Bearer <user token>` or with the console's session
cookie. Cookie-authenticated unsafe requests (POST, PUT, PATCH, DELETE) must present the
session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`). Agent access keys are
not user tokens and get 401 here.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from mamori.server.auth.principal import SCOPES, Principal
from mamori.server.auth.service import principal_for_token, principal_for_user
from mamori.server.auth.sessions import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    csrf_valid,
    session_from_cookie,
)
from mamori.server.deps import DbSession

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token an unsafe request carries (header first, then the form field)."""
    if request.method not in UNSAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def authenticate(request: Request, session: Session, csrf: str | None) -> Principal:
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credential.strip():
            raise unauthorized("malformed Authorization header: expected 'Bearer <token>'")
        principal = principal_for_token(session, credential.strip())
        if principal is None:
            raise unauthorized("invalid, revoked or unknown token")
        return principal
    login_session = session_from_cookie(session, request.cookies.get(SESSION_COOKIE))
    if login_session is None:
        raise unauthorized("authentication required: log in or send a Bearer token")
    if request.method in UNSAFE_METHODS and not csrf_valid(login_session, csrf):
        raise HTTPException(403, "missing or wrong CSRF token")
    return principal_for_user(login_session.user, "session")


def require_scope(scope: str) -> Callable[..., Principal]:
    """A dependency returning the request's Principal when it holds `scope` (or "admin")."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(
        request: Request,
        session: DbSession,
        csrf: str | None = Depends(presented_csrf),
    ) -> Principal:
        principal = authenticate(request, session, csrf)
        if not principal.grants(scope):
            raise HTTPException(403, f"this credential lacks the {scope!r} scope")
        return principal

    return dependency
