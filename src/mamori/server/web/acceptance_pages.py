"""Risk acceptances in the console: accept from a finding row, list, revoke with a reason.

Creating and revoking go through `mamori.server.scans.acceptances`, which checks the role and
audits the change; a refusal is shown on the page with its one-line reason.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from mamori.server.db import utcnow
from mamori.server.deps import DbSession
from mamori.server.scans.acceptances import (
    AcceptanceError,
    AcceptanceForbidden,
    AcceptanceNotFound,
    AcceptanceState,
    create_acceptance,
    list_acceptances,
    revoke_acceptance,
)
from mamori.server.web.console_auth import ConsoleUser, Form, FormUser, User, form_text
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)

STATES: dict[str, tuple[AcceptanceState, ...]] = {
    "active": ("active",),
    "expired": ("expired",),
    "revoked": ("revoked",),
    "all": ("all",),
}


def _page(
    request: Request, session: DbSession, user: ConsoleUser, state: str, status_code: int = 200,
    **extra: Any,
) -> Response:  # fmt: skip
    today = utcnow().date()
    context: dict[str, Any] = {"error": "", "notice": ""} | extra
    return render(
        request,
        "acceptances.html",
        user,
        status_code,
        state=state,
        states=list(STATES),
        today=today,
        acceptances=list_acceptances(session, today=today, states=STATES[state]),
        **context,
    )


@router.get("/acceptances", include_in_schema=False)
def acceptances_page(
    request: Request,
    session: DbSession,
    user: User,
    state: str = "active",
    created: int | None = None,
    revoked: int | None = None,
) -> Response:
    if state not in STATES:
        raise HTTPException(400, f"unknown state {state[:40]!r}: use one of {', '.join(STATES)}")
    notice = ""
    if created:
        notice = f"Risk acceptance {created} created."
    elif revoked:
        notice = f"Risk acceptance {revoked} revoked."
    return _page(request, session, user, state, notice=notice)


def _refused(exc: AcceptanceError) -> int:
    if isinstance(exc, AcceptanceForbidden):
        return 403
    return 404 if isinstance(exc, AcceptanceNotFound) else 400


@router.post("/acceptances", include_in_schema=False)
def accept_risk(request: Request, session: DbSession, user: FormUser, form: Form) -> Response:
    raw_expiry = form_text(form, "expires")
    try:
        expires = date.fromisoformat(raw_expiry)
    except ValueError:
        error = f"expires: {raw_expiry[:40]!r} is not a date (YYYY-MM-DD)"
        return _page(request, session, user, "active", 400, error=error)
    try:
        row = create_acceptance(
            session,
            user.principal,
            vulnerability=form_text(form, "vulnerability"),
            package_name=form_text(form, "package"),
            package_version=form_text(form, "package_version"),
            image=form_text(form, "image"),
            reason=form_text(form, "reason"),
            expires=expires,
            today=utcnow().date(),
        )
    except AcceptanceError as exc:
        return _page(request, session, user, "active", _refused(exc), error=str(exc))
    return RedirectResponse(f"/acceptances?created={row.id}", 303)


@router.post("/acceptances/{acceptance_id}/revoke", include_in_schema=False)
def revoke(
    acceptance_id: int, request: Request, session: DbSession, user: FormUser, form: Form
) -> Response:
    try:
        revoke_acceptance(session, user.principal, acceptance_id, form_text(form, "reason"))
    except AcceptanceError as exc:
        return _page(request, session, user, "active", _refused(exc), error=str(exc))
    return RedirectResponse(f"/acceptances?revoked={acceptance_id}", 303)
