"""The outputs of a scan: native JSON with findings, CycloneDX with vulnerabilities, the
findings table."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from mamori.model import Finding, Package, ScanResult, SeverityRating
from mamori.report import SCAN_FORMATS, scan_formatter_for
from mamori.report.cyclonedx import CycloneDXFormatter
from mamori.report.findings_table import FindingsTableFormatter
from mamori.report.native_json import NativeJSONFormatter
from mamori.schema import ScanResultV1, dump_scan_result
from tests.report.findings import V31, V40, finding, package, scan_result
from tests.report.policies import evaluated

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


@pytest.fixture
def result() -> ScanResult:
    return scan_result()


# --- native JSON -------------------------------------------------------------------------


def native(result: ScanResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(NativeJSONFormatter().render_scan(result))
    return document


def test_json_round_trips_and_is_stable(result: ScanResult) -> None:
    text = NativeJSONFormatter().render_scan(result)
    assert dump_scan_result(ScanResultV1.model_validate_json(text)).decode() == text
    shuffled = dataclasses.replace(
        result,
        findings=tuple(reversed(result.findings)),
        inventory=dataclasses.replace(
            result.inventory, packages=tuple(reversed(result.inventory.packages))
        ),
    )
    assert NativeJSONFormatter().render_scan(shuffled) == text


def test_json_findings_point_at_their_packages(result: ScanResult) -> None:
    document = native(result)
    assert len(document["findings"]) == len(result.findings)
    for entry in document["findings"]:
        listed = document["packages"][entry["package"]["index"]]
        assert entry["package"]["purl"] == listed["purl"]
        assert entry["package"]["name"] == listed["name"]
        assert entry["package"]["location"] == listed["locations"][0]["path"]
    ranks = [SeverityRating(f["severity"]["rating"]).rank for f in document["findings"]]
    assert ranks == sorted(ranks, reverse=True)
    glibc = [f for f in document["findings"] if f["id"] == "CVE-2023-4911"]
    assert sorted(f["package"]["name"] for f in glibc) == ["libc-bin", "libc6"]
    first = glibc[0]
    assert first["aliases"] == ["DEBIAN-CVE-2023-4911", "DSA-5514-1"]
    assert first["advisories"] == ["DEBIAN-CVE-2023-4911", "DSA-5514-1"]
    assert (first["fixed_version"], first["status"]) == ("2.36-9+deb12u8", "fixed")
    assert first["severity"] == {
        "rating": "high",
        "score": None,
        "vector": "",
        "source": "DSA-5514-1 distribution urgency",
    }
    assert first["links"] == ["https://security.invalid/tracker/CVE-2023-4911"]
    assert first["matched_as"] == "Debian:12 glibc 2.36-9+deb12u7"
    ssl = next(f for f in document["findings"] if f["id"] == "CVE-2023-5363")
    assert ssl["severity"]["score"] == 9.8 and ssl["severity"]["vector"] == V31


def test_json_carries_the_database_and_all_warnings(result: ScanResult) -> None:
    document = native(result)
    assert document["vulnerability_db"] == {
        "path": "/var/cache/mamori/db",
        "built_at": result.db.built_at,
        "advisories": 2673,
        "sources": [
            {
                "kind": s.kind,
                "location": s.location,
                "ecosystem": s.ecosystem,
                "fetched_at": s.fetched_at,
                "records": s.records,
            }
            for s in result.db.sources
        ],
    }
    assert document["warnings"] == [*result.inventory.warnings, "matcher note"]
    assert document["policy"] is None


def test_inventory_json_stays_without_findings_or_database(result: ScanResult) -> None:
    document = json.loads(NativeJSONFormatter().render(result.inventory))
    assert document["findings"] == [] and document["vulnerability_db"] is None
    ScanResultV1.model_validate(document)


# --- CycloneDX ---------------------------------------------------------------------------


def bom_of(result: ScanResult) -> dict[str, Any]:
    text = CycloneDXFormatter().render_scan(result)
    assert VALIDATOR.validate_str(text) is None
    bom: dict[str, Any] = json.loads(text)
    return bom


def test_cyclonedx_has_one_vulnerability_per_id_affecting_each_component(
    result: ScanResult,
) -> None:
    bom = bom_of(result)
    vulnerabilities = {v["id"]: v for v in bom["vulnerabilities"]}
    assert list(vulnerabilities) == [
        "CVE-2023-5363",  # critical
        "CVE-2023-4911",  # high
        "CVE-2022-25883",  # medium
        "CVE-2010-4756",  # negligible
        "PYSEC-2024-1",  # unknown
    ]
    components = {c["bom-ref"]: c for c in bom["components"]}
    glibc = vulnerabilities["CVE-2023-4911"]
    affected = {components[a["ref"]]["name"]: a for a in glibc["affects"]}
    assert sorted(affected) == ["libc-bin", "libc6"]
    assert affected["libc6"]["versions"] == [{"version": "2.36-9+deb12u7", "status": "affected"}]
    assert glibc["recommendation"] == (
        "Upgrade libc-bin to 2.36-9+deb12u8; Upgrade libc6 to 2.36-9+deb12u8"
    )
    assert glibc["references"] == [
        {"id": "DEBIAN-CVE-2023-4911", "source": {"name": "Debian"}},
        {"id": "DSA-5514-1", "source": {"name": "Debian"}},
    ]
    assert glibc["source"] == {
        "name": "CVE",
        "url": "https://security.invalid/tracker/CVE-2023-4911",
    }
    assert glibc["ratings"] == [
        {
            "source": {"name": "DSA-5514-1 distribution urgency"},
            "severity": "high",
            "method": "other",
        }
    ]
    assert glibc["published"] == "2024-01-02T03:04:05Z"
    assert glibc["updated"] == "2024-02-03T04:05:06Z"
    assert glibc["description"] == "summary of CVE-2023-4911"
    properties = {p["name"]: p["value"] for p in glibc["properties"]}
    assert properties["mamori:affects:0:status"] == "fixed"
    assert properties["mamori:affects:1:advisories"] == "DEBIAN-CVE-2023-4911 DSA-5514-1"


def test_cyclonedx_ratings_name_their_method(result: ScanResult) -> None:
    vulnerabilities = {v["id"]: v for v in bom_of(result)["vulnerabilities"]}
    (ssl,) = vulnerabilities["CVE-2023-5363"]["ratings"]
    assert (ssl["method"], ssl["score"], ssl["vector"]) == ("CVSSv31", 9.8, V31)
    (semver,) = vulnerabilities["CVE-2022-25883"]["ratings"]
    assert (semver["method"], semver["severity"], semver["vector"]) == ("CVSSv4", "medium", V40)
    (negligible,) = vulnerabilities["CVE-2010-4756"]["ratings"]
    assert negligible["severity"] == "info" and "score" not in negligible
    assert "recommendation" not in vulnerabilities["CVE-2010-4756"]
    semver_vuln = vulnerabilities["CVE-2022-25883"]
    assert semver_vuln["advisories"] == [
        {"url": "https://advisories.invalid/GHSA-c2qf-rxjj-qqgw"},
        {"url": "https://advisories.invalid/other"},
    ]
    assert semver_vuln["references"] == [
        {
            "id": "GHSA-c2qf-rxjj-qqgw",
            "source": {
                "name": "GitHub Advisory Database",
                "url": "https://advisories.invalid/GHSA-c2qf-rxjj-qqgw",
            },
        }
    ]
    assert vulnerabilities["PYSEC-2024-1"]["ratings"][0]["severity"] == "unknown"


def test_cyclonedx_of_a_scan_without_findings_says_so(result: ScanResult) -> None:
    bom = bom_of(dataclasses.replace(result, findings=()))
    assert bom["vulnerabilities"] == []
    assert "vulnerabilities" not in json.loads(CycloneDXFormatter().render(result.inventory))


def test_cyclonedx_a_shared_purl_keeps_findings_apart(result: ScanResult) -> None:
    """Two copies of ms 2.1.3 share a purl: each is its own component, and each finding
    points at its own copy."""
    copies = [p for p in result.inventory.packages if p.name == "ms"]
    findings = tuple(
        finding(copy, "CVE-2017-20165", SeverityRating.HIGH, "2.0.0") for copy in copies
    )
    bom = bom_of(dataclasses.replace(result, findings=findings))
    (vulnerability,) = bom["vulnerabilities"]
    assert sorted(a["ref"] for a in vulnerability["affects"]) == [
        "pkg:npm/ms@2.1.3",
        "pkg:npm/ms@2.1.3#2",
    ]
    assert vulnerability["recommendation"] == "Upgrade ms to 2.0.0"


def test_cyclonedx_odd_dates_are_left_out(result: ScanResult) -> None:
    odd = dataclasses.replace(result.findings[0], published="yesterday", modified="")
    (vulnerability,) = bom_of(dataclasses.replace(result, findings=(odd,)))["vulnerabilities"]
    assert "published" not in vulnerability and "updated" not in vulnerability


# --- the findings table ------------------------------------------------------------------


def table(result: ScanResult, **options: Any) -> str:
    return FindingsTableFormatter(width=120, color=False, **options).render_scan(result)


def test_table_header_counts_and_rows(result: ScanResult) -> None:
    text = table(result)
    for fact in (
        "127.0.0.1:5000/acme/app:1.4",
        result.inventory.image.digest[:19],
        "Debian GNU/Linux 12 (bookworm)",
        "built 2024-05-29 12:30 UTC, 3 days old at scan time",
    ):
        assert fact in text
    assert "6 vulnerabilities in 5 packages, 4 with a fix" in text
    assert (
        "CRITICAL 1 (1 fixable)   HIGH 2 (2 fixable)   MEDIUM 1 (1 fixable)   LOW 0   "
        "NEGLIGIBLE 1   UNKNOWN 1"
    ) in text
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("SEVERITY"))
    assert lines[start].split() == ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "STATUS"]
    rows = [line.split() for line in lines[start + 1 : start + 1 + len(result.findings)]]
    assert " ".join(rows[0]) == (
        "CRITICAL CVE-2023-5363 libssl3 3.0.13-1~deb12u1 3.0.15-1~deb12u1 fixed"
    )
    # by package, the package with the worst finding first; libc6's two findings together
    assert [(row[2], row[1]) for row in rows[1:4]] == [
        ("libc-bin", "CVE-2023-4911"),
        ("libc6", "CVE-2023-4911"),
        ("libc6", "CVE-2010-4756"),
    ]
    assert rows[3][4:] == ["-", "not-fixed"]
    assert "matcher note" in text.split("Warnings:")[1]


def test_table_grouping_keeps_a_packages_findings_together(result: ScanResult) -> None:
    semver = package(result.inventory, "semver")
    extra = finding(semver, "CVE-2099-1", SeverityRating.CRITICAL, "8.0.0")
    text = table(dataclasses.replace(result, findings=(*result.findings, extra)))
    rows = [line.split() for line in text.splitlines() if line.startswith(("CRIT", "HIGH", "MED"))]
    names = [row[2] for row in rows if len(row) == 6]
    assert names[:4] == ["libssl3", "semver", "semver", "libc-bin"]


def test_table_stops_after_the_limit_and_says_how_many_more(result: ScanResult) -> None:
    text = table(result, limit=2)
    assert "… and 4 more findings in 3 packages, not shown here" in text
    assert "PYSEC-2024-1" not in text
    assert "PYSEC-2024-1" in table(result, limit=None)


def test_table_without_findings(result: ScanResult) -> None:
    text = table(dataclasses.replace(result, findings=()))
    assert "No vulnerabilities found." in text and "SEVERITY" not in text


def test_table_neutralises_escape_sequences(result: ScanResult) -> None:
    evil = dataclasses.replace(result.findings[0].package, name="evil\x1b[2J")
    inventory = dataclasses.replace(result.inventory, packages=(evil,))
    odd = dataclasses.replace(result.findings[0], package=evil, id="CVE-\x1b]0;x\x07")
    text = table(dataclasses.replace(result, inventory=inventory, findings=(odd,)))
    assert "\x1b" not in text and "\x07" not in text
    assert "evil\\x1b[2J" in text


def test_table_colour_only_when_asked(result: ScanResult) -> None:
    assert "\x1b[" in FindingsTableFormatter(color=True).render_scan(result)
    assert "\x1b[" not in table(result)


def test_table_of_two_thousand_findings_renders_quickly(result: ScanResult) -> None:
    packages: list[Package] = []
    findings: list[Finding] = []
    base = result.findings
    for n in range(400):
        for k, item in enumerate(base[:5]):
            copy = dataclasses.replace(item.package, name=f"{item.package.name}-{n}-{k}")
            packages.append(copy)
            findings.append(dataclasses.replace(item, package=copy, id=f"{item.id}-{n}"))
    large = dataclasses.replace(
        result,
        inventory=dataclasses.replace(result.inventory, packages=tuple(packages)),
        findings=tuple(findings),
    )
    started = time.perf_counter()
    text = table(large, limit=None)
    elapsed = time.perf_counter() - started
    assert "2000 vulnerabilities in 2000 packages" in text
    assert elapsed < 0.5, f"2,000 findings took {elapsed:.2f} s"


# --- the registry ------------------------------------------------------------------------


def test_scan_formats_and_file_tables(result: ScanResult) -> None:
    assert set(SCAN_FORMATS) == {
        *("table", "json", "cyclonedx", "spdx"),
        *("sarif", "junit", "markdown"),
    }
    for name in SCAN_FORMATS:
        formatter = scan_formatter_for(name)
        assert formatter.name == name
        assert formatter.render_scan(result).endswith("\n")
    limited = dataclasses.replace(result, findings=result.findings * 30)
    assert "more findings" in scan_formatter_for("table").render_scan(limited)
    in_file = scan_formatter_for("table", to_file=True).render_scan(limited)
    assert "more findings" not in in_file and "\x1b[" not in in_file


def test_policy_block_marks_each_rule_by_what_it_did() -> None:
    text = table(evaluated(scan_result()))
    lines = {line.split(":")[0].strip(): line for line in text.splitlines() if "default/" in line}
    assert lines["FAIL  default/no-fixable-high"].endswith("failed it)")
    assert lines["pass  default/no-ssh"].endswith("no SSH port")
    assert lines["info  default/healthcheck"].endswith("(1 flagged, informational)")
