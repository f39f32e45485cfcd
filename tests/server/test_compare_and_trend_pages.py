"""Compare (set-based in the database; the console lists new and fixed findings in full and
pages through the unchanged ones) and the trend page's cap, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mamori.server.auth.tables import User
from mamori.server.scans import queries
from mamori.server.web import trend_pages
from tests.server.scan_documents import Document, bulk_document, demo_documents, demo_workdir
from tests.server.test_auth_sessions import log_in
from tests.server.test_queries import store

__all__ = ["demo_documents", "demo_workdir"]  # fixtures

Key = tuple[str, str, str]


@dataclass(frozen=True)
class Pair:
    base: str
    head: str
    base_doc: Document
    head_doc: Document


def key(finding: Document) -> Key:
    package = finding["package"]
    return (finding["id"], package["name"], package["type"])


def worst_first(findings: list[Document]) -> list[str]:
    """Vulnerability ids in the order compare lists them: worst severity, then position."""
    ranked = sorted(
        enumerate(findings),
        key=lambda item: (-queries.SEVERITY_RANK[item[1]["severity"]["rating"]], item[0]),
    )
    return [f["id"] for _, f in ranked]


@pytest.fixture
def pair(db: Session, demo_documents: dict[str, Document]) -> Pair:
    """A base of 150 findings; the head fixes 5, brings 3 new ones, carries one finding twice
    (a second version of its package) and renames one package."""
    base_doc = bulk_document(demo_documents["vulnerable"], 150)
    base_doc["created_at"] = "2026-01-01T00:00:00Z"
    head_doc = copy.deepcopy(base_doc)
    head_doc["created_at"] = "2026-01-02T00:00:00Z"
    findings = head_doc["findings"][5:]
    for n in range(3):
        fresh = copy.deepcopy(findings[n])
        fresh["id"] = f"MAMORI-NEW-{n}"
        findings.append(fresh)
    twice = copy.deepcopy(findings[10])
    twice["package"]["version"] = "99.0.0"
    findings.append(twice)
    head_doc["findings"] = findings
    head_doc["packages"][0]["name"] = "renamed-package"
    return Pair(store(db, base_doc), store(db, head_doc), base_doc, head_doc)


def test_compare_matches_a_reference_diff(db: Session, pair: Pair) -> None:
    base_keys = {key(f) for f in pair.base_doc["findings"]}
    head_keys = {key(f) for f in pair.head_doc["findings"]}
    kept = [f for f in pair.head_doc["findings"] if key(f) in base_keys]
    comparison = queries.compare(db, pair.base, pair.head)
    assert comparison is not None
    new = [f for f in pair.head_doc["findings"] if key(f) not in base_keys]
    fixed = [f for f in pair.base_doc["findings"] if key(f) not in head_keys]
    assert [f.vuln_id for f in comparison.new] == worst_first(new)
    assert {f.vuln_id for f in comparison.new} == {f"MAMORI-NEW-{n}" for n in range(3)}
    assert [f.vuln_id for f in comparison.fixed] == worst_first(fixed)
    assert len(comparison.fixed) == 5
    assert [f.vuln_id for f in comparison.unchanged] == worst_first(kept)
    assert comparison.unchanged_total == len(kept) == 146  # the doubled finding counts twice
    renamed = pair.base_doc["packages"][0]["name"]
    assert [p.name for p in comparison.packages_added] == ["renamed-package"]
    assert [p.name for p in comparison.packages_removed] == [renamed]
    assert comparison.packages_changed == ()

    counted = queries.compare(db, pair.base, pair.head, with_unchanged=False)
    assert counted is not None
    assert counted.unchanged == () and counted.unchanged_total == 146
    assert (counted.new, counted.fixed) == (comparison.new, comparison.fixed)

    backwards = queries.compare(db, pair.head, pair.base)
    assert backwards is not None
    assert {f.vuln_id for f in backwards.new} == {f.vuln_id for f in comparison.fixed}
    assert {f.vuln_id for f in backwards.fixed} == {f.vuln_id for f in comparison.new}


def test_unchanged_findings_page_through_the_same_rows(db: Session, pair: Pair) -> None:
    comparison = queries.compare(db, pair.base, pair.head)
    assert comparison is not None
    seen: list[str] = []
    offset = 0
    while True:
        page = queries.unchanged_findings(db, pair.base, pair.head, offset=offset, limit=40)
        assert page is not None and page.total == 146
        seen += [f.vuln_id for f in page.items]
        if not page.has_next:
            break
        offset += page.limit
    assert seen == [f.vuln_id for f in comparison.unchanged]
    assert queries.unchanged_findings(db, pair.base, "999999") is None
    assert queries.unchanged_findings(db, "x", pair.head) is None


@pytest.fixture
def console(client: TestClient, admin: User) -> TestClient:
    log_in(client)
    return client


def test_compare_page_collapses_the_unchanged_findings(console: TestClient, pair: Pair) -> None:
    page = console.get(f"/scans/{pair.head}/compare")
    assert page.status_code == 200, page.text
    html = page.text
    assert "New: 3" in html and "Fixed: 5" in html and "Unchanged: 146" in html
    for n in range(3):
        assert f"MAMORI-NEW-{n}" in html
    assert all(f["id"] in html for f in pair.base_doc["findings"][:5])
    assert "146 vulnerabilities are in both scans." in html
    assert "CVE-2024-10149" not in html  # an unchanged finding: not listed
    link = f"/scans/{pair.head}/compare?base={pair.base}&amp;unchanged=1"
    assert f'href="{link}"' in html and 'hx-target="#unchanged"' in html

    expanded = console.get(f"/scans/{pair.head}/compare?base={pair.base}&unchanged=1").text
    order = worst_first([f for f in pair.head_doc["findings"] if not f["id"].startswith("MAM")])
    assert "100 of 146 in both scans" in expanded
    assert order[0] in expanded and order[99] in expanded and order[100] not in expanded
    assert "New: 3" in expanded  # the whole page, the section expanded

    fragment = console.get(
        f"/scans/{pair.head}/compare?base={pair.base}&unchanged=1&offset=100",
        headers={"HX-Request": "true", "HX-Target": "unchanged"},
    )
    assert fragment.status_code == 200
    assert "46 of 146 in both scans" in fragment.text
    assert order[100] in fragment.text and order[0] not in fragment.text
    assert "<html" not in fragment.text and "MAMORI-NEW-0" not in fragment.text
    assert "← Previous" in fragment.text and "Next →" not in fragment.text


def test_compare_page_rejects_bad_parameters(console: TestClient, pair: Pair) -> None:
    bad_offset = console.get(f"/scans/{pair.head}/compare?unchanged=1&offset=-1")
    assert bad_offset.status_code == 400
    assert "invalid offset &#39;-1&#39;: use a whole number" in bad_offset.text
    missing = console.get(f"/scans/{pair.head}/compare?base=999999&unchanged=1")
    assert missing.status_code == 404 and "no scan 999999 to compare with" in missing.text
    first = console.get(f"/scans/{pair.base}/compare?unchanged=1")  # nothing to compare with
    assert first.status_code == 200 and "first scan of its repository" in first.text


def test_trend_page_states_and_keeps_its_cap(
    console: TestClient, pair: Pair, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    third = copy.deepcopy(pair.head_doc)
    third["created_at"] = "2026-01-03T00:00:00Z"
    newest = store(db, third)
    repository = queries.scan_summary(db, newest)
    assert repository is not None
    url = f"/repositories/{repository.repository}/trend"
    html = console.get(url).text
    assert "in the last 100 scans at most" in html
    assert len(re.findall(r'<a href="/scans/\d+">', html)) == 3

    monkeypatch.setattr(trend_pages, "TREND_SCANS", 2)
    capped = console.get(url).text
    assert "in the last 2 scans at most" in capped
    assert re.findall(r'<a href="/scans/(\d+)">', capped) == [newest, pair.head]
