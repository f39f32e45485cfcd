"""The users API (admin only): create, list, change role, disable; audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.server.auth.tables import AuditEvent, User
from tests.server.conftest import TokenFor

USERS = "/api/v1/users"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_lists_and_changes_users(
    client: TestClient, token_for: TokenFor, db: Session
) -> None:
    auth = bearer(token_for("admin"))
    created = client.post(
        USERS,
        json={"username": "ana", "password": "analyst password 1", "role": "analyst"},
        headers=auth,
    )
    assert created.status_code == 201
    ana = created.json()
    assert (ana["username"], ana["role"], ana["disabled"]) == ("ana", "analyst", False)
    assert "password" not in created.text
    listed = client.get(USERS, headers=auth).json()["items"]
    assert [user["username"] for user in listed] == ["admin", "ana"]
    changed = client.patch(
        f"{USERS}/{ana['id']}", json={"role": "viewer", "disabled": True}, headers=auth
    )
    assert changed.status_code == 200
    assert (changed.json()["role"], changed.json()["disabled"]) == ("viewer", True)
    stored = db.get(User, ana["id"])
    assert stored is not None and stored.password_hash.startswith("$argon2id$")
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["user.create", "user.role", "user.disable"]
    actors = set(db.scalars(select(AuditEvent.actor)).all())
    assert actors == {"admin"}


def test_non_admin_is_403(client: TestClient, token_for: TokenFor) -> None:
    auth = bearer(token_for("read", "scan:write"))
    assert client.get(USERS, headers=auth).status_code == 403
    response = client.post(
        USERS, json={"username": "x", "password": "p" * 20, "role": "admin"}, headers=auth
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"username": "bob", "password": "short", "role": "viewer"}, "password too short"),
        ({"username": "bob", "password": "long enough pw", "role": "root"}, "unknown role 'root'"),
        (
            {"username": "<script>", "password": "long enough pw", "role": "viewer"},
            "invalid username",
        ),
        ({"username": "admin", "password": "long enough pw", "role": "viewer"}, "already exists"),
        ({"username": "bob", "role": "viewer"}, "body.password: Field required"),
    ],
)
def test_bad_user_requests_are_400(
    client: TestClient, token_for: TokenFor, payload: dict[str, str], fragment: str
) -> None:
    response = client.post(USERS, json=payload, headers=bearer(token_for("admin")))
    assert response.status_code == 400
    assert fragment in response.json()["detail"]


def test_admin_cannot_lock_themselves_out(
    client: TestClient, token_for: TokenFor, admin: User
) -> None:
    auth = bearer(token_for("admin"))
    response = client.patch(f"{USERS}/{admin.id}", json={"disabled": True}, headers=auth)
    assert response.status_code == 400
    assert client.patch(f"{USERS}/999999", json={"role": "viewer"}, headers=auth).status_code == 404
