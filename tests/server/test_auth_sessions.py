"""Console sessions: the cookie, CSRF on unsafe requests, logout, expiry, login rate limiting."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.server.app import create_app
from mamori.server.auth.tables import AuditEvent, LoginFailure, LoginSession, User
from mamori.server.db import utcnow
from mamori.server.settings import Settings
from tests.server.conftest import ADMIN_PASSWORD

SESSION = "/api/v1/auth/session"
WHOAMI = "/api/v1/auth/whoami"


def log_in(client: TestClient, password: str = ADMIN_PASSWORD, username: str = "admin") -> str:
    """Log in; returns the CSRF token."""
    response = client.post(SESSION, json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def revoke_url(client: TestClient) -> str:
    """An unsafe endpoint to exercise CSRF with: revoke a token of one's own."""
    created = client.post(
        "/api/v1/tokens",
        json={"name": "t", "scopes": ["read"]},
        headers={"X-CSRF-Token": client.headers.get("X-CSRF-Token", "")},
    )
    assert created.status_code == 201, created.text
    return f"/api/v1/tokens/{created.json()['id']}/revoke"


def test_login_sets_a_safe_cookie(client: TestClient, admin: User) -> None:
    response = client.post(SESSION, json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "admin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("mamori_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # public_url is http
    who = client.get(WHOAMI)
    assert who.status_code == 200
    assert who.json() == {
        "username": "admin",
        "role": "admin",
        "scopes": ["admin", "read", "scan:write"],
        "via": "session",
    }


def test_cookie_is_secure_behind_https(settings: Settings, admin: User) -> None:
    https = create_app(
        Settings(
            database_url=settings.database_url,
            data_dir=settings.data_dir,
            public_url="https://mamori.example.test",
        )
    )
    with TestClient(https) as client:
        response = client.post(SESSION, json={"username": "admin", "password": ADMIN_PASSWORD})
    assert "Secure" in response.headers["set-cookie"]


def test_session_row_keeps_only_a_hash(client: TestClient, admin: User, db: Session) -> None:
    log_in(client)
    cookie_value = client.cookies["mamori_session"]
    row = db.scalars(select(LoginSession)).one()
    assert row.id != cookie_value and len(row.id) == 64
    assert row.expires_at > utcnow() + timedelta(hours=11)


def test_unsafe_request_needs_the_csrf_token(client: TestClient, admin: User) -> None:
    csrf = log_in(client)
    missing = client.post("/api/v1/tokens", json={"name": "t", "scopes": ["read"]})
    assert missing.status_code == 403
    assert missing.json()["detail"] == "missing or wrong CSRF token"
    wrong = client.post(
        "/api/v1/tokens", json={"name": "t", "scopes": ["read"]}, headers={"X-CSRF-Token": "x"}
    )
    assert wrong.status_code == 403
    client.headers["X-CSRF-Token"] = csrf
    url = revoke_url(client)
    del client.headers["X-CSRF-Token"]
    assert client.post(url, data={"csrf_token": "wrong"}).status_code == 403
    assert client.post(url).status_code == 403
    assert client.post(url, data={"csrf_token": csrf}).status_code == 200  # form field
    assert client.get(WHOAMI).status_code == 200  # safe methods need none


def test_csrf_token_of_another_session_is_refused(app: FastAPI, admin: User) -> None:
    with TestClient(app) as first, TestClient(app) as second:
        first_csrf = log_in(first)
        log_in(second)
        response = second.delete(SESSION, headers={"X-CSRF-Token": first_csrf})
        assert response.status_code == 403


def test_logout_ends_the_session(client: TestClient, admin: User, db: Session) -> None:
    csrf = log_in(client)
    cookie_value = client.cookies["mamori_session"]
    response = client.delete(SESSION, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert 'mamori_session=""' in response.headers["set-cookie"]
    assert db.scalars(select(LoginSession)).all() == []
    client.cookies.set("mamori_session", cookie_value)
    assert client.get(WHOAMI).status_code == 401


def test_expired_session_is_401(client: TestClient, admin: User, db: Session) -> None:
    log_in(client)
    row = db.scalars(select(LoginSession)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.commit()
    assert client.get(WHOAMI).status_code == 401


def test_disabled_user_session_is_401(client: TestClient, admin: User, db: Session) -> None:
    log_in(client)
    admin.disabled = True
    db.commit()
    assert client.get(WHOAMI).status_code == 401


def test_wrong_password_and_unknown_user_look_alike(client: TestClient, admin: User) -> None:
    wrong = client.post(SESSION, json={"username": "admin", "password": "not the password"})
    unknown = client.post(SESSION, json={"username": "nobody", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"detail": "wrong username or password"}
    assert "set-cookie" not in wrong.headers


def test_login_rate_limit(client: TestClient, admin: User, db: Session) -> None:
    for _ in range(5):
        response = client.post(SESSION, json={"username": "admin", "password": "guess guess"})
        assert response.status_code == 401
    throttled = client.post(SESSION, json={"username": "admin", "password": ADMIN_PASSWORD})
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["retry-after"])
    assert 1 <= retry_after <= 300
    assert "too many failed logins" in throttled.json()["detail"]
    assert client.get(WHOAMI).status_code == 401
    # the limit is per username (and address): another account is not locked out by it
    other = client.post(SESSION, json={"username": "someone", "password": "guess guess"})
    assert other.status_code == 401
    failures = db.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failures) == 6


def test_rate_limit_window_passes(settings: Settings, admin: User) -> None:
    quick = create_app(
        Settings(
            database_url=settings.database_url,
            data_dir=settings.data_dir,
            login_max_failures=2,
            login_window_seconds=60,
        )
    )
    with TestClient(quick) as client:
        for _ in range(2):
            client.post(SESSION, json={"username": "admin", "password": "guess guess"})
        assert client.post(SESSION, json={"username": "admin", "password": "x"}).status_code == 429
        with quick.state.sessions() as db:  # age the failures past the window, not sleep
            for failure in db.scalars(select(LoginFailure)):
                failure.at = utcnow() - timedelta(seconds=61)
            db.commit()
        log_in(client)
        # a later failure (anyone's) drops the failures that no longer count
        client.post(SESSION, json={"username": "someone", "password": "guess guess"})
        with quick.state.sessions() as db:
            assert db.scalars(select(LoginFailure.username)).all() == ["someone"]


def test_malformed_login_is_400(client: TestClient) -> None:
    response = client.post(SESSION, json={"username": "admin"})
    assert response.status_code == 400
    assert response.json() == {"detail": "body.password: Field required"}
    assert (
        client.post(SESSION, content=b"{", headers={"content-type": "application/json"}).status_code
        == 400
    )


def test_cross_site_form_cannot_log_in(client: TestClient, admin: User) -> None:
    """Another site can post text/plain or a form without a preflight; neither opens a session."""
    body = json.dumps({"username": "admin", "password": ADMIN_PASSWORD}).encode()
    plain = client.post(SESSION, content=body, headers={"content-type": "text/plain"})
    form = client.post(SESSION, data={"username": "admin", "password": ADMIN_PASSWORD})
    assert plain.status_code == form.status_code == 400
    assert "set-cookie" not in plain.headers and "set-cookie" not in form.headers
