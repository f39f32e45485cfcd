"""The scan API on SQLite and PostgreSQL, with the documents `mamori demo` produces."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from mamori.server.app import create_app
from mamori.server.settings import Settings
from tests.server.conftest import TokenFor
from tests.server.scan_documents import (
    Document,
    bearer,
    demo_documents,
    demo_workdir,
    dumps,
    renamed,
    variant,
)

__all__ = ["demo_documents", "demo_workdir"]  # fixtures

EARLY, MIDDLE, LATE = "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z", "2026-11-21T10:00:00Z"


@pytest.fixture
def writer(token_for: TokenFor) -> dict[str, str]:
    return bearer(token_for("scan:write", "read"))


def upload(client: TestClient, headers: dict[str, str], document: Document) -> Any:
    response = client.post("/api/v1/scans", content=dumps(document), headers=headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def story(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> dict[str, str]:
    """The vulnerable scan, then the fixed one a day later: their ids."""
    vulnerable = variant(demo_documents["vulnerable"], created_at=EARLY)
    fixed = variant(demo_documents["fixed"], created_at=LATE)
    return {
        "vulnerable": upload(client, writer, vulnerable)["id"],
        "fixed": upload(client, writer, fixed)["id"],
    }


def test_upload_is_idempotent(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> None:
    document = demo_documents["vulnerable"]
    first = client.post("/api/v1/scans", content=dumps(document), headers=writer)
    assert first.status_code == 201
    body = first.json()
    assert body["created"] is True
    assert body["url"] == f"http://testserver/scans/{body['id']}"
    indented = orjson.dumps(document, option=orjson.OPT_INDENT_2)  # same document, other bytes
    again = client.post("/api/v1/scans", content=indented, headers=writer)
    assert again.status_code == 200
    assert again.json() == {**body, "created": False}
    listed = client.get("/api/v1/scans", headers=writer).json()
    assert listed["total"] == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"schema": "mamori.scan/v1", ', "malformed JSON"),
        (b"[1, 2]", "a scan document must be a JSON object"),
        (b'{"schema": "other/v9"}', "schema: Input should be 'mamori.scan/v1'"),
    ],
)
def test_bad_documents_are_refused_with_one_line(
    client: TestClient, writer: dict[str, str], body: bytes, message: str
) -> None:
    response = client.post("/api/v1/scans", content=body, headers=writer)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith(message)
    assert "\n" not in detail


def test_invalid_fields_are_named(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> None:
    document = dict(demo_documents["vulnerable"])
    del document["image"]
    response = client.post("/api/v1/scans", content=dumps(document), headers=writer)
    assert response.status_code == 400
    assert response.json()["detail"] == "image: Field required"

    wrong_type = orjson.loads(dumps(demo_documents["vulnerable"]))
    wrong_type["image"]["layers"][1]["size"] = "big"
    response = client.post("/api/v1/scans", content=dumps(wrong_type), headers=writer)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("image.layers.1.size: ")

    dangling = orjson.loads(dumps(demo_documents["vulnerable"]))
    dangling["findings"][0]["package"]["index"] = 999
    response = client.post("/api/v1/scans", content=dumps(dangling), headers=writer)
    assert response.status_code == 400
    assert response.json()["detail"] == "findings.0.package.index: 999 is not a package index"

    bad_time = variant(demo_documents["vulnerable"], created_at="yesterday")
    response = client.post("/api/v1/scans", content=dumps(bad_time), headers=writer)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("created_at: ")
    assert client.get("/api/v1/scans", headers=writer).json()["total"] == 0


def test_oversized_upload_is_413(
    settings: Settings, token_for: TokenFor, demo_documents: dict[str, Document]
) -> None:
    body = dumps(demo_documents["vulnerable"])
    with TestClient(create_app(replace(settings, max_upload_bytes=len(body) - 1))) as client:
        response = client.post(
            "/api/v1/scans", content=body, headers=bearer(token_for("scan:write"))
        )
    assert response.status_code == 413
    assert "upload limit" in response.json()["detail"]


def test_scopes(
    client: TestClient, token_for: TokenFor, demo_documents: dict[str, Document]
) -> None:
    body = dumps(demo_documents["fixed"])
    assert client.post("/api/v1/scans", content=body).status_code == 401
    reader = bearer(token_for("read"))
    assert client.post("/api/v1/scans", content=body, headers=reader).status_code == 403
    scanner = bearer(token_for("scan:write"))
    assert client.post("/api/v1/scans", content=body, headers=scanner).status_code == 201
    assert client.get("/api/v1/scans", headers=scanner).status_code == 403
    assert client.get("/api/v1/scans", headers=reader).status_code == 200
    bad = {"Authorization": "Bearer mamori_wrong"}
    response = client.get("/api/v1/scans", headers=bad)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_list_filters_and_pagination(
    client: TestClient, writer: dict[str, str], story: dict[str, str]
) -> None:
    def ids(**params: Any) -> list[str]:
        response = client.get("/api/v1/scans", params=params, headers=writer)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    vulnerable, fixed = story["vulnerable"], story["fixed"]
    assert ids() == [fixed, vulnerable]  # newest first
    assert ids(verdict="failed") == [vulnerable]
    assert ids(verdict="passed") == [fixed]
    assert ids(verdict="none") == []
    assert ids(severity="high") == [vulnerable]
    assert ids(severity="critical") == []
    assert ids(repository="mamori-demo") == [fixed, vulnerable]
    assert ids(repository="mamori") == []
    assert ids(tag="fixed") == [fixed]
    assert ids(q="VULNER") == [vulnerable]
    assert ids(since="2026-11-21T00:00:00Z") == [fixed]
    assert ids(until="2026-11-21T00:00:00") == [vulnerable]  # naive: UTC
    page = client.get("/api/v1/scans", params={"limit": 1, "offset": 1}, headers=writer).json()
    assert [i["id"] for i in page["items"]] == [vulnerable]
    assert (page["total"], page["offset"], page["limit"]) == (2, 1, 1)
    for bad in ({"verdict": "maybe"}, {"severity": "huge"}, {"limit": 0}, {"since": "x"}):
        response = client.get("/api/v1/scans", params=bad, headers=writer)
        assert response.status_code == 400, bad


def test_list_item_counts(
    client: TestClient,
    writer: dict[str, str],
    story: dict[str, str],
    demo_documents: dict[str, Document],
) -> None:
    items = client.get("/api/v1/scans", headers=writer).json()["items"]
    vulnerable = next(i for i in items if i["id"] == story["vulnerable"])
    findings = demo_documents["vulnerable"]["findings"]
    for rating, counts in vulnerable["counts"].items():
        of_rating = [f for f in findings if f["severity"]["rating"] == rating]
        assert counts["total"] == len(of_rating)
        assert counts["fixable"] == sum(f["status"] == "fixed" for f in of_rating)
    assert vulnerable["findings"] == len(findings) > 0
    assert vulnerable["packages"] == len(demo_documents["vulnerable"]["packages"])
    assert (vulnerable["repository"], vulnerable["tag"]) == ("mamori-demo", "vulnerable")
    assert vulnerable["verdict"] == "failed"
    assert vulnerable["created_at"].startswith("2026-11-20T10:00:00")
    assert vulnerable["ci"] is None


def test_detail_policy_and_config(
    client: TestClient, writer: dict[str, str], story: dict[str, str]
) -> None:
    detail = client.get(f"/api/v1/scans/{story['vulnerable']}", headers=writer).json()
    assert detail["verdict"] == "failed"
    first = detail["policy"][0]
    assert (first["rule_id"], first["passed"], first["informational"]) == (
        "severity_with_fix",
        False,
        False,
    )
    assert "CVE-2021-23337 lodash 4.17.20" in first["failed_findings"]
    checks = {issue["check"] for issue in detail["config_issues"]}
    assert {"root_user", "no_healthcheck"} <= checks
    assert detail["os"] == "Debian GNU/Linux 12 (bookworm)"
    assert detail["uploader"] == "admin"
    assert detail["previous_id"] is None
    fixed = client.get(f"/api/v1/scans/{story['fixed']}", headers=writer).json()
    assert fixed["previous_id"] == story["vulnerable"]
    for missing in ("999999", "abc", "1%27%20OR%201=1"):
        response = client.get(f"/api/v1/scans/{missing}", headers=writer)
        assert response.status_code == 404


def test_findings_filters_and_sorting(
    client: TestClient,
    writer: dict[str, str],
    story: dict[str, str],
    demo_documents: dict[str, Document],
) -> None:
    url = f"/api/v1/scans/{story['vulnerable']}/findings"

    def found(**params: Any) -> list[dict[str, Any]]:
        response = client.get(url, params=params, headers=writer)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    everything = found()
    assert len(everything) == len(demo_documents["vulnerable"]["findings"])
    ranks = ["critical", "high", "medium", "low", "negligible", "unknown"]
    assert [ranks.index(f["severity"]) for f in everything] == sorted(
        ranks.index(f["severity"]) for f in everything
    )
    high = found(severity="high")
    assert [(f["id"], f["package"]) for f in high] == [("CVE-2021-23337", "lodash")]
    assert high[0]["fixed_version"] == "4.17.21"
    assert high[0]["layer"] == 3  # brought by `RUN npm install express@4.18.2 lodash@4.17.20`
    assert {f["package"] for f in found(package="LODA")} == {"lodash"}
    assert all(f["ecosystem"] == "npm" for f in found(ecosystem="npm"))
    assert found(ecosystem="npm") == everything  # the demo's findings are all npm
    assert found(fixable="false") == [f for f in everything if f["status"] != "fixed"]
    assert [f["id"] for f in found(q="command injection")] == ["CVE-2021-23337"]
    by_package = [f["package"] for f in found(sort="package")]
    assert by_package == sorted(by_package)
    page = client.get(url, params={"limit": 1, "offset": 1}, headers=writer).json()
    assert page["items"] == everything[1:2] and page["total"] == len(everything)
    assert client.get(url, params={"sort": "nope"}, headers=writer).status_code == 400


def test_packages_and_layers(
    client: TestClient,
    writer: dict[str, str],
    story: dict[str, str],
    demo_documents: dict[str, Document],
) -> None:
    base = f"/api/v1/scans/{story['vulnerable']}"
    packages = client.get(f"{base}/packages", headers=writer).json()
    assert packages["total"] == len(demo_documents["vulnerable"]["packages"])
    lodash = next(p for p in packages["items"] if p["name"] == "lodash")
    assert (lodash["version"], lodash["findings"], lodash["worst_severity"]) == (
        "4.17.20",
        sum(f["package"]["name"] == "lodash" for f in demo_documents["vulnerable"]["findings"]),
        "high",
    )
    layers = client.get(f"{base}/layers", headers=writer).json()
    assert layers[0]["created_by"] == "ADD rootfs /"
    npm_layer = layers[3]
    assert npm_layer["counts"]["high"]["total"] == 1
    in_layer = client.get(f"{base}/packages", params={"layer": 3}, headers=writer).json()
    assert in_layer["total"] == npm_layer["packages"] > 0
    document = client.get(f"{base}/document", headers=writer).json()
    assert document == variant(demo_documents["vulnerable"], created_at=EARLY)


def test_compare_against_previous(
    client: TestClient,
    writer: dict[str, str],
    story: dict[str, str],
    demo_documents: dict[str, Document],
) -> None:
    response = client.get(f"/api/v1/scans/{story['fixed']}/compare", headers=writer)
    assert response.status_code == 200, response.text
    comparison = response.json()
    assert comparison["base"]["id"] == story["vulnerable"]
    vulnerable, fixed = demo_documents["vulnerable"], demo_documents["fixed"]
    fixed_keys = {(f["id"], f["package"]["name"]) for f in fixed["findings"]}
    expected_fixed = {
        (f["id"], f["package"]["name"])
        for f in vulnerable["findings"]
        if (f["id"], f["package"]["name"]) not in fixed_keys
    }
    assert {(f["id"], f["package"]) for f in comparison["fixed"]} == expected_fixed
    assert len(expected_fixed) == len(vulnerable["findings"]) - len(comparison["unchanged"])
    assert comparison["new"] == []

    def names(document: Document) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {}
        for p in document["packages"]:
            found.setdefault((p["name"], p["type"]), set()).add(p["version"])
        return found

    old, new = names(vulnerable), names(fixed)
    assert {(p["name"], p["type"]) for p in comparison["packages_added"]} == new.keys() - old.keys()
    assert {(p["name"], p["type"]) for p in comparison["packages_removed"]} == (
        old.keys() - new.keys()
    )
    changed = {(c["name"], c["type"]) for c in comparison["packages_changed"]}
    assert changed == {key for key in old.keys() & new.keys() if old[key] != new[key]}
    assert changed  # the fixed image upgrades express

    backwards = client.get(
        f"/api/v1/scans/{story['vulnerable']}/compare",
        params={"base": story["fixed"]},
        headers=writer,
    ).json()
    assert {(f["id"], f["package"]) for f in backwards["new"]} == expected_fixed
    assert backwards["fixed"] == []
    no_previous = client.get(f"/api/v1/scans/{story['vulnerable']}/compare", headers=writer)
    assert no_previous.status_code == 404
    assert "no earlier scan" in no_previous.json()["detail"]
    unknown_base = client.get(
        f"/api/v1/scans/{story['fixed']}/compare", params={"base": "424242"}, headers=writer
    )
    assert unknown_base.status_code == 404


def test_images_and_trend(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> None:
    vulnerable, fixed = demo_documents["vulnerable"], demo_documents["fixed"]
    name = "registry.local:5000/acme/shop"
    ids = [
        upload(client, writer, renamed(vulnerable, f"{name}:1.0", created_at=EARLY))["id"],
        upload(client, writer, renamed(fixed, f"{name}:1.0", created_at=LATE))["id"],
        upload(client, writer, renamed(vulnerable, f"{name}:0.9", created_at=MIDDLE))["id"],
        upload(client, writer, renamed(fixed, "registry.local/other:x", created_at=LATE))["id"],
    ]
    late_arrival = renamed(vulnerable, f"{name}:1.0", created_at="2026-11-01T00:00:00Z")
    upload(client, writer, late_arrival)  # an older scan uploaded last is not the latest
    images = client.get("/api/v1/images", headers=writer).json()
    by_tag = {(i["repository"], i["tag"]): i for i in images["items"]}
    assert images["total"] == 3
    assert by_tag[(name, "1.0")]["latest"]["id"] == ids[1]
    assert by_tag[(name, "1.0")]["scans"] == 3
    assert by_tag[(name, "1.0")]["latest"]["verdict"] == "passed"
    assert by_tag[(name, "0.9")]["latest"]["verdict"] == "failed"
    only = client.get("/api/v1/images", params={"repository": name}, headers=writer).json()
    assert {i["tag"] for i in only["items"]} == {"1.0", "0.9"}

    trend = client.get(f"/api/v1/repositories/{name}/trend", headers=writer).json()
    assert trend["repository"] == name
    assert [p["scan_id"] for p in trend["points"]][1:] == [ids[0], ids[2], ids[1]]  # oldest first
    assert trend["points"][1]["counts"]["high"]["total"] == 1
    assert trend["points"][-1]["counts"]["high"]["total"] == 0
    repositories = client.get("/api/v1/repositories", headers=writer).json()
    assert [(r["name"], r["scans"]) for r in repositories] == [
        ("registry.local/other", 1),
        (name, 4),
    ]
    missing = client.get("/api/v1/repositories/registry.local/none/trend", headers=writer)
    assert missing.status_code == 404


HOSTILE = "<script>alert('x')</script>\"'; DROP TABLE scans; -- %_\\"
HOSTILE_TAG = "<img src=x onerror=alert(1)>'; DROP TABLE scans; -- %_\\"  # no ':' or '/'


def test_hostile_strings_are_stored_verbatim(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> None:
    long_name = "registry.local/" + "a" * 10_000
    tag = HOSTILE_TAG
    document = orjson.loads(dumps(renamed(demo_documents["vulnerable"], f"{long_name}:{tag}")))
    document["packages"][20]["name"] = HOSTILE + "x" * 10_000
    document["findings"][0]["package"]["name"] = document["packages"][20]["name"]
    document["findings"][0]["summary"] = HOSTILE
    scan = upload(client, writer, document)["id"]

    item = client.get("/api/v1/scans", params={"tag": tag}, headers=writer).json()["items"][0]
    assert (item["id"], item["repository"], item["tag"]) == (scan, long_name, tag)
    searched = client.get("/api/v1/scans", params={"q": "%_\\"}, headers=writer).json()
    assert [i["id"] for i in searched["items"]] == [scan]
    assert client.get("/api/v1/scans", params={"q": "a%b"}, headers=writer).json()["total"] == 0
    finding = client.get(
        f"/api/v1/scans/{scan}/findings", params={"q": "DROP TABLE"}, headers=writer
    ).json()["items"]
    assert [(f["package"], f["title"]) for f in finding] == [
        (document["packages"][20]["name"], HOSTILE)
    ]
    packages = client.get(
        f"/api/v1/scans/{scan}/packages", params={"q": "<script>"}, headers=writer
    ).json()
    assert [p["name"] for p in packages["items"]] == [document["packages"][20]["name"]]
    trend = client.get(f"/api/v1/repositories/{long_name}/trend", headers=writer).json()
    assert [p["scan_id"] for p in trend["points"]] == [scan]
    assert client.get(f"/api/v1/scans/{scan}/document", headers=writer).json() == document


def test_reference_forms_give_repository_and_tag(
    client: TestClient, writer: dict[str, str], demo_documents: dict[str, Document]
) -> None:
    digest = "sha256:" + "ab" * 32
    cases: dict[str, tuple[str, list[str], list[str], tuple[str, str]]] = {
        "docker-archive:/builds/shop.tar": ("docker-archive", [], [], ("shop", "")),
        f"registry.local/acme/api@{digest}": (
            "registry",
            [],
            [f"registry.local/acme/api@{digest}"],
            ("registry.local/acme/api", ""),
        ),
        "docker://app:dev": ("docker", [], [], ("app", "dev")),
    }
    for reference, (source, tags, digests, expected) in cases.items():
        document = variant(
            demo_documents["fixed"],
            **{
                "image.reference": reference,
                "image.source": source,
                "image.repo_tags": tags,
                "image.repo_digests": digests,
            },
        )
        scan = upload(client, writer, document)["id"]
        item = client.get(f"/api/v1/scans/{scan}", headers=writer).json()
        assert (item["repository"], item["tag"]) == expected, reference
