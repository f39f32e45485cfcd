"""Query-string filters of the console's lists, parsed into the queries' filter types.

A bad value (an unknown severity, a malformed date) becomes one message shown above the table
with status 400, not a traceback and not a JSON error in the middle of a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

from starlette.datastructures import QueryParams

from mamori.server.scans.queries import SEVERITIES, FindingFilter, FindingSort, ScanFilter

PAGE_SIZE = 50
VERDICTS = ("passed", "failed", "none")
FINDING_SORTS: tuple[FindingSort, ...] = ("severity", "score", "package", "id")


class FilterError(ValueError):
    """A filter value the console cannot use; the message names it."""


def params_of(query: QueryParams, *names: str) -> dict[str, str]:
    """The named parameters as strings ("" when absent), stripped, at most 500 characters."""
    return {name: query.get(name, "").strip()[:500] for name in names}


def offset_of(query: QueryParams) -> int:
    raw = query.get("offset", "0")
    if not raw.isdigit() or len(raw) > 9:
        raise FilterError(f"invalid offset {raw[:40]!r}: use a whole number")
    return int(raw)


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FilterError(f"invalid {name} date {value[:40]!r}: use YYYY-MM-DD") from None


def _choice(value: str, allowed: tuple[str, ...], name: str) -> str | None:
    if not value:
        return None
    if value not in allowed:
        raise FilterError(f"unknown {name} {value[:40]!r}: use one of {', '.join(allowed)}")
    return value


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


SCAN_PARAMS = ("repository", "tag", "verdict", "severity", "since", "until", "q")


def scan_filter(params: dict[str, str]) -> ScanFilter:
    """The pipeline filters; `until` is inclusive (scans of that whole day match)."""
    since, until = _day(params["since"], "from"), _day(params["until"], "to")
    return ScanFilter(
        repository=params["repository"] or None,
        tag=params["tag"] or None,
        verdict=_choice(params["verdict"], VERDICTS, "verdict"),
        min_severity=_choice(params["severity"], SEVERITIES, "severity"),
        since=None if since is None else _midnight(since),
        until=None if until is None else _midnight(until) + timedelta(days=1),
        text=params["q"] or None,
    )


FINDING_PARAMS = ("severity", "fixable", "package", "ecosystem", "q", "sort")


@dataclass(frozen=True)
class FindingQuery:
    filters: FindingFilter
    sort: FindingSort


def finding_query(params: dict[str, str]) -> FindingQuery:
    severity = _choice(params["severity"], SEVERITIES, "severity")
    fixable = _choice(params["fixable"], ("yes", "no"), "fixable")
    sort = _choice(params["sort"], FINDING_SORTS, "sort") or "severity"
    return FindingQuery(
        FindingFilter(
            severities=(severity,) if severity else (),
            fixable=None if fixable is None else fixable == "yes",
            package=params["package"] or None,
            ecosystem=params["ecosystem"] or None,
            text=params["q"] or None,
        ),
        cast(FindingSort, sort),  # checked against FINDING_SORTS above
    )
