"""A Markdown summary of a scan, for a CI job's summary page (GITHUB_STEP_SUMMARY): the verdict,
counts per severity, the failing rules and the worst findings. At most MAX_BYTES, the limit of a
GitHub step summary: past it the text is cut at a line and says so."""

from __future__ import annotations

from collections import Counter

from mamori.model import Finding, FindingStatus, RuleVerdict, ScanResult, SeverityRating
from mamori.report.selection import worst_first
from mamori.report.terminal import clean

MAX_BYTES = 1024 * 1024
RULE_FINDINGS = 20  # failing findings listed under each failing rule
TABLE_ROWS = 50
_TRUNCATED = "\n_… truncated: the summary is limited to 1 MiB._\n"
_WORST_FIRST = sorted(SeverityRating, key=lambda rating: -rating.rank)


class MarkdownFormatter:
    """`max_bytes`: GitHub's limit; a smaller one is for tests."""

    name = "markdown"

    def __init__(self, *, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes

    def render_scan(self, result: ScanResult) -> str:
        findings = worst_first(result.findings)
        lines = [f"## mamori scan of `{_code(result.inventory.image.reference)}`", ""]
        lines += [_verdict(result), ""]
        lines += _counts(findings)
        if result.policy is not None:
            lines += _failing_rules(result.policy.verdicts)
        lines += _table(findings)
        return _capped("\n".join(lines) + "\n", self.max_bytes)


def _verdict(result: ScanResult) -> str:
    if result.policy is None:
        return "No policy was evaluated."
    policies = ", ".join(_cell(name) for name in result.policy.policies)
    verdict = "✅ Policy **PASSED**" if result.policy.passed else "❌ Policy **FAILED**"
    return f"{verdict} ({policies})"


def _counts(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["No vulnerabilities found.", ""]
    total = Counter(f.severity.rating for f in findings)
    fixable = Counter(f.severity.rating for f in findings if f.status is FindingStatus.FIXED)
    lines = ["| Severity | Findings | Fixable |", "| --- | ---: | ---: |"]
    lines += [
        f"| {rating.value.upper()} | {total[rating]} | {fixable[rating]} |"
        for rating in _WORST_FIRST
    ]
    lines.append(f"| **Total** | {len(findings)} | {sum(fixable.values())} |")
    return [*lines, ""]


def _failing_rules(verdicts: tuple[RuleVerdict, ...]) -> list[str]:
    failing = [v for v in verdicts if not v.passed and not v.informational]
    if not failing:
        return []
    lines = ["### Failing rules", ""]
    for verdict in failing:
        entries = [
            *(_finding_entry(finding) for finding in worst_first(verdict.findings)),
            *(f"package {_code(p.name)} {_code(p.version)}" for p in verdict.packages),
            *(f"{issue.check.value}: {_cell(issue.detail)}" for issue in verdict.config_issues),
        ]
        lines.append(
            f"- **{_cell(verdict.policy)}/{_cell(verdict.rule_id)}**: "
            f"{_cell(verdict.description)} ({len(entries)} failed it)"
        )
        lines += [f"  - {entry}" for entry in entries[:RULE_FINDINGS]]
        if len(entries) > RULE_FINDINGS:
            lines.append(f"  - … and {len(entries) - RULE_FINDINGS} more")
    return [*lines, ""]


def _table(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    lines = [
        "### Findings",
        "",
        "| Severity | ID | Package | Installed | Fixed |",
        "| --- | --- | --- | --- | --- |",
    ]
    for finding in findings[:TABLE_ROWS]:
        lines.append(
            f"| {finding.severity.rating.value.upper()} | {_cell(finding.id)} | "
            f"{_cell(finding.package.name)} | {_cell(finding.installed_version)} | "
            f"{_cell(finding.fixed_version) or '-'} |"
        )
    if len(findings) > TABLE_ROWS:
        lines += ["", f"… and {len(findings) - TABLE_ROWS} more findings not shown."]
    return [*lines, ""]


def _finding_entry(finding: Finding) -> str:
    return (
        f"{finding.severity.rating.value.upper()} {_cell(finding.id)} "
        f"{_cell(finding.package.name)} {_cell(finding.installed_version)}"
    )


def _cell(text: str) -> str:
    """One line, safe in a table cell: no control characters, pipes or markup."""
    cleaned = clean(text).replace("\n", " ").replace("\\", "\\\\")
    for char in "|*_`~<>[]":
        cleaned = cleaned.replace(char, "\\" + char)
    return cleaned


def _code(text: str) -> str:
    return clean(text).replace("`", "'").replace("\n", " ")


def _capped(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    room = max(max_bytes - len(_TRUNCATED.encode()), 0)
    head = data[:room].decode(errors="ignore")
    return head[: head.rfind("\n") + 1] + _TRUNCATED
