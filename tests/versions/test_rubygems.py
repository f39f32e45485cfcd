"""RubyGems versions against RubyGems' own Gem::Version tests.

Vectors: test/rubygems/test_gem_version.rb (rubygems/rubygems): test_spaceship,
test_semver, test_eql_eh / test_equals2, test_hash, test_canonical_segments,
test_frozen_version, test_initialize, test_initialize_invalid, test_prerelease.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.rubygems import SCHEME
from tests.versions.laws import check_order_laws, check_rejects_cleanly, sign

SPACESHIP = [
    ("1.0", "1.0.0", 0),
    ("1.0", "1.0.a", 1),
    ("1.8.2", "0.0.0", 1),
    ("1.8.2", "1.8.2.a", 1),
    ("1.8.2.b", "1.8.2.a", 1),
    ("1.8.2.a", "1.8.2", -1),
    ("1.8.2.a10", "1.8.2.a9", 1),
    ("0.beta.1", "0.0.beta.1", 0),
    ("0.0.beta", "0.0.beta.1", -1),
    ("0.0.beta", "0.beta.1", -1),
    ("5.a", "5.0.0.rc2", -1),
    ("5.x", "5.0.0.rc2", 1),
    # test_equals2, test_hash, test_canonical_segments
    ("1.2", "1.2", 0),
    ("1.2", "1.3", -1),
    ("1.2.b1", "1.2.b.1", 0),
    ("1.2", "1.2.0", 0),
    ("1.2.pre.1", "1.2.0.pre.1.0", 0),
    ("1.0.0.a.1.0", "1.a.1", 0),
    ("1.2.3-1", "1.2.3.pre.1", 0),
    # test_frozen_version
    ("1.freeze.test", "1", -1),
    # test_initialize: surrounding white space is ignored
    ("1.0 ", "1.0", 0),
    (" 1.0 ", "1.0", 0),
    ("1.0\n", "1.0", 0),
    ("\n1.0\n", "1.0", 0),
]

SEMVER_ORDER = [
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-alpha.1", "1.0.0-beta.2"),
    ("1.0.0-beta.2", "1.0.0-beta.11"),
    ("1.0.0-beta.11", "1.0.0-rc.1"),
    ("1.0.0-rc1", "1.0.0"),
    ("1.0.0-1", "1"),
]

# test_initialize_invalid (including the CVE-2013-4287 string), test_class_correct, and the
# empty string, which Gem::Version reads as "0" but this scheme refuses.
INVALID = ["junk", "1.0\n2.0", "1..2", "1.2 3.4", "an incorrect version", "", "   "]
INVALID += ["2.3422222.222.222222222.22222.ads0as.dasd0.ddd2222.2.qd3e.", "v1.0", "1.0-", "a.1"]

PRERELEASES = ["1.2.0.a", "2.9.b", "22.1.50.0.d", "1.2.d.42", "1.A", "1-1", "1-a"]
RELEASES = ["1.2.0", "2.9", "22.1.50.0"]


@pytest.mark.parametrize(("a", "b", "expected"), SPACESHIP)
def test_spaceship(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected
    assert SCHEME.compare(b, a) == -expected


@pytest.mark.parametrize(("older", "newer"), SEMVER_ORDER)
def test_semver(older: str, newer: str) -> None:
    assert SCHEME.compare(older, newer) == -1


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="rubygems"):
        SCHEME.key(text)


@pytest.mark.parametrize("text", PRERELEASES)
def test_prerelease_sorts_below_its_release(text: str) -> None:
    release = re.split(r"[-.]?[a-zA-Z-]", text, maxsplit=1)[0]
    assert SCHEME.compare(text, release) == -1


@pytest.mark.parametrize("text", RELEASES)
def test_release_is_not_below_itself_with_zeros(text: str) -> None:
    assert SCHEME.compare(text, text + ".0") == 0


def _reference_compare(a: str, b: str) -> int:
    """Gem::Version#<=> spelled out: canonical segments, padding with 0, strings first."""

    def canonical(text: str) -> list[int | str]:
        parts: list[int | str] = [
            int(part) if part.isdigit() else part
            for part in re.findall(r"[0-9]+|[a-zA-Z]+", text.strip().replace("-", ".pre."))
        ]
        cut = next((i for i, part in enumerate(parts) if isinstance(part, str)), len(parts))
        release, pre = parts[:cut], parts[cut:]
        while release and release[-1] == 0:
            release.pop()
        while pre and pre[-1] == 0:
            pre.pop()
        return release + pre

    left, right = canonical(a), canonical(b)
    for index in range(max(len(left), len(right))):
        x = left[index] if index < len(left) else 0
        y = right[index] if index < len(right) else 0
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, str) and isinstance(y, str):
            return -1 if x < y else 1
        return -1 if isinstance(x, str) else 1
    return 0


VERSIONS = st.builds(
    lambda first, rest, pre: first + "".join("." + part for part in rest) + pre,
    st.sampled_from(["0", "1", "2"]),
    st.lists(st.sampled_from(["0", "1", "10", "a", "b1", "rc", "pre", "A"]), max_size=4),
    st.sampled_from(["", "", "-1", "-rc.1", "-0"]),
)


@given(VERSIONS, VERSIONS)
def test_key_matches_the_spaceship_operator(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == sign(_reference_compare(a, b))


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
