"""Ingest and the query module the console and API share, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.schema import ScanResultV1
from mamori.server.scans import queries
from mamori.server.scans.ingest import StoredScan, image_name, split_tag, store_scan
from mamori.server.scans.tables import Scan, ScanFinding
from tests.server.scan_documents import (
    Document,
    bulk_document,
    demo_documents,
    demo_workdir,
    variant,
)

__all__ = ["demo_documents", "demo_workdir"]  # fixtures


def store(db: Session, document: Document) -> str:
    stored = store_scan(db, ScanResultV1.model_validate(document), None)
    db.commit()
    return str(stored.scan_id)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("registry.local:5000/acme/shop:1.2", ("registry.local:5000/acme/shop", "1.2")),
        ("registry.local:5000/acme/shop", ("registry.local:5000/acme/shop", "")),
        ("shop:latest", ("shop", "latest")),
        (":x", ("(unnamed)", "x")),
        ("", ("(unnamed)", "")),
    ],
)
def test_split_tag(name: str, expected: tuple[str, str]) -> None:
    assert split_tag(name) == expected


def test_image_name_prefers_tags_then_digests_then_reference(
    demo_documents: dict[str, Document],
) -> None:
    def name_of(**image: object) -> tuple[str, str]:
        changes = {f"image.{key}": value for key, value in image.items()}
        document = variant(demo_documents["fixed"], **changes)
        return image_name(ScanResultV1.model_validate(document).image)

    digest = "sha256:" + "0" * 64
    assert name_of(repo_tags=["a.local/b:c", "a.local/b:d"]) == ("a.local/b", "c")
    assert name_of(repo_tags=[], repo_digests=[f"a.local/b@{digest}"]) == ("a.local/b", "")
    assert name_of(repo_tags=[], reference="oci-archive:/x/app.tar.gz", source="oci-archive") == (
        "app",
        "",
    )
    assert name_of(repo_tags=[], reference="dir:/srv/rootfs", source="dir") == ("rootfs", "")
    assert name_of(repo_tags=[], reference=f"registry:h.local/r:t@{digest}", source="registry") == (
        "h.local/r",
        "t",
    )
    assert name_of(repo_tags=[], reference="podman://localhost/app:v2", source="podman") == (
        "localhost/app",
        "v2",
    )


def test_500_findings_ingest_in_well_under_a_second(
    db: Session, demo_documents: dict[str, Document]
) -> None:
    store(db, demo_documents["fixed"])  # connection and statements warmed up: time the rows
    document = ScanResultV1.model_validate(bulk_document(demo_documents["vulnerable"], 500))
    started = time.perf_counter()
    stored = store_scan(db, document, None)
    db.commit()
    elapsed = time.perf_counter() - started
    assert stored.created
    count = db.scalar(
        select(func.count()).select_from(ScanFinding).where(ScanFinding.scan_id == stored.scan_id)
    )
    assert count == 500
    assert elapsed < 0.6, f"storing 500 findings took {elapsed:.3f} s"
    summary = queries.scan_summary(db, stored.scan_id)
    assert summary is not None
    assert [c.total for c in summary.counts] == [84, 84, 83, 83, 83, 83]
    # finding n has severity n % 6 and a fix unless n % 3 == 0 (bulk_document)
    assert [c.fixable for c in summary.counts] == [0, 84, 83, 0, 83, 83]
    assert summary.count("high") == queries.SeverityCount("high", 84, 84)


def test_store_is_idempotent_by_canonical_content(
    db: Session, demo_documents: dict[str, Document]
) -> None:
    document = ScanResultV1.model_validate(demo_documents["vulnerable"])
    first = store_scan(db, document, None)
    again = store_scan(db, ScanResultV1.model_validate(demo_documents["vulnerable"]), None)
    db.commit()
    assert (again.scan_id, again.created) == (first.scan_id, False)
    assert db.scalar(select(func.count()).select_from(Scan)) == 1


def test_findings_filters_pages_and_ecosystems(
    db: Session, demo_documents: dict[str, Document]
) -> None:
    scan = store(db, bulk_document(demo_documents["vulnerable"], 120))
    page = queries.findings_of(db, scan, limit=50)
    assert page is not None
    assert (len(page.items), page.total, page.has_next, page.has_previous) == (50, 120, True, False)
    last = queries.findings_of(db, scan, offset=100, limit=50)
    assert last is not None and len(last.items) == 20 and not last.has_next
    critical = queries.findings_of(db, scan, queries.FindingFilter(severities=("critical",)))
    assert critical is not None and critical.total == 20
    assert {f.severity for f in critical.items} == {"critical"}
    not_fixable = queries.findings_of(
        db, scan, queries.FindingFilter(severities=("critical", "high"), fixable=False)
    )
    assert not_fixable is not None
    assert all(not f.fixable for f in not_fixable.items) and not_fixable.total > 0
    deb = queries.findings_of(db, scan, queries.FindingFilter(ecosystem="Debian:12"))
    assert deb is not None and deb.total > 0
    assert {f.package_type for f in deb.items} == {"deb"}
    assert queries.ecosystems_of(db, scan) == tuple(
        sorted({p["ecosystem"] for p in demo_documents["vulnerable"]["packages"]})
    )
    by_id = queries.findings_of(db, scan, sort="id", limit=1000)
    assert by_id is not None
    assert [f.vuln_id for f in by_id.items] == sorted(f.vuln_id for f in by_id.items)
    assert queries.findings_of(db, "12345") is None
    assert queries.findings_of(db, "not-an-id") is None


def test_layers_say_which_layer_brought_what(
    db: Session, demo_documents: dict[str, Document]
) -> None:
    scan = store(db, demo_documents["vulnerable"])
    layers = queries.layers_of(db, scan)
    packages = demo_documents["vulnerable"]["packages"]
    assert [layer.index for layer in layers] == [0, 1, 2, 3]
    for layer in layers:
        brought = [
            p
            for p in packages
            if p["locations"] and p["locations"][0]["layer_index"] == layer.index
        ]
        assert layer.package_count == len(brought)
        page = queries.packages_of(db, scan, layer=layer.index)
        assert page is not None and {p.name for p in page.items} == {p["name"] for p in brought}
    assert sum(layer.finding_count for layer in layers) == len(
        demo_documents["vulnerable"]["findings"]
    )


def test_compare_sees_a_version_change(db: Session, demo_documents: dict[str, Document]) -> None:
    base_doc = variant(demo_documents["vulnerable"], created_at="2026-01-01T00:00:00Z")
    lodash = next(n for n, p in enumerate(base_doc["packages"]) if p["name"] == "lodash")
    head_doc = variant(
        base_doc,
        created_at="2026-01-02T00:00:00Z",
        **{f"packages.{lodash}.version": "4.17.21"},
        findings=[f for f in base_doc["findings"] if f["package"]["name"] != "lodash"],
    )
    base, head = store(db, base_doc), store(db, head_doc)
    previous = queries.previous_scan(db, head)
    assert previous is not None and previous.id == base
    assert queries.previous_scan(db, base) is None
    comparison = queries.compare(db, base, head)
    assert comparison is not None
    assert comparison.new == () and comparison.packages_added == ()
    assert {f.package_name for f in comparison.fixed} == {"lodash"}
    assert len(comparison.unchanged) == len(head_doc["findings"])
    assert comparison.packages_changed == (
        queries.PackageChange("lodash", "npm", ("4.17.20",), ("4.17.21",)),
    )
    assert queries.compare(db, base, "999999") is None


def test_list_scans_text_search_and_dates(db: Session, demo_documents: dict[str, Document]) -> None:
    first = store(
        db,
        variant(
            demo_documents["vulnerable"],
            created_at="2026-03-01T00:00:00+02:00",
            ci={"provider": "github", "commit": "0a1b2c3d", "run_url": "http://ci.local/run/7"},
        ),
    )
    second = store(db, variant(demo_documents["fixed"], created_at="2026-03-02T00:00:00Z"))
    by_commit = queries.list_scans(db, queries.ScanFilter(text="0A1B2C"))
    assert [s.id for s in by_commit.items] == [first]
    assert by_commit.items[0].ci_run_url == "http://ci.local/run/7"
    assert by_commit.items[0].created_at == datetime(2026, 2, 28, 22, tzinfo=UTC)
    newer = queries.scan_summary(db, second)
    assert newer is not None
    earlier = queries.list_scans(db, queries.ScanFilter(until=newer.created_at))
    assert [s.id for s in earlier.items] == [first]
    since = queries.list_scans(db, queries.ScanFilter(since=datetime(2026, 3, 1)))  # naive: UTC
    assert [s.id for s in since.items] == [second]


def test_concurrent_uploads_of_one_document_store_it_once(
    app: FastAPI, demo_documents: dict[str, Document]
) -> None:
    document = ScanResultV1.model_validate(demo_documents["vulnerable"])
    start = threading.Barrier(4)

    def upload(_: int) -> StoredScan:
        with app.state.sessions() as session:
            start.wait()
            stored = store_scan(session, document, None)
            session.commit()
            return stored

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(upload, range(4)))
    assert len({r.scan_id for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, False, True]
