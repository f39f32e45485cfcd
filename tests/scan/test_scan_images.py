"""`mamori scan` of the real fixture images against a database built with `mamori db import`.

What each image must show is worked out here from the OSV files (expected.py) and the facts
its recipe recorded (pip's and npm's own lists), never from mamori's matcher.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from mamori.schema import ScanResultV1, dump_scan_result
from mamori.versions import scheme_for
from tests.scan.conftest import ScanRun
from tests.scan.expected import (
    Hit,
    alias_groups,
    fixture_records,
    pep503,
    pypi_fixed_at,
    pypi_hits,
    pypi_records,
    range_hits,
)
from tests.vulndb.helpers import shared_osv_zip

pytestmark = pytest.mark.images

DEBIAN = "Debian:12"
SCANS = ["node_scan", "python_scan", "distroless_scan"]
RATINGS = ("critical", "high", "medium", "low", "negligible", "unknown")


def findings_of(document: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Findings by the index of their package in `packages`."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for finding in document["findings"]:
        found[finding["package"]["index"]].append(finding)
    return found


def package_at(document: dict[str, Any], kind: str, directory: str) -> int:
    """The index of the package of type `kind` found in `directory` (a dist-info or a
    node_modules folder, as the recipes record them)."""
    (index,) = [
        n
        for n, package in enumerate(document["packages"])
        if package["type"] == kind
        and any(posixpath.dirname(loc["path"]) == directory for loc in package["locations"])
    ]
    return index


def reported_groups(findings: list[dict[str, Any]]) -> set[frozenset[str]]:
    return {frozenset(finding["advisories"]) for finding in findings}


def assert_merged_by_alias(findings: list[dict[str, Any]], hits: list[Hit]) -> None:
    """Every finding carries all ids of the advisories merged into it, and is known by one."""
    by_advisory = {hit.advisory: hit for hit in hits}
    for finding in findings:
        ids = {finding["id"], *finding["aliases"]}
        merged = set().union(*(by_advisory[a].ids for a in finding["advisories"]))
        assert merged <= ids, finding
        assert finding["id"] in merged, finding


# --- PyPI: the explicit versions lists of the PyPA export --------------------------------


@pytest.fixture(scope="module")
def pypa() -> list[dict[str, Any]]:
    return pypi_records(shared_osv_zip())


def test_pip_packages_have_exactly_the_advisories_that_list_their_version(
    python_scan: ScanRun, pypa: list[dict[str, Any]]
) -> None:
    document = python_scan.document
    found = findings_of(document)
    pip = [p for p in python_scan.image.facts.python_packages if p.installer == "pip"]
    assert {p.name for p in pip} >= {"requests", "urllib3"}
    expected_any = False
    for package in pip:
        index = package_at(document, "pypi", package.path)
        assert pep503(document["packages"][index]["name"]) == pep503(package.name)
        hits = pypi_hits(pypa, package.name, package.version)
        expected_any |= bool(hits)
        findings = found.get(index, [])
        assert reported_groups(findings) == alias_groups(hits), package
        assert_merged_by_alias(findings, hits)
        for finding in findings:
            assert finding["installed_version"] == package.version
            assert (
                finding["matched_as"]
                == f"PyPI {document['packages'][index]['name']} {package.version}"
            )
    assert expected_any, "the PyPA export lists none of the pip packages' versions"


def test_advisories_fixed_at_the_installed_version_are_not_reported(
    python_scan: ScanRun, pypa: list[dict[str, Any]]
) -> None:
    """requests 2.31.0, urllib3 2.0.7 and certifi 2023.7.22 are the releases that fixed
    earlier advisories: the boundary of a range, which must count as fixed."""
    document = python_scan.document
    reported = {a for finding in document["findings"] for a in finding["advisories"]}
    boundary = {
        package.name: pypi_fixed_at(pypa, package.name, package.version)
        for package in python_scan.image.facts.python_packages
        if package.installer == "pip"
    }
    assert boundary["requests"] and boundary["urllib3"], boundary
    assert not reported & set().union(*boundary.values())


def test_python_packages_debian_installed_are_left_to_debian(
    python_scan: ScanRun, pypa: list[dict[str, Any]]
) -> None:
    document = python_scan.document
    found = findings_of(document)
    owned = [p for p in python_scan.image.facts.python_packages if p.installer == "dpkg"]
    would_match = [p.name for p in owned if pypi_hits(pypa, p.name, p.version)]
    assert would_match, "no Debian-installed Python package is in the PyPA export"
    for package in owned:
        index = package_at(document, "pypi", package.path)
        assert found.get(index, []) == [], package


# --- npm: the GHSA fixtures --------------------------------------------------------------


@pytest.mark.parametrize("scan", ["node_scan", "distroless_scan"])
def test_app_npm_packages_have_exactly_the_advisories_whose_ranges_hold_them(
    scan: str, request: pytest.FixtureRequest
) -> None:
    run: ScanRun = request.getfixturevalue(scan)
    document = run.document
    found = findings_of(document)
    records = fixture_records("npm")
    expected_any = False
    for package in run.image.facts.npm_packages:
        index = package_at(document, "npm", package.path)
        hits = range_hits(records, "npm", package.name, package.version)
        expected_any |= bool(hits)
        findings = found.get(index, [])
        assert reported_groups(findings) == alias_groups(hits), package
        assert_merged_by_alias(findings, hits)
        fixes = {hit.advisory: hit.fixed for hit in hits}
        for finding in findings:
            (advisory,) = finding["advisories"]
            assert finding["fixed_version"] == fixes[advisory]
            assert finding["status"] == ("fixed" if fixes[advisory] else "not-fixed")
            assert finding["severity"]["vector"].startswith("CVSS:3")
            assert finding["severity"]["score"] is not None
    assert expected_any


def test_npm_packages_debian_installed_are_not_reported(node_scan: ScanRun) -> None:
    """Debian's /usr/share/nodejs holds node-semver's semver 7.3.5, inside a GHSA range:
    Debian's advisories speak for it, not npm's."""
    document = node_scan.document
    records = fixture_records("npm")
    owned = [
        (n, p)
        for n, p in enumerate(document["packages"])
        if p["type"] == "npm" and p["metadata"].get("owned_by")
    ]
    assert all(p["locations"][0]["path"].startswith("/usr/share/nodejs/") for _, p in owned)
    assert any(range_hits(records, "npm", p["name"], p["version"]) for _, p in owned)
    found = findings_of(document)
    assert [f for n, _ in owned for f in found.get(n, [])] == []


# --- Debian: source package and release --------------------------------------------------


def debian_hits(package: dict[str, Any]) -> list[Hit]:
    source = package["source_name"] or package["name"]
    version = package["source_version"] or package["version"]
    return range_hits(fixture_records("Debian"), DEBIAN, source, version)


@pytest.mark.parametrize("scan", SCANS)
def test_deb_packages_have_their_source_packages_advisories(
    scan: str, request: pytest.FixtureRequest
) -> None:
    run: ScanRun = request.getfixturevalue(scan)
    document = run.document
    found = findings_of(document)
    key = scheme_for(DEBIAN).key
    expected_binaries: dict[str, set[str]] = defaultdict(set)  # source -> affected binaries
    for index, package in enumerate(document["packages"]):
        if package["type"] != "deb":
            continue
        assert package["ecosystem"] == DEBIAN
        hits = debian_hits(package)
        findings = found.get(index, [])
        reported = {a for finding in findings for a in finding["advisories"]}
        assert reported == {hit.advisory for hit in hits}, package["name"]
        if hits:
            expected_binaries[package["source_name"] or package["name"]].add(package["name"])
        fixes = {hit.advisory: hit.fixed for hit in hits}
        for finding in findings:
            fixed = [fixes[a] for a in finding["advisories"] if fixes[a]]
            assert finding["fixed_version"] == (max(fixed, key=key) if fixed else "")
            assert finding["status"] == ("fixed" if fixed else "not-fixed")
            assert finding["installed_version"] == (package["source_version"] or package["version"])
    assert expected_binaries, "no Debian fixture advisory applies to this image"


def test_an_advisory_for_a_source_package_reaches_each_installed_binary(
    node_scan: ScanRun,
) -> None:
    """glibc's advisories name the source package; libc6 and libc-bin both come from it."""
    document = node_scan.document
    found = findings_of(document)
    by_source: dict[str, list[int]] = defaultdict(list)
    for index, package in enumerate(document["packages"]):
        if package["type"] == "deb" and debian_hits(package):
            by_source[package["source_name"] or package["name"]].append(index)
    shared = {source: indexes for source, indexes in by_source.items() if len(indexes) > 1}
    assert shared, "no affected source package with more than one binary installed"
    for indexes in shared.values():
        ids = [{f["id"] for f in found[index]} for index in indexes]
        assert all(found_ids == ids[0] for found_ids in ids)


def test_unimportant_and_unfixed_debian_advisory_is_negligible(node_scan: ScanRun) -> None:
    unfixed = [
        f
        for f in node_scan.document["findings"]
        if f["package"]["type"] == "deb" and f["status"] == "not-fixed"
    ]
    assert unfixed
    for finding in unfixed:
        assert finding["fixed_version"] == ""
        records = {r["id"]: r for r in fixture_records("Debian")}
        urgencies = {
            entry.get("ecosystem_specific", {}).get("urgency")
            for a in finding["advisories"]
            for entry in records[a]["affected"]
        }
        if urgencies == {"unimportant"}:
            assert finding["severity"]["rating"] == "negligible"
            assert "urgency" in finding["severity"]["source"]


# --- the outputs agree with each other ---------------------------------------------------


@pytest.mark.parametrize("scan", SCANS)
def test_json_round_trips_through_the_wire_model(scan: str, request: pytest.FixtureRequest) -> None:
    run: ScanRun = request.getfixturevalue(scan)
    result = ScanResultV1.model_validate_json(run.json_text)
    assert dump_scan_result(result).decode() == run.json_text
    assert result.vulnerability_db is not None
    sources = {source.location for source in result.vulnerability_db.sources}
    assert str(shared_osv_zip().resolve()) in sources
    for finding in result.findings:
        package = result.packages[finding.package.index]
        assert (package.name, package.version, package.purl) == (
            finding.package.name,
            finding.package.version,
            finding.package.purl,
        )
        assert finding.package.location == package.locations[0].path


@pytest.mark.parametrize("scan", SCANS)
def test_cyclonedx_vulnerabilities_validate_and_match_the_findings(
    scan: str, request: pytest.FixtureRequest
) -> None:
    run: ScanRun = request.getfixturevalue(scan)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(run.cyclonedx_text) is None
    bom, document = run.bom, run.document
    purls = {c["bom-ref"]: c.get("purl") for c in bom["components"]}
    pairs = {
        (vulnerability["id"], purls[affected["ref"]])
        for vulnerability in bom["vulnerabilities"]
        for affected in vulnerability["affects"]
    }
    assert pairs == {(f["id"], f["package"]["purl"]) for f in document["findings"]}
    assert len(bom["vulnerabilities"]) == len({f["id"] for f in document["findings"]})
    for vulnerability in bom["vulnerabilities"]:
        assert vulnerability["ratings"]


def counts(document: dict[str, Any]) -> tuple[Counter[str], Counter[str]]:
    total = Counter(f["severity"]["rating"] for f in document["findings"])
    fixable = Counter(
        f["severity"]["rating"] for f in document["findings"] if f["status"] == "fixed"
    )
    return total, fixable


@pytest.mark.parametrize("scan", SCANS)
def test_table_shows_the_counts_and_every_finding(
    scan: str, request: pytest.FixtureRequest
) -> None:
    run: ScanRun = request.getfixturevalue(scan)
    document = run.document
    total, fixable = counts(document)
    findings = document["findings"]
    for text in (run.stdout_table, run.table):
        summary = re.search(r"^(\d+) vulnerabilit(?:y|ies) in (\d+) packages?, ", text, re.M)
        assert summary is not None
        assert int(summary[1]) == len(findings)
        assert int(summary[2]) == len({f["package"]["index"] for f in findings})
        assert f"{sum(fixable.values())} with a fix" in text
        for rating in RATINGS:
            shown = re.search(rf"\b{rating.upper()} (\d+)(?: \((\d+) fixable\))?", text)
            assert shown is not None, rating
            assert int(shown[1]) == total[rating]
            assert int(shown[2] or 0) == fixable[rating]
    rows = [line.split() for line in run.table.splitlines()]
    rows = [row for row in rows if row and row[0].lower() in RATINGS and len(row) == 6]
    assert sorted((row[1], row[2]) for row in rows) == sorted(
        (f["id"], f["package"]["name"]) for f in findings
    )
    assert str(run.image.oci_archive) in run.table
    assert document["image"]["digest"][:19] in run.table


def test_spdx_of_a_scan_is_the_images_sbom(node_scan: ScanRun) -> None:
    spdx = json.loads(node_scan.spdx_text)
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert len(spdx["packages"]) == len(node_scan.document["packages"]) + 2  # image and OS
