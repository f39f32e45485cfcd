"""JUnit XML, for CI systems that show test reports: one testsuite per policy, one testcase per
rule. A failed rule carries a failure listing what failed it; an informational rule passes, and
what it flagged goes to its system-out.

Without a policy evaluation (a scan result from the library, not the CLI) there is one suite,
"mamori", with one failing testcase per finding, or one passing testcase when there is none.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from mamori.model import Finding, PolicyEvaluation, RuleVerdict, ScanResult
from mamori.report.selection import worst_first


class JUnitFormatter:
    name = "junit"

    def render_scan(self, result: ScanResult) -> str:
        root = ET.Element("testsuites", name="mamori")
        if result.policy is None:
            _findings_suite(root, result)
        else:
            _policy_suites(root, result.policy)
        root.set("tests", str(sum(int(suite.get("tests", "0")) for suite in root)))
        root.set("failures", str(sum(int(suite.get("failures", "0")) for suite in root)))
        ET.indent(root)
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _policy_suites(root: ET.Element, evaluation: PolicyEvaluation) -> None:
    for policy in evaluation.policies:
        suite = _suite(root, policy)
        for verdict in evaluation.verdicts:
            if verdict.policy == policy:
                _rule_case(suite, verdict)
        _count(suite)


def _rule_case(suite: ET.Element, verdict: RuleVerdict) -> None:
    case = ET.SubElement(
        suite, "testcase", name=verdict.rule_id, classname=f"mamori.{verdict.policy}"
    )
    lines = [
        *(_finding_line(finding) for finding in verdict.findings),
        *(f"package {p.name} {p.version}" for p in verdict.packages),
        *(f"{issue.check.value}: {issue.detail}" for issue in verdict.config_issues),
    ]
    if not verdict.passed and not verdict.informational:
        failure = ET.SubElement(
            case,
            "failure",
            message=f"{verdict.description} ({len(lines)} failed it)",
            type=verdict.kind.value,
        )
        failure.text = "\n".join(lines)
    elif lines:
        ET.SubElement(case, "system-out").text = "\n".join(lines)


def _findings_suite(root: ET.Element, result: ScanResult) -> None:
    suite = _suite(root, "mamori")
    findings = worst_first(result.findings)
    for finding in findings:
        case = ET.SubElement(
            suite, "testcase", name=finding.id, classname=f"mamori.{finding.package.name}"
        )
        failure = ET.SubElement(
            case, "failure", message=_finding_line(finding), type=finding.severity.rating.value
        )
        failure.text = finding.summary
    if not findings:
        ET.SubElement(suite, "testcase", name="no vulnerabilities", classname="mamori")
    _count(suite)


def _suite(root: ET.Element, name: str) -> ET.Element:
    return ET.SubElement(root, "testsuite", name=name)


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for case in cases if case.find("failure") is not None)))
    suite.set("errors", "0")
    suite.set("skipped", "0")


def _finding_line(finding: Finding) -> str:
    fix = finding.fixed_version or "no fix"
    return (
        f"{finding.severity.rating.value.upper()} {finding.id} {finding.package.name} "
        f"{finding.installed_version} (fixed: {fix})"
    )
