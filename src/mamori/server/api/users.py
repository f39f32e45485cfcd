"""User accounts (admin scope): create, list, change role, disable."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from mamori.server.auth.audit import audit
from mamori.server.auth.deps import require_scope
from mamori.server.auth.principal import Principal
from mamori.server.auth.service import AuthError, check_role, create_user, list_users
from mamori.server.auth.tables import User
from mamori.server.deps import DbSession

router = APIRouter(prefix="/api/v1/users", tags=["users"])
admin_only = require_scope("admin")


class UserRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    role: str


class UserChange(BaseModel):
    role: str | None = None
    disabled: bool | None = None


class UserItem(BaseModel):
    id: int
    username: str
    role: str
    disabled: bool
    created: datetime


class UserList(BaseModel):
    items: list[UserItem]


def user_item(user: User) -> UserItem:
    return UserItem(
        id=user.id,
        username=user.username,
        role=user.role,
        disabled=user.disabled,
        created=user.created_at,
    )


@router.get("", response_model=UserList)
def list_all(session: DbSession, _principal: Principal = Depends(admin_only)) -> UserList:
    return UserList(items=[user_item(user) for user in list_users(session)])


@router.post("", status_code=201, response_model=UserItem)
def create(
    request: UserRequest,
    session: DbSession,
    principal: Principal = Depends(admin_only),
) -> UserItem:
    try:
        user = create_user(session, request.username, request.password, request.role)
    except AuthError as exc:
        raise HTTPException(400, str(exc)) from None
    audit(session, principal, "user.create", user.username, f"role {user.role}")
    return user_item(user)


@router.patch("/{user_id}", response_model=UserItem)
def change(
    user_id: int,
    request: UserChange,
    session: DbSession,
    principal: Principal = Depends(admin_only),
) -> UserItem:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    if user.id == principal.user_id:
        raise HTTPException(400, "admins cannot change their own role or disable themselves")
    if request.role is not None:
        try:
            check_role(request.role)
        except AuthError as exc:
            raise HTTPException(400, str(exc)) from None
        audit(session, principal, "user.role", user.username, f"{user.role} -> {request.role}")
        user.role = request.role
    if request.disabled is not None:
        audit(
            session, principal, "user.disable" if request.disabled else "user.enable", user.username
        )
        user.disabled = request.disabled
    return user_item(user)
