"""Which findings a report shows, and in what order: worst first, and the `--severity` and
`--only-fixed` display filters (they narrow what is shown, never the policy's verdict)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from mamori.model import Finding, FindingStatus, ScanResult, SeverityRating

DISPLAY_FILTERED = ("table", "markdown")  # the formats the display filters apply to


def worst_first(findings: Iterable[Finding]) -> list[Finding]:
    """By rating, then score, then id, package and location: a total, stable order."""
    return sorted(
        findings,
        key=lambda f: (
            -f.severity.rating.rank,
            -(f.severity.score or 0.0),
            f.id,
            f.package.sort_key(),
        ),
    )


def displayed(result: ScanResult, minimum: SeverityRating | None, only_fixed: bool) -> ScanResult:
    """`result` with only the findings at or above `minimum` (and with a fix if `only_fixed`)."""
    kept = tuple(
        finding
        for finding in result.findings
        if (minimum is None or finding.severity.rating.rank >= minimum.rank)
        and (not only_fixed or finding.status is FindingStatus.FIXED)
    )
    return result if kept == result.findings else replace(result, findings=kept)
