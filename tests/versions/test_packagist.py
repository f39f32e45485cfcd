"""Packagist (Composer) versions against composer/semver's own tests.

Vectors: tests/VersionParserTest.php (composer/semver): successfulNormalizedVersions and
failingNormalizedVersions; tests/ComparatorTest.php: the greaterThan, lessThan, equalTo and
compare providers (the dev-branch against dev-branch rows: see test_branches).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.packagist import SCHEME, normalize
from tests.versions.laws import check_ascending, check_order_laws, check_rejects_cleanly, sign

NORMALIZED = {
    "1.0.0": "1.0.0.0",
    "1.2.3.4": "1.2.3.4",
    "1.0.0RC1dev": "1.0.0.0-RC1-dev",
    "1.0.0-rC15-dev": "1.0.0.0-RC15-dev",
    "1.0.0.RC.15-dev": "1.0.0.0-RC15-dev",
    "1.0.0-rc1": "1.0.0.0-RC1",
    "1.0.0.pl3-dev": "1.0.0.0-patch3-dev",
    "1.0-dev": "1.0.0.0-dev",
    "0": "0.0.0.0",
    "10.4.13-beta": "10.4.13.0-beta",
    "10.4.13beta2": "10.4.13.0-beta2",
    "10.4.13beta.2": "10.4.13.0-beta2",
    "v1.13.11-beta.0": "1.13.11.0-beta0",
    "1.13.11.0-beta0": "1.13.11.0-beta0",
    "10.4.13-b": "10.4.13.0-beta",
    "10.4.13-b5": "10.4.13.0-beta5",
    "v1.0.0": "1.0.0.0",
    "2010.01": "2010.01.0.0",
    "2010.01.02": "2010.01.02.0",
    "2010.1.555": "2010.1.555.0",
    "2010.10.200": "2010.10.200.0",
    "20230131.0.0": "20230131.0.0",
    "202301310000.0.0": "202301310000.0.0",
    "v20100102": "20100102",
    "20100102": "20100102",
    "20100102.0": "20100102.0",
    "20100102.1.0": "20100102.1.0",
    "20100102.0.3": "20100102.0.3",
    "2010-01-02-10-20-30.0.3": "2010.01.02.10.20.30.0.3",
    "2010-01-02-10-20-30.5": "2010.01.02.10.20.30.5",
    "2010-01-02": "2010.01.02",
    "2012.06.07": "2012.06.07.0",
    "2010-01-02.5": "2010.01.02.5",
    "20100102-203040": "20100102.203040",
    "20100102.x-dev": "20100102.9999999.9999999.9999999-dev",
    "20100102.203040.x-dev": "20100102.203040.9999999.9999999-dev",
    "20100102203040-10": "20100102203040.10",
    "20100102-203040-p1": "20100102.203040-patch1",
    "201903.0": "201903.0",
    "201903.x-dev": "201903.9999999.9999999.9999999-dev",
    "201903.0-p2": "201903.0-patch2",
    "dev-master": "dev-master",
    "master": "dev-master",
    "dev-trunk": "dev-trunk",
    "1.x-dev": "1.9999999.9999999.9999999-dev",
    "dev-feature-foo": "dev-feature-foo",
    "DEV-FOOBAR": "dev-FOOBAR",
    "dev-feature/foo": "dev-feature/foo",
    "dev-feature+issue-1": "dev-feature+issue-1",
    "dev-master as 1.0.0": "dev-master",
    "dev-load-varnish-only-when-used as ^2.0": "dev-load-varnish-only-when-used",
    "dev-load-varnish-only-when-used@dev as ^2.0@dev": "dev-load-varnish-only-when-used",
    "1.0.0+foo@dev": "1.0.0.0",
    "dev-load-varnish-only-when-used@stable": "dev-load-varnish-only-when-used",
    "1.0.0-beta.5+foo": "1.0.0.0-beta5",
    "1.0.0+foo": "1.0.0.0",
    "1.0.0-alpha.3.1+foo": "1.0.0.0-alpha3.1",
    "1.0.0-alpha2.1+foo": "1.0.0.0-alpha2.1",
    "1.0.0-alpha-2.1-3+foo": "1.0.0.0-alpha2.1-3",
    "1.0.0+foo as 2.0": "1.0.0.0",
    "00.01.03.04": "00.01.03.04",
    "000.001.003.004": "000.001.003.004",
    "0.000.103.204": "0.000.103.204",
    "0700": "0700.0.0.0",
    "041.x-dev": "041.9999999.9999999.9999999-dev",
    "dev-041.003": "dev-041.003",
    "dev-1.0.0-dev<1.0.5-dev": "dev-1.0.0-dev<1.0.5-dev",
    "dev-foo bar": "dev-foo bar",
    " 1.0.0": "1.0.0.0",
    "1.0.0 ": "1.0.0.0",
}

FAILING = ["", "a", "1.0.0-meh", "1.0.0.0.0", "feature-foo", "1.0.0+foo bar", "1.0.1-SNAPSHOT"]
FAILING += ["1.0.0<1.0.5-dev", "1.0.0-dev<1.0.5-dev", "foo bar-dev", "1.0 .2", " as "]
FAILING += [" as 1.2", "^", "^8 || ^", "~", "~1 ~", "~1", "^1", "1.*", "20100102.0.3.4"]

# ComparatorTest providers, as (a, b, expected sign of compare(a, b)).
COMPARATOR = [
    ("1.25.0", "1.24.0", 1),
    ("1.25.0", "1.25.0", 0),
    ("1.25.0", "1.26.0", -1),
    ("1.26.0", "dev-foo", 1),
    ("1.0.0", "1.2-dev", -1),
    ("dev-foo", "1.26.0", -1),
    ("1.25.0-beta2.1", "1.25.0-b.3", -1),
    ("1.25.0-b2.1", "1.25.0beta.3", -1),
    ("1.25.0-b-2.1", "1.25.0-rc", -1),
    ("1.25.0-beta2.1", "1.25.0-b.2.1", 0),
    ("1.25.0beta2.1", "1.25.0-b2.1", 0),
]


@pytest.mark.parametrize(("text", "normalized"), NORMALIZED.items())
def test_normalize(text: str, normalized: str) -> None:
    assert normalize(text) == normalized


@pytest.mark.parametrize("text", FAILING)
def test_normalize_fails(text: str) -> None:
    with pytest.raises(InvalidVersion, match="packagist"):
        SCHEME.key(text)


@pytest.mark.parametrize(("a", "b", "expected"), COMPARATOR)
def test_comparator(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected
    assert SCHEME.compare(b, a) == -expected


def test_branches() -> None:
    # Composer answers false to <, > and == between two different branches ("dev-foo",
    # "dev-master", "dev-bar" in ComparatorTest); a key must order them, so they are unequal
    # and ordered by name, all below every numbered version.
    assert SCHEME.compare("dev-foo", "dev-master") != 0
    assert SCHEME.compare("dev-foo", "dev-bar") != 0
    assert SCHEME.compare("dev-foo", "dev-foo") == 0
    assert SCHEME.compare("dev-master", "0.0.0-dev") == -1


def test_stabilities() -> None:
    check_ascending(
        SCHEME,
        ["1.0.0-dev", "1.0.0-alpha1", "1.0.0-beta", "1.0.0-beta2", "1.0.0-RC1", "1.0.0"],
    )
    check_ascending(SCHEME, ["1.0.0", "1.0.0-patch1", "1.0.0-p2", "1.0.1-dev", "1.0.1"])
    assert SCHEME.compare("1.0.0-stable", "v1.0") == 0


def _version_compare(a: str, b: str) -> int:
    """PHP's version_compare on two normalised numbered versions, spelled out."""
    forms = {"dev": 0, "alpha": 1, "beta": 2, "RC": 3, "#": 4, "patch": 5}

    def weigh(part: str) -> int:
        return 4 if part.isdigit() else forms[part]

    left, right = (re.findall(r"[0-9]+|[A-Za-z]+", normalize(v)) for v in (a, b))
    for x, y in zip(left, right, strict=False):
        if x.isdigit() and y.isdigit():
            if int(x) != int(y):
                return -1 if int(x) < int(y) else 1
        elif weigh(x) != weigh(y):
            return -1 if weigh(x) < weigh(y) else 1
    if len(left) == len(right):
        return 0
    longer, sign_of_longer = (left, 1) if len(left) > len(right) else (right, -1)
    extra = longer[min(len(left), len(right))]
    newer = extra.isdigit() or weigh(extra) > forms["#"]
    return sign_of_longer if newer else -sign_of_longer


VERSIONS = st.builds(
    lambda prefix, numbers, stability, dev: prefix + ".".join(numbers) + stability + dev,
    st.sampled_from(["", "v"]),
    st.lists(st.sampled_from(["0", "1", "2", "10", "01"]), min_size=1, max_size=4),
    st.sampled_from(
        ["", "-alpha", "-a2", "-beta.1", "-b", "RC1", "-rc.2", "-p1", "-pl", "-patch3"]
    ),
    st.sampled_from(["", "", "-dev"]),
)


@given(VERSIONS, VERSIONS)
def test_key_matches_version_compare(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == sign(_version_compare(a, b))


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
