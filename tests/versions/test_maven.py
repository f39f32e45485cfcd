"""Maven versions against Maven's ComparableVersionTest.

Vectors: ComparableVersionTest.java of Maven (apache/maven,
compat/maven-artifact/src/test/java/org/apache/maven/artifact/versioning/): the
VERSIONS_QUALIFIER and VERSIONS_NUMBER orders, testVersionsEqual,
testVersionsHaveSameOrderButAreNotEqual, testVersionComparing, testLeadingZeroes, the
digit/letter/non-ASCII tests, MNG-5568, MNG-6572, MNG-6964, MNG-7644 and MNG-7714.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.maven import SCHEME, _items, _trim
from tests.versions.laws import check_ascending, check_order_laws, check_rejects_cleanly, sign

VERSIONS_QUALIFIER = [
    "1-alpha2snapshot",
    "1-alpha2",
    "1-alpha-123",
    "1-beta-2",
    "1-beta123",
    "1-m2",
    "1-m11",
    "1-rc",
    "1-cr2",
    "1-rc123",
    "1-SNAPSHOT",
    "1",
    "1-sp",
    "1-sp2",
    "1-sp123",
    "1-abc",
    "1-def",
    "1-pom-1",
    "1-1-snapshot",
    "1-1",
    "1-2",
    "1-123",
]
VERSIONS_NUMBER = ["2.0", "2.0.a", "2-1", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c"]
VERSIONS_NUMBER += ["2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11"]
VERSIONS_NUMBER += ["11.m2", "11.m11", "11", "11.a", "11b", "11c", "11m"]

EQUAL = [
    ("1", "1"),
    ("1", "1.0"),
    ("1", "1.0.0"),
    ("1.0", "1.0.0"),
    ("1", "1-0"),
    ("1", "1.0-0"),
    ("1.0", "1.0-0"),
    ("1a", "1-a"),
    ("1a", "1.0-a"),
    ("1a", "1.0.0-a"),
    ("1.0a", "1-a"),
    ("1.0.0a", "1-a"),
    ("1x", "1-x"),
    ("1x", "1.0-x"),
    ("1x", "1.0.0-x"),
    ("1.0x", "1-x"),
    ("1.0.0x", "1-x"),
    ("1cr", "1rc"),
    ("1a1", "1-alpha-1"),
    ("1b2", "1-beta-2"),
    ("1m3", "1-milestone-3"),
    ("1X", "1x"),
    ("1A", "1a"),
    ("1B", "1b"),
    ("1M", "1m"),
    ("1Cr", "1Rc"),
    ("1cR", "1rC"),
    ("1m3", "1Milestone3"),
    ("1m3", "1MileStone3"),
    ("1m3", "1MILESTONE3"),
    # testVersionsHaveSameOrderButAreNotEqual: same order is all a key can express.
    ("1ga", "1"),
    ("1release", "1"),
    ("1final", "1"),
    ("1Ga", "1"),
    ("1GA", "1"),
    ("1RELEASE", "1"),
    ("1RELeaSE", "1"),
    ("1Final", "1"),
    ("1FinaL", "1"),
    ("1FINAL", "1"),
    # testLocaleIndependent, testLexicographicASCIISortOrder, testCompareLowerCaseTo...
    ("1-abcdefghijklmnopqrstuvwxyz", "1-ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    ("1.0.0-alpha1", "1.0.0-ALPHA1"),
    ("1.a", "1.A"),
    ("1.é", "1.É"),
]

LESS = [
    ("1", "2"),
    ("1.5", "2"),
    ("1", "2.5"),
    ("1.0", "1.1"),
    ("1.1", "1.2"),
    ("1.0.0", "1.1"),
    ("1.0.1", "1.1"),
    ("1.1", "1.2.0"),
    ("1.0-alpha-1", "1.0"),
    ("1.0-alpha-1", "1.0-alpha-2"),
    ("1.0-alpha-1", "1.0-beta-1"),
    ("1.0-beta-1", "1.0-SNAPSHOT"),
    ("1.0-SNAPSHOT", "1.0"),
    ("1.0-alpha-1-SNAPSHOT", "1.0-alpha-1"),
    ("1.0", "1.0-1"),
    ("1.0-1", "1.0-2"),
    ("1.0.0", "1.0-1"),
    ("2.0-1", "2.0.1"),
    ("2.0.1-klm", "2.0.1-lmn"),
    ("2.0.1", "2.0.1-xyz"),
    ("2.0.1", "2.0.1-123"),
    ("2.0.1-xyz", "2.0.1-123"),
    # testLeadingZeroes
    ("0.7", "2"),
    ("0.2", "1.0.7"),
    # testDigitGreaterThanNonAscii, ...NonBmpCharacters, testCompareDigitToLetter,
    # testNonAsciiDigits, testLexicographicOrder
    ("é", "1"),
    ("\U0001d7e4", "1"),
    ("J", "7"),
    ("c", "7"),
    ("\u0668", "1"),
    ("\u0668", "9"),
    ("aardvark", "zebra"),
    ("zebra", "ζέβρα"),
    # MNG-5568
    ("6.1.0rc3", "6.1.0"),
    ("6.1.0rc3", "6.1H.5-beta"),
    ("6.1.0", "6.1H.5-beta"),
    # MNG-6572
    ("20190126.230843", "1234567890.12345"),
    ("1234567890.12345", "123456789012345.1H.5-beta"),
    ("20190126.230843", "123456789012345.1H.5-beta"),
    ("123456789012345.1H.5-beta", "12345678901234567890.1H.5-beta"),
    ("1234567890.12345", "12345678901234567890.1H.5-beta"),
    ("20190126.230843", "12345678901234567890.1H.5-beta"),
    # MNG-6964
    ("1-0.alpha", "1"),
    ("1-0.beta", "1"),
    ("1-0.alpha", "1-0.beta"),
    # MNG-7714
    ("1.0.final-redhat", "1.0-sp1-redhat"),
    ("1.0.final-redhat", "1.0-sp-1-redhat"),
    ("1.0.final-redhat", "1.0-sp.1-redhat"),
]

# MNG-7644: 1.0.0.X1 < 1.0.0-X2, and 2-X == 2.0.X == 2.0.0.X, for these X.
MNG_7644 = ["abc", "alpha", "a", "beta", "b", "def", "milestone", "m", "RC"]


def test_versions_qualifier() -> None:
    check_ascending(SCHEME, VERSIONS_QUALIFIER)


def test_versions_number() -> None:
    check_ascending(SCHEME, VERSIONS_NUMBER)


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == 0
    assert hash(SCHEME.key(a)) == hash(SCHEME.key(b))


@pytest.mark.parametrize(("older", "newer"), LESS)
def test_less(older: str, newer: str) -> None:
    assert SCHEME.compare(older, newer) == -1
    assert SCHEME.compare(newer, older) == 1


@pytest.mark.parametrize("qualifier", MNG_7644)
def test_mng_7644(qualifier: str) -> None:
    assert SCHEME.compare(f"1.0.0.{qualifier}1", f"1.0.0-{qualifier}2") == -1
    assert SCHEME.compare(f"2-{qualifier}", f"2.0.{qualifier}") == 0
    assert SCHEME.compare(f"2-{qualifier}", f"2.0.0.{qualifier}") == 0
    assert SCHEME.compare(f"2.0.{qualifier}", f"2.0.0.{qualifier}") == 0


def test_leading_zeroes_make_no_difference() -> None:
    assert len({SCHEME.key("0" * zeros + "1") for zeros in range(19)}) == 1
    assert len({SCHEME.key("0" * count) for count in range(1, 20)}) == 1


def test_common_real_world_forms() -> None:
    check_ascending(
        SCHEME,
        ["2.0.0-M1", "2.0.0-RC1", "2.0.0-SNAPSHOT", "2.0.0", "2.0.0.SP1", "2.0.1.Final", "2.0.2"],
    )
    assert SCHEME.compare("5.3.20.RELEASE", "5.3.20") == 0
    assert SCHEME.compare("9.4.51.v20230217", "9.4.51") == 1
    assert SCHEME.compare("31.1-jre", "31.1-android") == 1


@pytest.mark.parametrize("text", ["", " ", "1.0 beta", "1.0\t", "1.0\n", "1\x00"])
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="maven"):
        SCHEME.key(text)


def _reference_compare(a: str, b: str) -> int:
    """The specification's padded comparison, token by token, without the key's encoding."""

    def pad(separator: str) -> tuple[str, int | str]:
        return (separator, 0) if separator == "." else ("-", "")

    def order(item: tuple[str, int | str]) -> tuple[int, int] | tuple[int, int, str]:
        separator, value = item
        if isinstance(value, int):
            return (2 if separator == "." else 1, value)
        ranks = {"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "cr": 3, "snapshot": 4}
        ranks.update({"": 5, "ga": 5, "final": 5, "release": 5, "sp": 6})
        rank = ranks.get(value, 7)
        return (0, rank, value if rank == 7 else "")

    left, right = _trim(_items(a.lower())), _trim(_items(b.lower()))
    for index in range(max(len(left), len(right))):
        x = left[index] if index < len(left) else pad(right[index][0])
        y = right[index] if index < len(right) else pad(left[index][0])
        if order(x) != order(y):
            return -1 if order(x) < order(y) else 1
    return 0


_PIECE = st.sampled_from(["0", "1", "2", "10", "a", "b", "m", "alpha", "beta", "rc", "cr"])
_PIECE |= st.sampled_from(["snapshot", "ga", "final", "release", "sp", "foo", "x"])
VERSIONS = st.builds(
    lambda first, rest: first + "".join(separator + piece for separator, piece in rest),
    st.sampled_from(["0", "1", "2"]),
    st.lists(st.tuples(st.sampled_from([".", "-", ""]), _PIECE), max_size=5),
)


@given(VERSIONS, VERSIONS)
def test_key_matches_the_padded_comparison(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == sign(_reference_compare(a, b))


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
