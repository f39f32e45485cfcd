"""The policy block at the end of the terminal report: the verdict, every rule's verdict with
what failed it, the accepted findings and the acceptances that expired.

In a CI log (`limit`) each list stops after `limit` entries and says how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from mamori.model import Acceptance, Finding, PolicyEvaluation, RuleVerdict
from mamori.report.terminal import clean

POLICY_ROWS = 10  # most entries of one list in the block on a terminal
_INDENT = "        "


def policy_block(evaluation: PolicyEvaluation, limit: int | None) -> Text:
    text = Text()
    verdict = "PASSED" if evaluation.passed else "FAILED"
    text.append(f"Policy {verdict}", style="bold green" if evaluation.passed else "bold red")
    text.append(f" ({', '.join(clean(name) for name in evaluation.policies)})\n")
    for rule in evaluation.verdicts:
        _verdict(text, rule, limit)
    if evaluation.accepted:
        text.append(f"Accepted findings: {len(evaluation.accepted)}\n", style="bold")
        lines = [
            f"  {_finding(item.finding)}: {_acceptance(item.acceptance)}"
            for item in evaluation.accepted
        ]
        _capped(text, lines, limit, "", "  ")
    if evaluation.expired:
        text.append("Expired acceptances (no longer applied):\n", style="bold yellow")
        lines = [
            f"  {_acceptance(item.acceptance)}: covered "
            + ", ".join(_finding(finding) for finding in item.findings)
            for item in evaluation.expired
        ]
        _capped(text, lines, limit, "yellow", "  ")
    for warning in evaluation.warnings:
        text.append(f"  ! {clean(warning)}\n", style="yellow")
    text.rstrip()
    return text


def _verdict(text: Text, rule: RuleVerdict, limit: int | None) -> None:
    flagged = len(rule.findings) + len(rule.packages) + len(rule.config_issues)
    if not rule.passed and not rule.informational:
        mark, style, note = "FAIL", "bold red", f" ({flagged} failed it)"
    elif rule.informational and flagged:
        mark, style, note = "info", "yellow", f" ({flagged} flagged, informational)"
    else:
        mark, style, note = "pass", "green", ""
    text.append(f"  {mark:<6}", style=style)
    text.append(f"{clean(rule.policy)}/{clean(rule.rule_id)}: {clean(rule.description)}")
    if flagged and note:
        text.append(note)
    text.append("\n")
    lines = [
        *(_INDENT + _finding(finding) for finding in rule.findings),
        *(_INDENT + f"package {clean(p.name)} {clean(p.version)}" for p in rule.packages),
        *(_INDENT + f"{issue.check.value}: {clean(issue.detail)}" for issue in rule.config_issues),
    ]
    _capped(text, lines, limit, "", _INDENT)


def _capped(text: Text, lines: Sequence[str], limit: int | None, style: str, indent: str) -> None:
    shown = lines if limit is None else lines[:limit]
    if shown:  # one append: a Text costs about 0.05 ms per append
        text.append("".join(line + "\n" for line in shown), style=style)
    if len(lines) > len(shown):
        text.append(f"{indent}… and {len(lines) - len(shown)} more\n", style="dim")


def _finding(finding: Finding) -> str:
    package = finding.package
    return (
        f"{finding.severity.rating.value.upper()} {clean(finding.id)} "
        f"{clean(package.name)} {clean(package.version)}"
    )


def _acceptance(acceptance: Acceptance) -> str:
    selectors = [acceptance.vulnerability]
    if acceptance.package is not None:
        version = acceptance.package.version
        selectors.append(acceptance.package.name + (f" {version}" if version else ""))
    selectors.append(acceptance.image)
    covered = " ".join(clean(selector) for selector in selectors if selector)
    by = f" by {clean(acceptance.author)}" if acceptance.author else ""
    return (
        f"{covered}, until {acceptance.expires.isoformat()}{by}: {clean(acceptance.reason)} "
        f"[{clean(acceptance.source)}]"
    )
