"""Who is using the console: the login session behind a page, CSRF on every form.

A page without a live session redirects to the login form. Forms post the session's
CSRF token as `csrf_token`; a missing or wrong token is a 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from mamori.server.auth.principal import Principal
from mamori.server.auth.service import principal_for_user
from mamori.server.auth.sessions import (
    CSRF_FIELD,
    SESSION_COOKIE,
    csrf_token,
    csrf_valid,
    session_from_cookie,
)
from mamori.server.auth.tables import LoginSession
from mamori.server.deps import DbSession
from mamori.server.scans.acceptances import can_accept_risk

# scope="function": the session commits when the page function returns, before the response
# leaves, so the page a redirect leads to (after a login, a new acceptance) sees the change.


@dataclass(frozen=True)
class ConsoleUser:
    principal: Principal
    csrf_token: str

    @property
    def can_accept_risk(self) -> bool:
        return can_accept_risk(self.principal)

    @property
    def is_admin(self) -> bool:
        return self.principal.role == "admin"


def _to_login(request: Request) -> HTTPException:
    """To the login form, then back here. HTMX follows a 303 inside its request and would swap
    the login form into the page, so an HTMX request gets a 401 whose `HX-Redirect` makes the
    whole page go there."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/login?next={quote(target, safe='')}"
    if request.headers.get("HX-Request") == "true":
        return HTTPException(401, "login required", headers={"HX-Redirect": location})
    return HTTPException(303, "login required", headers={"Location": location})


def _login_session(request: Request, session: Session) -> LoginSession:
    row = session_from_cookie(session, request.cookies.get(SESSION_COOKIE))
    if row is None:
        raise _to_login(request)
    return row


def _user_of(row: LoginSession) -> ConsoleUser:
    return ConsoleUser(principal_for_user(row.user, "session"), csrf_token(row))


def console_user(request: Request, session: DbSession) -> ConsoleUser:
    return _user_of(_login_session(request, session))


User = Annotated[ConsoleUser, Depends(console_user)]


async def posted_form(request: Request) -> FormData:
    return await request.form()


Form = Annotated[FormData, Depends(posted_form)]


def form_user(request: Request, form: Form, session: DbSession) -> ConsoleUser:
    """The user behind a posted console form whose CSRF token matches the session's."""
    row = _login_session(request, session)
    presented = form.get(CSRF_FIELD)
    if not csrf_valid(row, presented if isinstance(presented, str) else None):
        raise HTTPException(403, "missing or invalid CSRF token: reload the page and try again")
    return _user_of(row)


FormUser = Annotated[ConsoleUser, Depends(form_user)]


def form_text(form: FormData, name: str) -> str:
    """A text field of the form, stripped; "" when missing or a file."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
