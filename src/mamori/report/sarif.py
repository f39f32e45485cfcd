"""SARIF 2.1.0 for GitHub code scanning: one run, one rule per vulnerability id, one result per
finding located at the package's first file in the image.

GitHub rejects a run with more than MAX_RESULTS results or MAX_RULES rules, or a file over
MAX_BYTES; past those the worst findings are kept (`selection.worst_first`) and the run's
`omittedResults` property says how many were left out. A rule exists only for a kept result,
so there are never more rules than results.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import orjson

from mamori import __version__
from mamori.model import Finding, ScanResult, SeverityRating
from mamori.report.selection import worst_first

MAX_RESULTS = 5000
MAX_RULES = 5000
MAX_BYTES = 10_000_000

# security-severity when no CVSS score is known; GitHub reads ≥9 critical, ≥7 high, ≥4 medium.
_RATING_SCORE = {
    SeverityRating.CRITICAL: "9.5",
    SeverityRating.HIGH: "8.0",
    SeverityRating.MEDIUM: "5.5",
    SeverityRating.LOW: "2.0",
}
_LEVEL = {
    SeverityRating.CRITICAL: "error",
    SeverityRating.HIGH: "error",
    SeverityRating.MEDIUM: "warning",
}


class SarifFormatter:
    """`max_results` and `max_bytes` are GitHub's limits; smaller ones are for tests."""

    name = "sarif"

    def __init__(self, *, max_results: int = MAX_RESULTS, max_bytes: int = MAX_BYTES) -> None:
        self.max_results = min(max_results, MAX_RULES)
        self.max_bytes = max_bytes

    def render_scan(self, result: ScanResult) -> str:
        findings = worst_first(result.findings)
        keep = min(len(findings), self.max_results)
        while True:
            data = _document(result, findings[:keep], len(findings) - keep)
            size = len(data)
            if size <= self.max_bytes or keep == 0:
                return data.decode()
            keep = min(keep - 1, int(keep * self.max_bytes / size * 0.95))


def _document(result: ScanResult, findings: list[Finding], omitted: int) -> bytes:
    """The document as UTF-8, indented by two spaces, keys in the order written here."""
    rules: dict[str, int] = {}
    rule_objects: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for finding in findings:  # worst first: a rule describes the worst finding of its id
        if finding.id not in rules:
            rules[finding.id] = len(rule_objects)
            rule_objects.append(_rule(finding))
        results.append(_result(result, finding, rules[finding.id]))
    image = result.inventory.image
    document = {
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mamori",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": rule_objects,
                    }
                },
                "results": results,
                "properties": {
                    "image": image.reference,
                    "imageDigest": image.digest,
                    "omittedResults": omitted,
                },
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def _rule(finding: Finding) -> dict[str, Any]:
    summary = finding.summary or finding.id
    full = summary
    if finding.aliases:
        full += f" (aliases: {', '.join(finding.aliases)})"
    properties: dict[str, Any] = {"tags": ["security", "vulnerability"]}
    severity = _security_severity(finding)
    if severity:
        properties["security-severity"] = severity
    rule: dict[str, Any] = {
        "id": finding.id,
        "name": finding.id,
        "shortDescription": {"text": summary},
        "fullDescription": {"text": full},
        "properties": properties,
    }
    if finding.links:
        rule["helpUri"] = finding.links[0]
    return rule


def _security_severity(finding: Finding) -> str:
    """The CVSS score, else the rating's typical score; none for negligible and unknown."""
    score = finding.severity.score
    if score is not None:
        return f"{score:.1f}"
    return _RATING_SCORE.get(finding.severity.rating, "")


def _result(result: ScanResult, finding: Finding, rule_index: int) -> dict[str, Any]:
    package = finding.package
    fix = f"fixed in {finding.fixed_version}" if finding.fixed_version else "no fix available"
    matched = finding.installed_version
    # An OS package is matched by its source version; name the installed one when it differs.
    installed = "" if matched == package.version else f" (installed {package.version})"
    message = f"{finding.id} in {package.name} {matched}{installed}: {fix}"
    # A package found nowhere in particular is reported against the image itself.
    path = package.locations[0].path if package.locations else result.inventory.image.reference
    uri = quote(path.lstrip("/"))
    fingerprint = hashlib.sha256(f"{finding.id}\0{package.name}\0{path}".encode()).hexdigest()
    return {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": _LEVEL.get(finding.severity.rating, "note"),
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1},
                }
            }
        ],
        "partialFingerprints": {"mamoriFinding/v1": fingerprint[:32]},
    }
