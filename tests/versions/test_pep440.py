"""PEP 440 versions (PyPI) against packaging's own tests.

Vectors: tests/test_version.py of packaging (pypa/packaging): VERSIONS (in ascending order),
the invalid versions of test_invalid_versions, and test_normalized_versions' pairs.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.pep440 import SCHEME
from tests.versions.laws import check_ascending, check_order_laws, check_rejects_cleanly

_BASE = [
    "1.0.dev0",
    "1.0.dev456",
    "1.0.dev456+local",
    "1.0a0",
    "1.0a0.post0.dev0",
    "1.0a0.post0",
    "1.0a1.dev1",
    "1.0a1.dev1+local",
    "1.0a1",
    "1.0a1+local",
    "1.0b0",
    "1.0b1.dev456",
    "1.0b2",
    "1.0b2.post345.dev456",
    "1.0b2.post345",
    "1.0b2-346",
    "1.0rc0",
    "1.0rc1.dev1",
    "1.0c1",
    "1.0rc2",
    "1.0",
    "1.0.post0.dev0",
    "1.0.post0",
    "1.0.post456.dev34",
    "1.0.post456",
    "1.0.post456+local",
    "1.0.1.dev1",
    "1.0.1a1",
    "1.0.1",
    "1.0.1+local",
    "1.0.1.post1",
    "1.1.dev1",
    "1.2+a",
    "1.2+abc",
    "1.2+abcdef",
    "1.2+def",
    "1.2+0",
    "1.2+1",
    "1.2+1.abc",
    "1.2+1.1",
    "1.2+1.1.0",
    "1.2+2",
    "1.2+123",
    "1.2+123456",
    "1.2.r32+123456",
    "1.2.rev33+123456",
]
# The list is VERSIONS: the implicit-epoch block, then the same with an explicit epoch of 1.
VERSIONS = _BASE + ["1!" + version for version in _BASE]

INVALID = ["french toast", "1.0+a+", "1.0++", "1.0+_foobar", "1.0+foo&asd", "1.0+1+1"]
INVALID += ["1. 0", "1 .0", "1. 0a1", "1 .0a1", "1.0 a1", "1.0a 1", "٠١٢.٣٤٥.٦٧٨٩"]
INVALID += [".", "..", "1..0", "1.0.", ".1.0", "1..2.3", "1.0+\u0130"]

NORMALIZED = [
    ("1.0dev", "1.0.dev0"),
    ("1.0-DEV1", "1.0.dev1"),
    ("1.0.ALPHA1", "1.0a1"),
    ("1.0-b", "1.0b0"),
    ("1.0C", "1.0rc0"),
    ("1.0-RC1", "1.0rc1"),
    ("1.0-5", "1.0.post5"),
    ("1.0-rev5", "1.0.post5"),
    ("1.0+AbC", "1.0+abc"),
    ("1.01", "1.1"),
    ("1.0c056", "1.0rc56"),
    ("00!1.2", "1.2"),
    ("0100!0.0", "100!0.0"),
    ("v1.0", "1.0"),
    ("   v1.0\t\n", "1.0"),
]


def test_versions_in_order() -> None:
    # 1.0rc1.dev1 < 1.0c1 and 1.0c1 == 1.0rc1: VERSIONS has no two equal entries.
    check_ascending(SCHEME, VERSIONS)


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="pep440"):
        SCHEME.key(text)


@pytest.mark.parametrize(("text", "normalized"), NORMALIZED)
def test_normalized_forms_are_equal(text: str, normalized: str) -> None:
    assert SCHEME.compare(text, normalized) == 0


def test_trailing_zeros_and_rc_spellings() -> None:
    assert SCHEME.compare("1.0", "1.0.0") == 0
    assert SCHEME.compare("1.0rc1", "1.0c1") == 0


STRATEGY = st.builds(
    lambda epoch, release, pre, post, dev: epoch + ".".join(release) + pre + post + dev,
    st.sampled_from(["", "1!"]),
    st.lists(st.sampled_from(["0", "1", "2", "10"]), min_size=1, max_size=3),
    st.sampled_from(["", "a1", "b0", "rc2"]),
    st.sampled_from(["", ".post1"]),
    st.sampled_from(["", ".dev0", ".dev3"]),
)


@given(STRATEGY, STRATEGY, STRATEGY)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
