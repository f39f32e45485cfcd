"""apk versions against apk-tools' own test vectors.

Vectors: test/version.data from the apk-tools source tree (alpinelinux/apk-tools, the
revision with the `6.0_pre1 < 6.0` cases that came with the version.c rewrite), copied
unchanged into vectors/apk-tools-version.data: one "a op b" comparison per line.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.apk import SCHEME
from mamori.versions.interface import InvalidVersion
from tests.versions.laws import check_ascending, check_order_laws, check_rejects_cleanly

VERSION_DATA = Path(__file__).parent / "vectors" / "apk-tools-version.data"
_OPERATORS = {"<": -1, "=": 0, ">": 1}
# Two lines of version.data compare versions apk_version_validate() refuses (an unknown
# suffix, two letters); apk falls back to a partial comparison, this scheme refuses them.
INVALID_IN_DATA = {"23_foo", "1.0bc"}


def _cases() -> list[tuple[str, str, int]]:
    cases = []
    for line in VERSION_DATA.read_text().splitlines():
        a, operator, b = line.split("#")[0].split()
        if not INVALID_IN_DATA & {a, b}:
            cases.append((a, b, _OPERATORS[operator]))
    return cases


def test_vector_file_is_complete() -> None:
    assert len(_cases()) == 731


@pytest.mark.parametrize(("a", "b", "expected"), _cases())
def test_version_data(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected
    assert SCHEME.compare(b, a) == -expected


# Refused by apk_version_validate(): no leading digit, empty parts, a digit after a letter,
# anything after the revision, an empty or non-hex hash, a hyphen that is not "-r<digits>".
REFUSED = ["", "a1", "1.", "1..2", "1.0-r", "1.0_", "1.0_x1", "1a2", "1a.2", "1.0-r1.2"]
REFUSED += ["1.0-r1_p1", "1.0~", "1.0~xyz", "1.0-1", "1 0", "1.0A", "v1.0"]


@pytest.mark.parametrize("text", [*sorted(INVALID_IN_DATA), *REFUSED])
def test_refused(text: str) -> None:
    with pytest.raises(InvalidVersion, match="apk"):
        SCHEME.key(text)


def test_suffix_order() -> None:
    check_ascending(
        SCHEME,
        [
            "1.0_alpha_pre",
            "1.0_alpha",
            "1.0_alpha1",
            "1.0_beta",
            "1.0_pre",
            "1.0_rc",
            "1.0",
            "1.0-r1",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git",
            "1.0_hg",
            "1.0_p",
            "1.0_p1",
            "1.0a",
            "1.0.1",
        ],
    )


def test_leading_zero_component_compares_as_text() -> None:
    check_ascending(SCHEME, ["1.0", "1.00", "1.001", "1.01", "1.010", "1.1", "1.2", "1.10"])


def test_commit_hash_orders_after_a_revision() -> None:
    versions = ["1.0", "1.0_p1", "1.0_p1-r1", "1.0_p1~0abc", "1.0_p1~0abc-r1", "1.0_p1~0abd"]
    check_ascending(SCHEME, versions)
    assert SCHEME.compare("1.0~ABC", "1.0~ABC") == 0


_SUFFIX = st.sampled_from(["", "_alpha", "_beta2", "_pre", "_rc1", "_p", "_p3", "_git", "_cvs"])
VERSIONS = st.builds(
    lambda numbers, letter, suffixes, commit, revision: (
        ".".join(numbers) + letter + "".join(suffixes) + commit + revision
    ),
    st.lists(st.sampled_from(["0", "1", "2", "01", "10", "20240101"]), min_size=1, max_size=4),
    st.sampled_from(["", "", "a", "z"]),
    st.lists(_SUFFIX, max_size=2),
    st.sampled_from(["", "", "~0a1", "~ff"]),
    st.sampled_from(["", "-r0", "-r1", "-r12"]),
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
