"""The JUnit XML output: one suite per policy, one case per rule, counts that match."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace

from mamori.report.junit import JUnitFormatter
from tests.report.findings import scan_result
from tests.report.policies import evaluated


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.encode())


def assert_counts_match(root: ET.Element) -> None:
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "")) == len(cases)
        failed = [case for case in cases if case.find("failure") is not None]
        assert int(suite.get("failures", "")) == len(failed)
    assert int(root.get("tests", "")) == len(list(root.iter("testcase")))
    assert int(root.get("failures", "")) == len(list(root.iter("failure")))


def test_one_suite_per_policy_one_case_per_rule() -> None:
    root = parse(JUnitFormatter().render_scan(evaluated(scan_result(), ("default", "strict"))))
    assert_counts_match(root)
    assert [suite.get("name") for suite in root] == ["default", "strict"]
    for suite in root:
        cases = {case.get("name"): case for case in suite}
        assert set(cases) == {"no-fixable-high", "no-ssh", "healthcheck"}
        failure = cases["no-fixable-high"].find("failure")
        assert failure is not None and failure.text is not None
        assert "CVE-2023-5363" in failure.text and "CVE-2023-4911" in failure.text
        assert "CVE-2010-4756" not in failure.text
        assert cases["no-ssh"].find("failure") is None
        informational = cases["healthcheck"]
        assert informational.find("failure") is None
        assert "no_healthcheck" in (informational.findtext("system-out") or "")
    assert root.get("failures") == "2"


def test_a_passing_policy_has_no_failures() -> None:
    root = parse(JUnitFormatter().render_scan(evaluated(scan_result(findings=()))))
    assert_counts_match(root)
    assert root.get("tests") == "3" and root.get("failures") == "0"


def test_without_a_policy_each_finding_is_a_failing_case() -> None:
    result = scan_result()
    root = parse(JUnitFormatter().render_scan(result))
    assert_counts_match(root)
    assert [suite.get("name") for suite in root] == ["mamori"]
    assert root.get("failures") == str(len(result.findings))
    empty = parse(JUnitFormatter().render_scan(replace(result, findings=())))
    assert_counts_match(empty)
    assert empty.get("tests") == "1" and empty.get("failures") == "0"
