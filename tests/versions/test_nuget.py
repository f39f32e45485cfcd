"""NuGet versions against NuGet.Client's NuGet.Versioning tests.

Vectors: test/NuGet.Core.Tests/NuGet.Versioning.Test/ (NuGet/NuGet.Client):
VersionComparerTests.cs (VersionComparisonDefaultEqual, VersionComparisonDefaultLess) and
NuGetVersionTest.cs (parse, legacy four-part, equality, ordering and invalid strings).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.nuget import SCHEME
from tests.versions.laws import check_order_laws, check_rejects_cleanly

EQUAL = [
    # VersionComparisonDefaultEqual
    ("1.0.0", "1.0.0"),
    ("1.0.0-BETA", "1.0.0-beta"),
    ("1.0.0-BETA+AA", "1.0.0-beta+aa"),
    ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.77.0+aa"),
    # SemVerEqualsOperatorWorks
    ("1.0", "1.0.0.0"),
    ("1.23.01", "1.23.1"),
    ("1.45.6", "1.45.6.0"),
    ("1.45.6-Alpha", "1.45.6-Alpha"),
    ("1.6.2-BeTa", "1.6.02-beta"),
    ("22.3.07     ", "22.3.07"),
    # ParseReadsLegacyStyleVersionNumbers, ...SemverAndHybrid..., ParseIgnores...Whitespace
    ("1.022", "1.22.0.0"),
    ("23.2.3", "23.2.3.0"),
    ("1.3.42.10133", "1.3.42.10133"),
    ("1.022-Beta", "1.22.0.0-Beta"),
    ("1.3.42.200930-RC-2", "1.3.42.200930-RC-2"),
    ("  1.022-Beta", "1.22.0.0-Beta"),
    ("    1.3.42.10133-PreRelease  ", "1.3.42.10133-PreRelease"),
    # ToStringReturnsNormalizedForSemVer2
    ("1.0+A", "1.0.0"),
    ("1.0-1.1+B.B", "1.0.0-1.1"),
    ("1.0.0009.01-1.1+A", "1.0.9.1-1.1"),
]

LESS = [
    # VersionComparisonDefaultLess
    ("0.0.0", "1.0.0"),
    ("1.0.0", "1.1.0"),
    ("1.0.0", "1.0.1"),
    ("1.999.9999", "2.1.1"),
    ("1.0.0-BETA", "1.0.0-beta2"),
    ("1.0.0-beta+AA", "1.0.0+aa"),
    ("1.0.0-BETA", "1.0.0-beta.1+AA"),
    ("1.0.0-BETA.X.y.5.77.0+AA", "1.0.0-beta.x.y.5.79.0+aa"),
    ("1.0.0-BETA.X.y.5.79.0+AA", "1.0.0-beta.x.y.5.790.0+abc"),
    # SemVerLessThanAndGreaterThanOperatorsWorks
    ("1.0", "1.0.1"),
    ("1.23", "1.231"),
    ("1.4.5.6", "1.45.6"),
    ("1.4.5.6", "1.4.5.60"),
    ("1.01", "1.10"),
    ("1.01-alpha", "1.10-beta"),
    ("1.01.0-RC-1", "1.10.0-rc-2"),
    ("1.01-RC-1", "1.01"),
    ("1.01", "1.2-preview"),
]

VALID = ["1.0.0", "0.0.1", "1.2.3", "1.2.3-alpha", "1.2.3-X.y.3+Meta-2"]
VALID += ["1.2.3-X.yZ.3.234.243.3242342+METADATA", "1.2.3-X.y3+0", "1.2.3-X+0", "1.2.3+0"]
VALID += ["1.2.3-0", "3.4.0.3-RC-3", "1.3.2-CTP-2-Refresh-Alpha", "01.42.0-alpha+metadata"]

# ParseThrowsIfStringIsNullOrEmpty, ParseThrowsIfStringIsNotAValidSemVer.
INVALID = ["", "1beta", "$version$", "1.2Av^c", "1.2..", "1.2.3.4.5", "1.2.3.Beta"]
INVALID += ["1.2.3.4This version is full of awesomeness!!", "So.is.this", "1.34.2Alpha"]
INVALID += ["1.34.2Release Candidate", "1.4.7-", "1.4.7-*", "1.4.7+*", "1.4.7-AA.01^"]
INVALID += ["1.4.7-AA.0A^", "1.4.7-A^A", "1.4.7+AA.01^"]


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == 0
    assert SCHEME.key(a) == SCHEME.key(b)


@pytest.mark.parametrize(("older", "newer"), LESS)
def test_less(older: str, newer: str) -> None:
    assert SCHEME.compare(older, newer) == -1
    assert SCHEME.compare(newer, older) == 1


@pytest.mark.parametrize("text", VALID)
def test_valid(text: str) -> None:
    SCHEME.key(text)


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="nuget"):
        SCHEME.key(text)


_PART = st.integers(0, 12).map(str)
VERSIONS = st.builds(
    lambda numbers, pre, meta: ".".join(numbers) + pre + meta,
    st.lists(_PART, min_size=1, max_size=4),
    st.sampled_from(["", "-alpha", "-Alpha.1", "-beta.2", "-RC-1", "-rc-1", "-1"]),
    st.sampled_from(["", "+meta", "+A.b"]),
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
