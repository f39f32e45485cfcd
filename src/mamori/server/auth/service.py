"""Users and user API tokens: create, list, revoke, and resolve a bearer token to a Principal."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.server.auth.credentials import (
    AGENT_KEY_PREFIX,
    USER_TOKEN_PREFIX,
    hash_password,
    new_secret,
    secret_hash,
    shown_prefix,
)
from mamori.server.auth.principal import ROLE_SCOPES, ROLES, SCOPES, Principal
from mamori.server.auth.tables import ApiToken, User
from mamori.server.db import utcnow

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
LAST_USED_RESOLUTION = timedelta(minutes=1)  # fewer writes: last_used_at moves per minute


class AuthError(ValueError):
    """A request to the identity service that cannot be honoured; the message is for the user."""


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")


def check_role(role: str) -> None:
    if role not in ROLES:
        raise AuthError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    wanted = frozenset(scopes)
    unknown = sorted(wanted - SCOPES)
    if unknown:
        raise AuthError(f"unknown scope {unknown[0]!r}: use {', '.join(sorted(SCOPES))}")
    if not wanted:
        raise AuthError("a token needs at least one scope")
    return wanted


def create_user(session: Session, username: str, password: str, role: str) -> User:
    if not USERNAME.fullmatch(username):
        raise AuthError(
            "invalid username: 1-64 letters, digits or . _ @ -, starting with a letter or digit"
        )
    check_role(role)
    check_password(password)
    if user_by_name(session, username) is not None:
        raise AuthError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=role)
    user.created_at = utcnow()
    user.disabled = False
    session.add(user)
    session.flush()
    return user


def user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def list_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def create_api_token(
    session: Session, user: User, name: str, scopes: Iterable[str]
) -> tuple[ApiToken, str]:
    """A new token for `user`; returns the row and the plaintext (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AuthError("token name must be 1-100 characters")
    wanted = check_scopes(scopes)
    beyond = sorted(wanted - ROLE_SCOPES[user.role])
    if beyond:
        raise AuthError(f"role {user.role} cannot hold scope {beyond[0]!r}")
    plaintext = new_secret(USER_TOKEN_PREFIX)
    token = ApiToken(
        user=user,
        name=name,
        token_hash=secret_hash(plaintext),
        prefix=shown_prefix(plaintext, USER_TOKEN_PREFIX),
        scopes=" ".join(sorted(wanted)),
        created_at=utcnow(),
    )
    session.add(token)
    session.flush()
    return token, plaintext


def list_api_tokens(session: Session, user_id: int | None) -> Sequence[ApiToken]:
    """Tokens of one user, or of everyone when `user_id` is None; newest first."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return session.scalars(query).all()


def revoke_api_token(session: Session, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()


def principal_for_user(
    user: User, via: Literal["token", "session"], scopes: frozenset[str] | None = None
) -> Principal:
    """The user's role bounds the scopes: a demoted user's tokens lose what the role lost."""
    granted = ROLE_SCOPES[user.role] if scopes is None else scopes & ROLE_SCOPES[user.role]
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        scopes=granted,
        via=via,
    )


def principal_for_token(session: Session, plaintext: str) -> Principal | None:
    """The principal of a live user token; None for unknown, revoked, agent keys, disabled users."""
    if not plaintext.startswith(USER_TOKEN_PREFIX) or plaintext.startswith(AGENT_KEY_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == secret_hash(plaintext)))
    if token is None or token.revoked_at is not None or token.user.disabled:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return principal_for_user(token.user, "token", token.scope_set)
