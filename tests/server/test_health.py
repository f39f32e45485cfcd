"""Health, readiness, metrics, the upload size limit, validation errors and the OpenAPI page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from fastapi.testclient import TestClient

from mamori.server.app import create_app
from mamori.server.settings import Settings
from tests.server.conftest import TokenFor
from tests.server.scan_documents import Document, demo_documents, demo_workdir, dumps

__all__ = ["demo_documents", "demo_workdir"]  # fixtures


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_when_migrated(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readyz_refuses_an_unmigrated_database(empty_database_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=empty_database_url, data_dir=tmp_path))
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "mamori server migrate" in response.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_readyz_refuses_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql://postgres@127.0.0.1:1/none"  # port 1: nothing listens
    with TestClient(create_app(Settings(database_url=url, data_dir=tmp_path))) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("database unreachable")
        metrics = client.get("/metrics").text
        assert "mamori_db_up 0.0" in metrics


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_count_requests_by_route(client: TestClient, token_for: TokenFor) -> None:
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/route")
    client.get("/api/v1/auth/whoami", headers={"Authorization": "Bearer nope"})
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert sample(text, "mamori_http_requests_total", route="/healthz", status="200") == 3
    assert sample(text, "mamori_http_requests_total", route="unmatched", status="404") == 1
    assert (
        sample(text, "mamori_http_requests_total", route="/api/v1/auth/whoami", status="401") == 1
    )
    assert sample(text, "mamori_http_request_duration_seconds_count", route="/healthz") == 3
    assert sample(text, "mamori_db_up") == 1
    assert sample(text, "mamori_scans_stored") == 0


def test_metrics_count_stored_scans(
    client: TestClient, token_for: TokenFor, demo_documents: dict[str, Document]
) -> None:
    upload = client.post(
        "/api/v1/scans",
        content=dumps(demo_documents["vulnerable"]),
        headers={"Authorization": f"Bearer {token_for('scan:write')}"},
    )
    assert upload.status_code == 201, upload.text
    assert sample(client.get("/metrics").text, "mamori_scans_stored") == 1


def small_limit_client(settings: Settings) -> TestClient:
    limited = Settings(
        database_url=settings.database_url, data_dir=settings.data_dir, max_upload_bytes=1000
    )
    return TestClient(create_app(limited))


def test_body_over_the_limit_is_413(settings: Settings, token_for: TokenFor) -> None:
    auth = {"Authorization": f"Bearer {token_for('admin')}"}
    payload = {"name": "x" * 2000, "scopes": ["read"]}
    with small_limit_client(settings) as client:
        response = client.post("/api/v1/tokens", json=payload, headers=auth)
        assert response.status_code == 413
        assert response.json() == {
            "detail": "request body larger than the upload limit of 1000 bytes"
        }
        ok = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["read"]}, headers=auth)
        assert ok.status_code == 201


def test_chunked_body_over_the_limit_is_413(settings: Settings, token_for: TokenFor) -> None:
    """No Content-Length: the bytes are counted as they stream in."""
    auth = {"Authorization": f"Bearer {token_for('admin')}", "content-type": "application/json"}

    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(20):
            yield b"x" * 100
        yield b'", "scopes": ["read"]}'

    with small_limit_client(settings) as client:
        response = client.post("/api/v1/tokens", content=chunks(), headers=auth)
        assert "content-length" not in response.request.headers
        assert response.status_code == 413
        assert "upload limit of 1000 bytes" in response.json()["detail"]


def test_openapi_lists_paths_with_tags(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    tags = {
        tag for path in spec["paths"].values() for op in path.values() for tag in op.get("tags", [])
    }
    assert {"health", "auth", "tokens", "users"} <= tags
    assert "/api/v1/tokens/{token_id}/revoke" in spec["paths"]
