"""API tokens: create (plaintext returned once), list (prefix only), revoke.

Everyone manages their own tokens; an admin sees and revokes everyone's and may create tokens for
other users. A new token never carries a scope its creator's credential lacks.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from mamori.server.auth.audit import audit
from mamori.server.auth.deps import require_scope
from mamori.server.auth.principal import Principal
from mamori.server.auth.service import (
    AuthError,
    check_scopes,
    create_api_token,
    list_api_tokens,
    revoke_api_token,
    user_by_name,
)
from mamori.server.auth.tables import ApiToken, User
from mamori.server.deps import DbSession

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"])


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    username: str | None = Field(default=None, description="Owner (admin only); default: you.")


class TokenItem(BaseModel):
    id: int
    name: str
    username: str
    prefix: str
    scopes: list[str]
    created: datetime
    last_used: datetime | None
    revoked: datetime | None


class TokenCreated(TokenItem):
    token: str = Field(description="The plaintext token: shown this once, never again.")


class TokenList(BaseModel):
    items: list[TokenItem]


def token_item(token: ApiToken) -> TokenItem:
    return TokenItem(
        id=token.id,
        name=token.name,
        username=token.user.username,
        prefix=token.prefix,
        scopes=sorted(token.scope_set),
        created=token.created_at,
        last_used=token.last_used_at,
        revoked=token.revoked_at,
    )


def _owner(session: Session, principal: Principal, username: str | None) -> User:
    if username is None or username == principal.username:
        owner = session.get(User, principal.user_id)
    elif principal.grants("admin"):
        owner = user_by_name(session, username)
    else:
        raise HTTPException(403, "only an admin creates tokens for other users")
    if owner is None:
        raise HTTPException(404, f"no user {username!r}")
    return owner


@router.post("", status_code=201, response_model=TokenCreated)
def create_token(
    request: TokenRequest,
    session: DbSession,
    principal: Principal = Depends(require_scope("read")),
) -> TokenCreated:
    try:
        wanted = check_scopes(request.scopes)
        if not principal.grants("admin") and not wanted <= principal.scopes:
            missing = sorted(wanted - principal.scopes)[0]
            raise HTTPException(403, f"you cannot grant the {missing!r} scope you do not hold")
        token, plaintext = create_api_token(
            session, _owner(session, principal, request.username), request.name, wanted
        )
    except AuthError as exc:
        raise HTTPException(400, str(exc)) from None
    audit(session, principal, "token.create", f"token {token.id}", f"{token.name} {token.scopes}")
    return TokenCreated(**token_item(token).model_dump(), token=plaintext)


@router.get("", response_model=TokenList)
def list_tokens(
    session: DbSession,
    all_users: bool = False,
    principal: Principal = Depends(require_scope("read")),
) -> TokenList:
    """Your tokens; with `all_users=true` (admin) everyone's."""
    if all_users and not principal.grants("admin"):
        raise HTTPException(403, "only an admin lists every user's tokens")
    tokens = list_api_tokens(session, None if all_users else principal.user_id)
    return TokenList(items=[token_item(token) for token in tokens])


@router.post("/{token_id}/revoke", response_model=TokenItem)
def revoke_token(
    token_id: int,
    session: DbSession,
    principal: Principal = Depends(require_scope("read")),
) -> TokenItem:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != principal.user_id and not principal.grants("admin")):
        raise HTTPException(404, f"no token {token_id}")
    revoke_api_token(session, token)
    audit(session, principal, "token.revoke", f"token {token.id}", token.name)
    return token_item(token)
