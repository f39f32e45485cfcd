"""Console login sessions: password login with a rate limit, the session cookie, CSRF tokens.

The cookie holds a random id; the database keeps only its sha256, so a leaked database does not
hand out live sessions. Each session carries its own CSRF secret, sent back by forms as the
`csrf_token` field or by scripts as the `X-CSRF-Token` header.
"""

from __future__ import annotations

import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from fastapi import Request, Response
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mamori.server.auth.audit import audit
from mamori.server.auth.credentials import secret_hash, verify_password
from mamori.server.auth.principal import Principal
from mamori.server.auth.service import principal_for_user, user_by_name
from mamori.server.auth.tables import LoginFailure, LoginSession
from mamori.server.db import utcnow
from mamori.server.settings import Settings

SESSION_COOKIE = "mamori_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class LoginResult:
    """`ok`: `cookie_value` and `csrf_token` are set; `throttled`: `retry_after` seconds."""

    outcome: Literal["ok", "invalid", "throttled"]
    principal: Principal | None = None
    cookie_value: str | None = None
    csrf_token: str | None = None
    retry_after: int | None = None


def _retry_after(session: Session, username: str, client_ip: str, settings: Settings) -> int | None:
    """Seconds until another attempt is allowed, or None when attempts are allowed now."""
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    key = (LoginFailure.username == username, LoginFailure.client_ip == client_ip)
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(*key, LoginFailure.at > since)
    ).one()
    if count < settings.login_max_failures:
        return None
    return max(1, math.ceil((oldest - since).total_seconds()))


def _forget_old_failures(session: Session, settings: Settings) -> None:
    """Failures older than the window no longer count; dropping them keeps the table small."""
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    session.execute(delete(LoginFailure).where(LoginFailure.at <= since))


def login(
    session: Session, username: str, password: str, client_ip: str, settings: Settings
) -> LoginResult:
    """Check the password (rate limited per username and client address) and open a session."""
    username = username[:255]
    retry = _retry_after(session, username, client_ip, settings)
    if retry is not None:
        return LoginResult("throttled", retry_after=retry)
    user = user_by_name(session, username)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or user.disabled:
        _forget_old_failures(session, settings)
        session.add(LoginFailure(username=username, client_ip=client_ip, at=utcnow()))
        audit(session, None, "login.failed", username, f"from {client_ip}")
        return LoginResult("invalid")
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.client_ip == client_ip
        )
    )
    cookie_value = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    row = LoginSession(
        id=secret_hash(cookie_value),
        user=user,
        csrf_secret=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_seconds),
    )
    session.add(row)
    principal = principal_for_user(user, "session")
    audit(session, principal, "login", username, f"from {client_ip}")
    return LoginResult("ok", principal, cookie_value, csrf_token(row))


def session_from_cookie(session: Session, cookie_value: str | None) -> LoginSession | None:
    """The live session the cookie names; None when unknown, expired or the user is disabled."""
    if not cookie_value:
        return None
    row = session.get(LoginSession, secret_hash(cookie_value))
    if row is None or row.expires_at <= utcnow() or row.user.disabled:
        return None
    return row


def logout(session: Session, cookie_value: str | None) -> None:
    row = session_from_cookie(session, cookie_value)
    if row is not None:
        audit(session, principal_for_user(row.user, "session"), "logout", row.user.username)
        session.delete(row)


def csrf_token(login_session: LoginSession) -> str:
    return login_session.csrf_secret


def csrf_valid(login_session: LoginSession, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(
        presented.encode(), login_session.csrf_secret.encode()
    )


def set_session_cookie(response: Response, result: LoginResult, settings: Settings) -> None:
    assert result.cookie_value is not None
    response.set_cookie(
        SESSION_COOKIE,
        result.cookie_value,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.secure_cookies, path="/"
    )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
