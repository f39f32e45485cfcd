"""OSV range semantics (the OSV schema's evaluation rules), on real version schemes."""

from __future__ import annotations

import pytest

from mamori.match.ranges import evaluate
from mamori.versions import scheme_for

SEMVER = scheme_for("npm")
DPKG = scheme_for("Debian:12")


def ecosystem(*events: tuple[str, str]) -> list[tuple[str, list[tuple[str, str]]]]:
    return [("ECOSYSTEM", list(events))]


@pytest.mark.parametrize(
    ("version", "affected", "fixed"),
    [
        ("0.9.0", True, "1.2.0"),
        ("1.1.9", True, "1.2.0"),
        ("1.2.0", False, ""),
        ("1.5.0", False, ""),
        ("2.0.0", True, "2.0.3"),  # a second introduced/fixed pair in the same list
        ("2.0.3", False, ""),
        ("3.0.0-rc.1", False, ""),
    ],
)
def test_introduced_and_fixed(version: str, affected: bool, fixed: str) -> None:
    ranges = ecosystem(
        ("introduced", "0"), ("fixed", "1.2.0"), ("introduced", "2.0.0"), ("fixed", "2.0.3")
    )
    verdict = evaluate(SEMVER, version, ranges, ())
    assert (verdict.affected, verdict.fixed_version) == (affected, fixed)


def test_events_are_sorted_before_walking() -> None:
    ranges = ecosystem(
        ("fixed", "2.0.3"), ("introduced", "2.0.0"), ("fixed", "1.2.0"), ("introduced", "0")
    )
    assert evaluate(SEMVER, "2.0.1", ranges, ()).affected
    assert not evaluate(SEMVER, "1.3.0", ranges, ()).affected


@pytest.mark.parametrize(("version", "affected"), [("1.4.0", True), ("1.4.1", False)])
def test_last_affected_without_a_fix(version: str, affected: bool) -> None:
    ranges = ecosystem(("introduced", "1.0.0"), ("last_affected", "1.4.0"))
    verdict = evaluate(SEMVER, version, ranges, ())
    assert verdict.affected is affected and verdict.fixed_version == ""


def test_several_ranges_and_explicit_versions() -> None:
    ranges = [
        ("SEMVER", [("introduced", "1.0.0"), ("fixed", "1.0.5")]),
        ("GIT", [("introduced", "abc123"), ("fixed", "def456")]),  # commits: not evaluated
    ]
    assert evaluate(SEMVER, "1.0.4", ranges, ()).affected
    assert not evaluate(SEMVER, "0.9.0", ranges, ()).affected
    assert evaluate(SEMVER, "0.9.0", ranges, ("0.9.0",)).affected  # listed explicitly


def test_dpkg_epochs_and_tildes() -> None:
    ranges = ecosystem(("introduced", "0"), ("fixed", "1:1.2.13.dfsg-1"))
    assert not evaluate(DPKG, "1:1.2.13.dfsg-1", ranges, ()).affected
    assert evaluate(DPKG, "1:1.2.13~rc1-1", ranges, ()).affected
    assert not evaluate(DPKG, "2:0.1-1", ranges, ()).affected
    assert evaluate(DPKG, "1.2.99-1", ranges, ()).affected  # no epoch = epoch 0


def test_unparseable_range_is_reported_not_raised() -> None:
    ranges = ecosystem(("introduced", "0"), ("fixed", "not a version!"))
    verdict = evaluate(SEMVER, "1.0.0", ranges, ())
    assert not verdict.affected and verdict.unparseable
    assert evaluate(SEMVER, "garbage", ranges, ()).unparseable
