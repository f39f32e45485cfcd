"""The trend chart: findings per severity over time as an inline SVG, drawn on the server.

Stacked areas, the worst severity at the bottom, so lines never hide one another and the top
edge is the total. A point per scan and severity carries a <title> (the browser's tooltip, and
what a screen reader reads); the y axis has round ticks, the x axis the first and last scan
times. Every string is escaped here: the SVG is inserted into the page as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from mamori.server.scans.queries import SEVERITIES, TrendPoint

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 44


def nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _x_positions(points: Sequence[TrendPoint]) -> list[float]:
    """By time; evenly spaced when all scans share one timestamp."""
    inner = WIDTH - LEFT - RIGHT
    if len(points) == 1:
        return [LEFT + inner / 2]
    start, end = points[0].created_at, points[-1].created_at
    span = (end - start).total_seconds()
    if span <= 0:
        return [LEFT + inner * i / (len(points) - 1) for i in range(len(points))]
    return [LEFT + inner * (p.created_at - start).total_seconds() / span for p in points]


def _time_label(moment: datetime, same_day: bool) -> str:
    return moment.strftime("%H:%M" if same_day else "%Y-%m-%d")


def trend_svg(points: Sequence[TrendPoint], title: str) -> str:
    """The chart for `points` (any order); an empty chart says there is nothing to show."""
    points = sorted(points, key=lambda p: p.created_at)
    counts = [{c.severity: c.total for c in p.counts} for p in points]
    shown = [s for s in SEVERITIES if any(c.get(s, 0) for c in counts)]
    top = nice_ceiling(max((sum(c.values()) for c in counts), default=0))
    step = nice_ceiling(top / 5)
    inner_h = HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + inner_h * (1 - value / top)

    parts = [
        f'<svg class="trend" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="trend-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="trend-title">{escape(title)}</title>',
    ]
    for tick in range(0, top + 1, step):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick}</text>'
        )
    if not points:
        parts.append(
            f'<text class="empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "no scans yet</text></svg>"
        )
        return "".join(parts)
    xs = _x_positions(points)
    first, last = points[0].created_at, points[-1].created_at
    same_day = first.date() == last.date()
    axis_y = HEIGHT - BOTTOM
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{axis_y}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{axis_y}" y2="{axis_y}"/>'
        f'<text class="tick" x="{LEFT}" y="{axis_y + 16}">{_time_label(first, same_day)}</text>'
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{axis_y + 16}" text-anchor="end">'
        f"{_time_label(last, same_day)}</text>"
    )
    # Per point, once: the start of every tooltip (time and tag, escaped).
    tips = [
        escape(f"{p.created_at:%Y-%m-%d %H:%M} {p.tag or f'scan {p.scan_id}'}: ") for p in points
    ]
    below = [0] * len(points)
    for severity in shown:
        above = [b + c.get(severity, 0) for b, c in zip(below, counts, strict=True)]
        outline = [f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, above, strict=True)]
        outline += [f"{x:.1f},{y(v):.1f}" for x, v in reversed(list(zip(xs, below, strict=True)))]
        parts.append(f'<g class="series sev-{severity}"><polygon points="{" ".join(outline)}"/>')
        for x, value, tip, count in zip(xs, above, tips, counts, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y(value):.1f}" r="4"><title>{tip}'
                f"{count.get(severity, 0)} {severity}</title></circle>"
            )
        parts.append("</g>")
        below = above
    legend_x = float(LEFT)
    for severity in shown:
        parts.append(
            f'<g class="legend sev-{severity}"><rect x="{legend_x}" y="{HEIGHT - 16}" '
            f'width="10" height="10"/><text x="{legend_x + 14}" y="{HEIGHT - 7}">'
            f"{severity}</text></g>"
        )
        legend_x += 30 + 7.5 * len(severity)
    parts.append("</svg>")
    return "".join(parts)
