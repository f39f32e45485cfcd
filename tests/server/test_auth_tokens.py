"""Bearer tokens: accepted with their scopes; refused when wrong, revoked, or an agent key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.server.auth.agent_keys import agent_key_for, create_agent_key, revoke_agent_key
from mamori.server.auth.service import create_user
from mamori.server.auth.tables import ApiToken, AuditEvent, User
from tests.server.conftest import TokenFor

WHOAMI = "/api/v1/auth/whoami"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def analyst(db: Session) -> User:
    user = create_user(db, "ana", "analyst password 1", "analyst")
    db.commit()
    return user


def test_token_with_scope_is_accepted(client: TestClient, token_for: TokenFor) -> None:
    response = client.get(WHOAMI, headers=bearer(token_for("read")))
    assert response.status_code == 200
    assert response.json() == {
        "username": "admin",
        "role": "admin",
        "scopes": ["read"],
        "via": "token",
    }


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer mamori_" + "x" * 43,
        "Bearer nonsense",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer ",
        "mamori_",
    ],
)
def test_wrong_or_malformed_token_is_401(client: TestClient, authorization: str) -> None:
    response = client.get(WHOAMI, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


def test_no_credential_is_401(client: TestClient) -> None:
    response = client.get(WHOAMI)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_revoked_token_is_401(client: TestClient, token_for: TokenFor, db: Session) -> None:
    token = token_for("read")
    assert client.get(WHOAMI, headers=bearer(token)).status_code == 200
    row = db.scalars(select(ApiToken)).one()
    assert row.last_used_at is not None
    revoked = client.post(f"/api/v1/tokens/{row.id}/revoke", headers=bearer(token))
    assert revoked.status_code == 200
    assert revoked.json()["revoked"] is not None
    assert client.get(WHOAMI, headers=bearer(token)).status_code == 401


def test_missing_scope_is_403(client: TestClient, token_for: TokenFor) -> None:
    response = client.get(WHOAMI, headers=bearer(token_for("scan:write")))
    assert response.status_code == 403
    assert "'read'" in response.json()["detail"]


def test_admin_scope_implies_the_others(client: TestClient, token_for: TokenFor) -> None:
    assert client.get(WHOAMI, headers=bearer(token_for("admin"))).status_code == 200


def test_agent_key_is_not_a_user_token(client: TestClient, db: Session, admin: User) -> None:
    key, plaintext = create_agent_key(db, "fargate", admin)
    db.commit()
    assert plaintext.startswith("mamori_agent_")
    assert key.prefix == plaintext[: len("mamori_agent_") + 6]
    assert client.get(WHOAMI, headers=bearer(plaintext)).status_code == 401
    assert agent_key_for(db, plaintext) is not None
    revoke_agent_key(db, key)
    assert agent_key_for(db, plaintext) is None


def test_user_token_is_not_an_agent_key(db: Session, token_for: TokenFor) -> None:
    assert agent_key_for(db, token_for("read")) is None


def test_disabled_user_token_is_401(
    client: TestClient, token_for: TokenFor, db: Session, analyst: User
) -> None:
    token = token_for("read", user=analyst)
    assert client.get(WHOAMI, headers=bearer(token)).status_code == 200
    analyst.disabled = True
    db.commit()
    assert client.get(WHOAMI, headers=bearer(token)).status_code == 401


def test_role_bounds_token_scopes(
    client: TestClient, token_for: TokenFor, db: Session, analyst: User
) -> None:
    token = token_for("read", "scan:write", user=analyst)
    analyst.role = "viewer"
    db.commit()
    assert client.get(WHOAMI, headers=bearer(token)).json()["scopes"] == ["read"]


def test_create_returns_plaintext_once_and_lists_prefix_only(
    client: TestClient, token_for: TokenFor, db: Session
) -> None:
    auth = bearer(token_for("read", "scan:write"))
    created = client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": ["scan:write"]}, headers=auth
    )
    assert created.status_code == 201
    body = created.json()
    plaintext = body["token"]
    assert plaintext.startswith("mamori_") and len(plaintext) == len("mamori_") + 43
    assert body["prefix"] == plaintext[:13] and body["scopes"] == ["scan:write"]
    listed = client.get("/api/v1/tokens", headers=auth)
    assert listed.status_code == 200
    assert plaintext not in listed.text
    assert {item["name"] for item in listed.json()["items"]} == {"test", "ci"}
    assert "token" not in listed.json()["items"][0]
    stored = db.scalars(select(ApiToken).where(ApiToken.name == "ci")).one()
    assert plaintext not in (stored.token_hash, stored.prefix)
    actions = db.scalars(select(AuditEvent.action)).all()
    assert "token.create" in actions


def test_token_cannot_grant_more_than_it_holds(client: TestClient, token_for: TokenFor) -> None:
    auth = bearer(token_for("read"))
    response = client.post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["scan:write"]}, headers=auth
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"name": "x", "scopes": ["root"]}, "unknown scope 'root'"),
        ({"name": "x", "scopes": []}, "scopes"),
        ({"scopes": ["read"]}, "name"),
        ({"name": "x", "scopes": ["read"], "username": "ghost"}, "no user 'ghost'"),
    ],
)
def test_bad_token_requests(
    client: TestClient, token_for: TokenFor, payload: dict[str, object], fragment: str
) -> None:
    response = client.post("/api/v1/tokens", json=payload, headers=bearer(token_for("admin")))
    assert response.status_code in (400, 404)
    assert fragment in response.json()["detail"]


def test_viewer_cannot_hold_scan_write(
    client: TestClient, token_for: TokenFor, db: Session
) -> None:
    viewer = create_user(db, "vera", "viewer password 1", "viewer")
    db.commit()
    response = client.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["scan:write"], "username": "vera"},
        headers=bearer(token_for("admin")),
    )
    assert response.status_code == 400
    assert "role viewer cannot hold scope 'scan:write'" in response.json()["detail"]
    assert viewer.id is not None


def test_users_manage_their_own_tokens_and_admin_all(
    client: TestClient, token_for: TokenFor, analyst: User
) -> None:
    admin_auth = bearer(token_for("admin"))
    analyst_auth = bearer(token_for("read", user=analyst))
    admin_token_id = client.get("/api/v1/tokens", headers=admin_auth).json()["items"][0]["id"]
    # another user's token is invisible: 404, not 403, so ids do not leak
    assert (
        client.post(f"/api/v1/tokens/{admin_token_id}/revoke", headers=analyst_auth).status_code
        == 404
    )
    assert client.get("/api/v1/tokens?all_users=true", headers=analyst_auth).status_code == 403
    mine = client.get("/api/v1/tokens", headers=analyst_auth).json()["items"]
    assert [item["username"] for item in mine] == ["ana"]
    everyone = client.get("/api/v1/tokens?all_users=true", headers=admin_auth).json()["items"]
    assert {item["username"] for item in everyone} == {"admin", "ana"}
    other = client.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["read"], "username": "admin"},
        headers=analyst_auth,
    )
    assert other.status_code == 403
    revoked = client.post(f"/api/v1/tokens/{mine[0]['id']}/revoke", headers=admin_auth)
    assert revoked.status_code == 200
    assert client.get(WHOAMI, headers=analyst_auth).status_code == 401
