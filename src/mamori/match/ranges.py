"""OSV's affected-range semantics, evaluated with the ecosystem's version scheme.

For each range of type ECOSYSTEM or SEMVER the events are sorted by version ("introduced: 0"
first) and walked in order: `introduced` ≤ v turns "affected" on, `fixed` ≤ v or
`last_affected` < v turns it off; `limit` bounds the range. GIT ranges name commits, which an
installed package does not have: they are left to the explicit `versions` list, which
counts as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mamori.versions.interface import InvalidVersion, VersionScheme

EVALUATED = ("ECOSYSTEM", "SEMVER")


@dataclass(frozen=True)
class Verdict:
    affected: bool
    fixed_version: str = ""  # the first release at or after which this range is fixed
    unparseable: bool = False  # a range event could not be read in this scheme


def evaluate(
    scheme: VersionScheme,
    version: str,
    ranges: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    versions: Sequence[str],
) -> Verdict:
    """Is `version` affected by one OSV `affected` entry (its ranges and versions list)?"""
    try:
        installed = scheme.key(version)
    except InvalidVersion:
        return Verdict(False, unparseable=True)
    unparseable = False
    for range_type, events in ranges:
        if range_type not in EVALUATED:
            continue
        try:
            affected, fixed = _walk(scheme, installed, events)
        except InvalidVersion:
            unparseable = True
            continue
        if affected:
            return Verdict(True, fixed)
    if version in versions:
        return Verdict(True)
    return Verdict(False, unparseable=unparseable)


def _walk(
    scheme: VersionScheme, installed: Any, events: Sequence[tuple[str, str]]
) -> tuple[bool, str]:
    lowest: list[tuple[Any, str, str]] = []  # "introduced: 0" sorts before every version
    keyed: list[tuple[Any, str, str]] = []
    for kind, value in events:
        if kind == "introduced" and value == "0":
            lowest.append((None, kind, value))
        else:
            keyed.append((scheme.key(value), kind, value))
    keyed.sort(key=lambda item: item[0])
    affected = False
    fixed_at = ""
    for key, kind, value in [*lowest, *keyed]:
        if kind == "introduced":
            if key is None or key <= installed:
                affected = True
                fixed_at = ""
        elif kind == "fixed":
            if key <= installed:
                affected = False
            elif affected and not fixed_at:
                fixed_at = value
        elif kind == "last_affected":
            if key < installed:
                affected = False
        elif kind == "limit" and key <= installed:
            affected = False
    return affected, fixed_at if affected else ""
