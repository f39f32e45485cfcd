"""Log in and log out.

The login form has no session yet, so its CSRF token is a double-submit cookie: a random value
set with the form and posted back in it; a cross-site page can post the form but not read the
cookie to fill the field.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mamori.server.auth.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    login,
    logout,
    session_from_cookie,
    set_session_cookie,
)
from mamori.server.deps import DbSession, app_settings
from mamori.server.settings import Settings
from mamori.server.web.console_auth import Form, FormUser, form_text
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)

LOGIN_CSRF_COOKIE = "mamori_login_csrf"
AppSettings = Annotated[Settings, Depends(app_settings)]


def _safe_next(target: str) -> str:
    """A local path to go to after login; anything else (other hosts, schemes) is "/"."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_form(
    request: Request,
    settings: Settings,
    *,
    next_path: str,
    username: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        status_code,
        login_csrf=token,
        next=_safe_next(next_path),
        username=username,
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login", include_in_schema=False)
def login_page(
    request: Request, session: DbSession, settings: AppSettings, next: str = "/"
) -> Response:
    if session_from_cookie(session, request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(_safe_next(next), 303)
    return _login_form(request, settings, next_path=next)


@router.post("/login", include_in_schema=False)
def login_submit(
    request: Request, form: Form, session: DbSession, settings: AppSettings
) -> Response:
    username, next_path = form_text(form, "username"), form_text(form, "next")
    password = form.get("password")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    presented = form_text(form, CSRF_FIELD)
    if not expected or not hmac.compare_digest(expected.encode(), presented.encode()):
        return _login_form(
            request,
            settings,
            next_path=next_path,
            username=username,
            error="The form expired (missing or invalid CSRF token): please log in again.",
            status_code=403,
        )
    result = login(
        session,
        username,
        password if isinstance(password, str) else "",
        client_ip(request),
        settings,
    )
    if result.outcome == "throttled":
        response = _login_form(
            request,
            settings,
            next_path=next_path,
            username=username,
            error=f"Too many failed logins: try again in {result.retry_after} seconds.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(result.retry_after)
        return response
    if result.outcome == "invalid":
        return _login_form(
            request,
            settings,
            next_path=next_path,
            username=username,
            error="Wrong username or password.",
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next_path), 303)
    set_session_cookie(response, result, settings)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout_submit(
    request: Request, user: FormUser, session: DbSession, settings: AppSettings
) -> Response:
    logout(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", 303)
    clear_session_cookie(response, settings)
    return response
