"""Risk acceptances through the API: create, list, revoke — with the audit trail; both databases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.policy.acceptances import acceptances_from_records
from mamori.server.auth.service import create_user
from mamori.server.auth.tables import AuditEvent, User
from mamori.server.db import utcnow
from mamori.server.scans.tables import RiskAcceptance
from tests.server.conftest import TokenFor
from tests.server.scan_documents import bearer

URL = "/api/v1/acceptances"


@pytest.fixture
def analyst(db: Session) -> User:
    user = create_user(db, "alice", "a long enough password", "analyst")
    db.commit()
    return user


@pytest.fixture
def analyst_token(token_for: TokenFor, analyst: User) -> dict[str, str]:
    return bearer(token_for("scan:write", "read", user=analyst))


def in_days(days: int) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def accept(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    request = {"reason": "not reachable", "expires": in_days(30), **body}
    return client.post(URL, json=request, headers=headers)


def test_lifecycle_is_audited(
    client: TestClient, db: Session, analyst_token: dict[str, str], token_for: TokenFor
) -> None:
    created = accept(
        client,
        analyst_token,
        vulnerability="CVE-2023-4911",
        package={"name": "libc6", "version": "2.36-9"},
        image="registry.local/acme/*",
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert item == {
        "id": item["id"],
        "vulnerability": "CVE-2023-4911",
        "package": {"name": "libc6", "version": "2.36-9"},
        "image": "registry.local/acme/*",
        "reason": "not reachable",
        "author": "alice",
        "expires": in_days(30),
        "created": utcnow().date().isoformat(),
        "revoked": False,
    }
    ci = bearer(token_for("scan:write"))  # what a pipeline holds
    listed = client.get(URL, params={"image": "registry.local/acme/shop:1"}, headers=ci).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]]
    other = client.get(URL, params={"image": "registry.local/other:1"}, headers=ci).json()
    assert other["items"] == []
    # What the scan client does with the items: they are valid acceptance records.
    fields = ("vulnerability", "package", "image", "reason", "author", "expires", "created")
    records = [
        {k: v for k, v in i.items() if k in fields and v is not None} for i in listed["items"]
    ]
    (converted,) = acceptances_from_records(records, "server")
    assert converted.vulnerability == "CVE-2023-4911"

    revoke_url = f"{URL}/{item['id']}/revoke"
    revoked = client.post(revoke_url, json={"reason": "fixed upstream"}, headers=analyst_token)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked"] is True
    assert client.get(URL, headers=ci).json()["items"] == []
    history = client.get(URL, params={"state": "revoked"}, headers=ci).json()["items"]
    assert [i["id"] for i in history] == [item["id"]]
    again = client.post(revoke_url, json={"reason": "twice"}, headers=analyst_token)
    assert again.status_code == 400 and "revoked already" in again.json()["detail"]

    row = db.get(RiskAcceptance, item["id"])
    assert row is not None and row.revoke_reason == "fixed upstream"
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.actor, e.action, e.target) for e in events] == [
        ("alice", "acceptance.create", f"acceptance {item['id']}"),
        ("alice", "acceptance.revoke", f"acceptance {item['id']}"),
    ]
    assert "reason=not reachable" in events[0].detail
    assert events[1].detail == "fixed upstream"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give at least one of vulnerability, package and image"),
        ({"vulnerability": "CVE-1", "reason": "  "}, "reason: a reason is required"),
        ({"vulnerability": "CVE-1", "expires": "2020-01-01"}, "expires: 2020-01-01 is in the past"),
        ({"vulnerability": "CVE-1", "expires": "someday"}, "body.expires: "),
        ({"package": {"name": ""}}, "body.package.name: "),
    ],
)
def test_invalid_acceptances_are_400(
    client: TestClient, analyst_token: dict[str, str], body: dict[str, Any], message: str
) -> None:
    response = accept(client, analyst_token, **body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_who_may_accept(
    client: TestClient, db: Session, token_for: TokenFor, analyst_token: dict[str, str]
) -> None:
    viewer = create_user(db, "victor", "a long enough password", "viewer")
    db.commit()
    viewer_token = bearer(token_for("read", user=viewer))
    assert accept(client, viewer_token, vulnerability="CVE-1").status_code == 403
    assert client.get(URL, headers=viewer_token).status_code == 200
    read_only = bearer(token_for("read"))  # an admin's token without scan:write
    assert accept(client, read_only, vulnerability="CVE-1").status_code == 403
    assert accept(client, bearer(token_for("admin")), vulnerability="CVE-1").status_code == 201
    assert client.post(URL, json={"vulnerability": "CVE-1"}).status_code == 401
    created = accept(client, analyst_token, vulnerability="CVE-2").json()
    refused = client.post(
        f"{URL}/{created['id']}/revoke", json={"reason": "no"}, headers=viewer_token
    )
    assert refused.status_code == 403
    missing = client.post(f"{URL}/999999/revoke", json={"reason": "x"}, headers=analyst_token)
    assert missing.status_code == 404


def test_expired_acceptances_are_listed_on_request(
    client: TestClient, db: Session, analyst: User, analyst_token: dict[str, str]
) -> None:
    live = accept(client, analyst_token, vulnerability="CVE-LIVE").json()
    db.add(
        RiskAcceptance(
            vulnerability="CVE-OLD",
            reason="was fine then",
            author_id=analyst.id,
            created_at=utcnow() - timedelta(days=60),
            expires=date.today() - timedelta(days=2),
        )
    )
    db.commit()

    def ids(**params: Any) -> list[str]:
        response = client.get(URL, params=params, headers=analyst_token)
        return [i["vulnerability"] for i in response.json()["items"]]

    assert ids() == ["CVE-LIVE"]
    assert ids(include_expired="true") == ["CVE-LIVE", "CVE-OLD"]
    assert ids(state="expired") == ["CVE-OLD"]
    assert ids(state="all") == ["CVE-LIVE", "CVE-OLD"]
    assert live["vulnerability"] == "CVE-LIVE"
    assert client.get(URL, params={"state": "gone"}, headers=analyst_token).status_code == 400
