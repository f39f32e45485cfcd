"""The terminal report of a scan: image and database facts, counts, findings by package, and
the policy's verdict.

Short enough for a CI log: a header, one line of counts per severity (with how many have a
fix), then one line per finding, grouped by package with the worst package first, then the
policy block (`policy_block`). On a
terminal or in a CI log (`limit`) the list stops after TERMINAL_ROWS findings and says how
many more there are; written to a file it is complete.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from rich.cells import cell_len
from rich.table import Table
from rich.text import Span, Text

from mamori.model import Finding, FindingStatus, Package, ScanResult, SeverityRating
from mamori.report.policy_block import POLICY_ROWS, policy_block
from mamori.report.terminal import Report, clean, os_text, short_digest
from mamori.schema import inventory_time

TERMINAL_ROWS = 100
_HEADINGS = ("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "STATUS")
_GAP = 2
_STYLES = {
    SeverityRating.CRITICAL: "bold red",
    SeverityRating.HIGH: "red",
    SeverityRating.MEDIUM: "yellow",
    SeverityRating.LOW: "cyan",
    SeverityRating.NEGLIGIBLE: "dim",
    SeverityRating.UNKNOWN: "dim",
}
_WORST_FIRST = sorted(SeverityRating, key=lambda rating: -rating.rank)


class FindingsTableFormatter:
    """`width` and `color` as for the inventory table; `limit`: most findings listed
    (None: all)."""

    name = "table"

    def __init__(
        self,
        *,
        width: int | None = None,
        color: bool | None = None,
        limit: int | None = TERMINAL_ROWS,
    ) -> None:
        self.width = width
        self.color = color
        self.limit = limit

    def render_scan(self, result: ScanResult) -> str:
        report = Report(self.width, self.color)
        console = report.console
        console.print(_header(result))
        console.print()
        findings = _grouped(result.findings)
        console.print(_counts(findings))
        if findings:
            shown = findings if self.limit is None else findings[: self.limit]
            console.print()
            report.print_block(_rows(shown))
            hidden = len(findings) - len(shown)
            if hidden:
                packages = len({f.package for f in findings[len(shown) :]})
                console.print(
                    Text(
                        f"… and {_count(hidden, 'more finding')} in {_count(packages, 'package')}"
                        ", not shown here: the JSON output and a table written to a file list "
                        "them all",
                        style="dim",
                    )
                )
        warnings = [*result.inventory.warnings, *result.warnings]
        if warnings:
            console.print()
            console.print(Text("Warnings:", style="bold yellow"))
            for warning in warnings:
                console.print(Text(f"  ! {clean(warning)}", style="yellow"))
        if result.policy is not None:
            console.print()
            rows = None if self.limit is None else POLICY_ROWS
            report.print_block(policy_block(result.policy, rows))
        return report.text()


def _header(result: ScanResult) -> Table:
    inventory = result.inventory
    image = inventory.image
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    rows = [
        ("Image", Text(clean(image.reference))),
        ("Digest", Text(short_digest(image.digest) or "-")),
        ("OS", os_text(inventory.os)),
        ("Packages", Text(str(len(inventory.packages)))),
        ("Database", _database(result)),
    ]
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def _database(result: ScanResult) -> Text:
    built_at = result.db.built_at
    try:
        built = datetime.fromisoformat(built_at)
    except ValueError:
        return Text(f"built {clean(built_at) or '(unknown)'}")
    if built.tzinfo is None:
        return Text(f"built {clean(built_at)}")
    age = _age(inventory_time(result.inventory) - built)
    return Text(f"built {built.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {age} old at scan time")


def _age(delta: timedelta) -> str:
    hours = max(delta.total_seconds(), 0) / 3600
    if hours < 1:
        return "less than an hour"
    if hours < 48:
        return f"{hours:.0f} hours"
    return f"{hours / 24:.0f} days"


def _grouped(findings: tuple[Finding, ...]) -> list[Finding]:
    """Findings by package, the package with the worst finding first; worst first within."""
    groups: dict[Package, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.package, []).append(finding)
    for members in groups.values():
        members.sort(key=lambda f: (-f.severity.rating.rank, -(f.severity.score or 0.0), f.id))
    ordered = sorted(
        groups.items(),
        key=lambda item: (-item[1][0].severity.rating.rank, item[0].sort_key()),
    )
    return [finding for _, members in ordered for finding in members]


def _counts(findings: list[Finding]) -> Text:
    """A summary line, then the count per severity, with how many of them have a fix."""
    if not findings:
        return Text("No vulnerabilities found.", style="bold green")
    total = Counter(f.severity.rating for f in findings)
    fixable = Counter(f.severity.rating for f in findings if f.status is FindingStatus.FIXED)
    packages = len({f.package for f in findings})
    text = Text(
        f"{_count(len(findings), 'vulnerability', 'vulnerabilities')} in "
        f"{_count(packages, 'package')}, {sum(fixable.values())} with a fix\n",
        style="bold",
    )
    for n, rating in enumerate(_WORST_FIRST):
        if n:
            text.append("   ")
        count = total[rating]
        text.append(f"{rating.value.upper()} {count}", style=_STYLES[rating] if count else "")
        if fixable[rating]:
            text.append(f" ({fixable[rating]} fixable)")
    return text


def _count(n: int, singular: str, plural: str = "") -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _rows(findings: list[Finding]) -> Text:
    """The heading line in bold and one line per finding with its severity in colour.

    Styled by spans over one string rather than by a Text per cell or a rich Table (about
    0.4 ms per row); headings and severities are ASCII, so their widths are their lengths.
    """
    columns = list(zip(_HEADINGS, *(_cells(finding) for finding in findings), strict=True))
    sizes = [[cell_len(cell) for cell in column] for column in columns]
    rooms = [max(column) + _GAP for column in sizes[:-1]]  # the last column is not padded
    padded = [
        [cell + " " * (room - size) for cell, size in zip(column, column_sizes, strict=True)]
        for column, column_sizes, room in zip(columns, sizes, rooms, strict=False)
    ]
    lines = ["".join(parts) for parts in zip(*padded, columns[-1], strict=True)]
    spans, start = [], 0
    for room in rooms:
        spans.append(Span(start, start + room, "bold"))
        start += room
    spans.append(Span(start, len(lines[0]), "bold"))
    offset = len(lines[0]) + 1
    for line, finding in zip(lines[1:], findings, strict=True):
        spans.append(Span(offset, offset + rooms[0], _STYLES[finding.severity.rating]))
        offset += len(line) + 1
    return Text("\n".join(lines), spans=spans)


def _cells(finding: Finding) -> tuple[str, str, str, str, str, str]:
    return (
        finding.severity.rating.value.upper(),
        clean(finding.id),
        clean(finding.package.name),
        clean(finding.installed_version),
        clean(finding.fixed_version) or "-",
        finding.status.value,
    )
