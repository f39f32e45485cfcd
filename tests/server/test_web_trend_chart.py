"""The console's trend chart: stacked areas per severity, a titled point per scan, round ticks,
and every string escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from mamori.server.scans.queries import SEVERITIES, SeverityCount, TrendPoint
from mamori.server.web.trend_chart import nice_ceiling, trend_svg

SVG = "{http://www.w3.org/2000/svg}"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def text(element: ET.Element | None) -> str | None:
    assert element is not None
    return element.text


def point(n: int, tag: str, **totals: int) -> TrendPoint:
    counts = tuple(SeverityCount(s, totals.get(s, 0), 0) for s in SEVERITIES)
    return TrendPoint(str(n), START + timedelta(days=n), tag, "failed", counts)


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (5, 5), (6, 10), (11, 20), (501, 1000)]
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_stacked_series_with_titled_points() -> None:
    points = [point(0, "v1", critical=2, high=3), point(1, "v2", high=1), point(2, "v3")]
    svg = ET.fromstring(trend_svg(points, "shop"))
    assert text(svg.find(f"{SVG}title")) == "shop"
    series = svg.findall(f"{SVG}g[@class]")
    groups = {g.get("class"): g for g in series}
    assert set(groups) == {
        "series sev-critical", "series sev-high", "legend sev-critical", "legend sev-high",
    }  # fmt: skip
    tips = [text(c.find(f"{SVG}title")) for c in groups["series sev-high"].iter(f"{SVG}circle")]
    assert tips == [
        "2026-03-01 12:00 v1: 3 high",
        "2026-03-02 12:00 v2: 1 high",
        "2026-03-03 12:00 v3: 0 high",
    ]
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]
    assert ticks[:6] == ["0", "1", "2", "3", "4", "5"]  # total 5 → ceiling 5, step 1
    assert ticks[6:] == ["2026-03-01", "2026-03-03"]
    high_top = [float(c.get("cy", "")) for c in groups["series sev-high"].iter(f"{SVG}circle")]
    critical_top = [
        float(c.get("cy", "")) for c in groups["series sev-critical"].iter(f"{SVG}circle")
    ]
    assert high_top[0] < critical_top[0]  # stacked: high sits above critical


def test_hostile_tags_are_escaped_and_empty_chart_says_so() -> None:
    hostile = "<script>alert(1)</script>&"
    svg = trend_svg([point(0, hostile, low=1)], hostile)
    assert "<script>" not in svg
    parsed = ET.fromstring(svg)
    assert text(parsed.find(f"{SVG}title")) == hostile
    empty = ET.fromstring(trend_svg([], "nothing"))
    assert [t.text for t in empty.iter(f"{SVG}text") if t.get("class") == "empty"] == [
        "no scans yet"
    ]
