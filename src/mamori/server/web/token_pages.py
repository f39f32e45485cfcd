"""API tokens in the console: create (the plaintext is shown once), list, revoke.

Users see and revoke their own tokens; admins see and revoke everyone's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from mamori.server.auth.audit import audit
from mamori.server.auth.principal import ROLE_SCOPES
from mamori.server.auth.service import (
    AuthError,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
)
from mamori.server.auth.tables import ApiToken, User
from mamori.server.deps import DbSession
from mamori.server.web.console_auth import ConsoleUser, Form, FormUser, form_text
from mamori.server.web.console_auth import User as Viewer
from mamori.server.web.page_route import ConsolePageRoute
from mamori.server.web.templating import render

router = APIRouter(route_class=ConsolePageRoute)


def _page(
    request: Request, session: DbSession, user: ConsoleUser, status_code: int = 200, **extra: Any
) -> Response:
    owner = None if user.is_admin else user.principal.user_id
    context: dict[str, Any] = {"created": None, "created_plaintext": "", "error": "", "notice": ""}
    context.update(extra)
    return render(
        request,
        "tokens.html",
        user,
        status_code,
        tokens=list_api_tokens(session, owner),
        scopes=sorted(ROLE_SCOPES[user.principal.role]),
        **context,
    )


@router.get("/tokens", include_in_schema=False)
def tokens_page(
    request: Request, session: DbSession, user: Viewer, revoked: int | None = None
) -> Response:
    return _page(request, session, user, notice=f"Token {revoked} revoked." if revoked else "")


@router.post("/tokens", include_in_schema=False)
def create_token(request: Request, session: DbSession, user: FormUser, form: Form) -> Response:
    owner = session.get(User, user.principal.user_id)
    assert owner is not None  # the session's user exists: the login session references it
    scopes = [s for s in form.getlist("scope") if isinstance(s, str)]
    try:
        token, plaintext = create_api_token(session, owner, form_text(form, "name"), scopes)
    except AuthError as exc:
        return _page(request, session, user, 400, error=str(exc))
    audit(
        session, user.principal, "token.create", f"token {token.id}", f"{token.name} {token.scopes}"
    )
    return _page(request, session, user, 201, created=token, created_plaintext=plaintext)


@router.post("/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token(token_id: int, session: DbSession, user: FormUser) -> Response:
    token = session.get(ApiToken, token_id)
    if token is None or (not user.is_admin and token.user_id != user.principal.user_id):
        raise HTTPException(404, f"no token {token_id}")
    revoke_api_token(session, token)
    audit(session, user.principal, "token.revoke", f"token {token.id}", token.name)
    return RedirectResponse(f"/tokens?revoked={token.id}", 303)
