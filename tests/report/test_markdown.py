"""The Markdown summary: verdict, counts, failing rules, the worst findings, a size cap."""

from __future__ import annotations

from dataclasses import replace

from mamori.model import SeverityRating
from mamori.report.markdown import RULE_FINDINGS, TABLE_ROWS, MarkdownFormatter
from mamori.report.selection import displayed
from tests.report.findings import finding, package, scan_result
from tests.report.policies import evaluated


def test_the_summary_has_verdict_counts_rules_and_findings() -> None:
    result = scan_result()
    installed = package(result.inventory, "libssl3").version.replace("~", "\\~")
    text = MarkdownFormatter().render_scan(evaluated(result))
    assert "❌ Policy **FAILED** (default)" in text
    assert "| CRITICAL | 1 | 1 |" in text and "| HIGH | 2 | 2 |" in text
    assert "| NEGLIGIBLE | 1 | 0 |" in text and "| **Total** | 6 | 4 |" in text
    assert "- **default/no-fixable-high**: high or critical findings with a fix (3 failed it)" in (
        text
    )
    assert "healthcheck" not in text  # informational: not a failing rule
    rows = [line for line in text.splitlines() if line.startswith("| CRITICAL | CVE")]
    assert rows == [f"| CRITICAL | CVE-2023-5363 | libssl3 | {installed} | 3.0.15-1\\~deb12u1 |"]
    table = text[text.index("### Findings") :]
    assert table.index("CVE-2023-5363") < table.index("CVE-2010-4756")


def test_long_lists_stop_and_say_how_many_more() -> None:
    base = scan_result()
    libc6 = package(base.inventory, "libc6")
    many = tuple(
        finding(libc6, f"CVE-2024-{n:04}", SeverityRating.HIGH, "9") for n in range(TABLE_ROWS + 7)
    )
    text = MarkdownFormatter().render_scan(evaluated(replace(base, findings=many)))
    assert f"  - … and {len(many) - RULE_FINDINGS} more" in text
    assert "… and 7 more findings not shown." in text
    assert text.count("| HIGH | CVE-2024-") == TABLE_ROWS


def test_a_clean_scan_passes() -> None:
    text = MarkdownFormatter().render_scan(evaluated(scan_result(findings=())))
    assert "✅ Policy **PASSED**" in text and "No vulnerabilities found." in text
    assert "### Failing rules" not in text and "### Findings" not in text


def test_cells_cannot_break_the_table() -> None:
    base = scan_result()
    odd = finding(package(base.inventory, "libc6"), "CVE|x*y", SeverityRating.LOW)
    text = MarkdownFormatter().render_scan(replace(base, findings=(odd,)))
    assert "| LOW | CVE\\|x\\*y |" in text


def test_the_summary_is_capped() -> None:
    full = MarkdownFormatter().render_scan(evaluated(scan_result()))
    limit = len(full.encode()) // 2
    text = MarkdownFormatter(max_bytes=limit).render_scan(evaluated(scan_result()))
    assert len(text.encode()) <= limit and text.endswith("limited to 1 MiB._\n")
    assert full.startswith(text[: text.index("\n_… truncated")])


def test_display_filters_narrow_the_findings() -> None:
    result = scan_result()
    high = displayed(result, SeverityRating.HIGH, False)
    assert {f.severity.rating for f in high.findings} == {
        SeverityRating.HIGH,
        SeverityRating.CRITICAL,
    }
    fixed = displayed(result, None, True)
    assert fixed.findings and all(f.fixed_version for f in fixed.findings)
    assert len(fixed.findings) < len(result.findings)
    assert displayed(result, None, False) is result
