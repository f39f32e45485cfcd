"""`mamori scan` as the CI gate: policies, risk acceptances, the exit code and the reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from mamori.schema import ScanResultV1, dump_scan_result
from tests.fixtures.facts import FixtureImage
from tests.scan.conftest import ScanRun, mamori
from tests.scan.test_cli_scan import assert_one_line_error


def gate(
    home: Path, dbpath: Path, image: FixtureImage, *args: str
) -> tuple[int, str, dict[str, Any]]:
    """Exit code, the table on standard output and the JSON document of one scan."""
    out = home / "scan.json"
    result = mamori(
        home, "scan", "-q", "--dbpath", str(dbpath), "-o", "table", "-o", f"json={out}", *args,
        f"oci-archive:{image.oci_archive}",
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, result.stdout, json.loads(out.read_text())


def failing(run: ScanRun) -> list[dict[str, Any]]:
    """What the default policy fails on: critical and high findings with a fix."""
    found = [
        finding
        for finding in run.document["findings"]
        if finding["severity"]["rating"] in ("critical", "high") and finding["status"] == "fixed"
    ]
    assert found, "the fixture image must carry a high or critical finding with a fix"
    return found


def acceptances(tmp_path: Path, findings: list[dict[str, Any]], expires: str) -> Path:
    path = tmp_path / "accept.yaml"
    entries = [
        f"- vulnerability: {f['id']}\n  package: {f['package']['name']}\n"
        f"  reason: not reachable from the app\n  author: alice\n  expires: {expires}\n"
        for f in findings
    ]
    path.write_text("".join(entries))
    return path


def test_the_default_policy_fails_on_a_high_finding_with_a_fix(node_scan: ScanRun) -> None:
    assert node_scan.exit_code == 1
    policy = node_scan.document["policy"]
    assert policy["passed"] is False and policy["policies"] == ["default"]
    [rule] = [v for v in policy["verdicts"] if v["kind"] == "severity_with_fix"]
    assert not rule["passed"] and not rule["informational"]
    expected = {(f["id"], f["package"]["name"]) for f in failing(node_scan)}
    assert {(f["id"], f["package"]) for f in rule["findings"]} == expected
    table = node_scan.stdout_table
    assert "Policy FAILED (default)" in table
    assert "FAIL  default/severity_with_fix" in table
    for finding_id, package in expected:
        assert any(finding_id in line and package in line for line in table.splitlines()[-20:])


def test_the_policy_block_round_trips_through_the_model(node_scan: ScanRun) -> None:
    model = ScanResultV1.model_validate(node_scan.document)
    assert model.policy is not None and not model.policy.passed
    assert orjson.loads(dump_scan_result(model)) == node_scan.document


def test_a_permissive_policy_passes(
    tmp_path: Path, scan_db: Path, bookworm_node: FixtureImage, node_scan: ScanRun
) -> None:
    assert not any(f["severity"]["rating"] == "critical" for f in failing(node_scan))
    policy = tmp_path / "lenient.yaml"
    policy.write_text("rules:\n  - kind: severity_with_fix\n    severity: critical\n")
    code, table, document = gate(tmp_path, scan_db, bookworm_node, "--policy", str(policy))
    assert code == 0
    assert document["policy"]["passed"] is True
    assert document["policy"]["policies"] == ["lenient"]
    assert "Policy PASSED (lenient)" in table and "pass  lenient/severity_with_fix" in table


def test_acceptances_covering_the_failures_make_it_pass(
    tmp_path: Path, scan_db: Path, bookworm_node: FixtureImage, node_scan: ScanRun
) -> None:
    findings = failing(node_scan)
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    accept = acceptances(tmp_path, findings, until)
    code, table, document = gate(tmp_path, scan_db, bookworm_node, "--accept", str(accept))
    assert code == 0
    accepted = document["policy"]["accepted"]
    assert {(a["finding"]["id"], a["finding"]["package"]) for a in accepted} == {
        (f["id"], f["package"]["name"]) for f in findings
    }
    assert all(a["acceptance"]["expires"] == until for a in accepted)
    assert all(a["acceptance"]["source"].startswith(f"{accept}:") for a in accepted)
    assert "Policy PASSED (default)" in table
    assert f"Accepted findings: {len(findings)}" in table
    assert f"until {until} by alice: not reachable from the app" in table


def test_an_expired_acceptance_no_longer_applies(
    tmp_path: Path, scan_db: Path, bookworm_node: FixtureImage, node_scan: ScanRun
) -> None:
    findings = failing(node_scan)
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    accept = acceptances(tmp_path, findings, yesterday)
    code, table, document = gate(tmp_path, scan_db, bookworm_node, "--accept", str(accept))
    assert code == 1
    policy = document["policy"]
    assert policy["accepted"] == []
    assert {f["id"] for item in policy["expired"] for f in item["findings"]} == {
        f["id"] for f in findings
    }
    assert "Policy FAILED (default)" in table
    assert "Expired acceptances (no longer applied):" in table
    assert f"until {yesterday} by alice" in table


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        (None, ["--policy", "no-such-policy"], "unknown policy 'no-such-policy'"),
        ("rules: [kind: severity\n", ["--policy", "{file}"], "{file}:"),
        (None, ["--accept", "{file}"], "acceptances file not found"),
        ("- vulnerability: CVE-2021-23337\n  reason: x\n", ["--accept", "{file}"], "expires"),
    ],
)
def test_bad_policies_and_acceptances_exit_2(
    tmp_path: Path,
    scan_db: Path,
    bookworm_node: FixtureImage,
    content: str | None,
    args: list[str],
    message: str,
) -> None:
    file = tmp_path / "given.yaml"
    if content is not None:
        file.write_text(content)
    args = [arg.format(file=file) for arg in args]
    result = mamori(
        tmp_path, "scan", "-q", "--dbpath", str(scan_db), *args,
        f"oci-archive:{bookworm_node.oci_archive}",
    )  # fmt: skip
    assert_one_line_error(result, 2, message.format(file=file))


def test_an_sbom_has_no_policy(tmp_path: Path, bookworm_node: FixtureImage) -> None:
    result = mamori(
        tmp_path, "sbom", "-q", "-o", "json", f"oci-archive:{bookworm_node.oci_archive}"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["policy"] is None
    ScanResultV1.model_validate(document)
