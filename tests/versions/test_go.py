"""Go versions against Go's own tests.

Vectors:
- golang.org/x/mod semver/semver_test.go (golang/mod): the `tests` table (valid versions in
  ascending order, equal where their canonical forms are equal; invalid ones map to "")
  and TestCompare's extra cases;
- cmd/go/internal/modfetch/pseudo_test.go (golang/go): pseudo-versions and the versions
  they follow;
- internal/gover/gover_test.go (golang/go): toolchain version comparisons;
- golang.org/x/mod module/module_test.go: `+incompatible` versions.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.go import SCHEME
from mamori.versions.interface import InvalidVersion
from tests.versions.laws import check_order_laws, check_rejects_cleanly

# semver_test.go `tests`: (input, canonical form or "" when invalid), ascending.
SEMVER_TESTS = [
    ("bad", ""),
    ("v1-alpha.beta.gamma", ""),
    ("v1-pre", ""),
    ("v1+meta", ""),
    ("v1-pre+meta", ""),
    ("v1.2-pre", ""),
    ("v1.2+meta", ""),
    ("v1.2-pre+meta", ""),
    ("v1.0.0-alpha", "v1.0.0-alpha"),
    ("v1.0.0-alpha.1", "v1.0.0-alpha.1"),
    ("v1.0.0-alpha.beta", "v1.0.0-alpha.beta"),
    ("v1.0.0-beta", "v1.0.0-beta"),
    ("v1.0.0-beta.2", "v1.0.0-beta.2"),
    ("v1.0.0-beta.11", "v1.0.0-beta.11"),
    ("v1.0.0-rc.1", "v1.0.0-rc.1"),
    ("v1", "v1.0.0"),
    ("v1.0", "v1.0.0"),
    ("v1.0.0", "v1.0.0"),
    ("v1.2", "v1.2.0"),
    ("v1.2.0", "v1.2.0"),
    ("v1.2.3-456", "v1.2.3-456"),
    ("v1.2.3-456.789", "v1.2.3-456.789"),
    ("v1.2.3-456-789", "v1.2.3-456-789"),
    ("v1.2.3-456a", "v1.2.3-456a"),
    ("v1.2.3-pre", "v1.2.3-pre"),
    ("v1.2.3-pre+meta", "v1.2.3-pre"),
    ("v1.2.3-pre.1", "v1.2.3-pre.1"),
    ("v1.2.3-zzz", "v1.2.3-zzz"),
    ("v1.2.3", "v1.2.3"),
    ("v1.2.3+meta", "v1.2.3"),
    ("v1.2.3+meta-pre", "v1.2.3"),
    ("v1.2.3+meta-pre.sha.256a", "v1.2.3"),
]
VALID = [(text, canonical) for text, canonical in SEMVER_TESTS if canonical]
INVALID = [text for text, canonical in SEMVER_TESTS if not canonical]

# pseudo_test.go: (the version a pseudo-version follows, the pseudo-version).
PSEUDO = [
    ("", "v0.0.0-20060102150405-hash"),
    ("v0.0.0", "v0.0.1-0.20060102150405-hash"),
    ("v1.2.3", "v1.2.4-0.20060102150405-hash"),
    ("v1.2.99999999999999999", "v1.2.100000000000000000-0.20060102150405-hash"),
    ("v1.2.3-pre", "v1.2.3-pre.0.20060102150405-hash"),
    ("v1.3.0-pre", "v1.3.0-pre.0.20060102150405-hash"),
]

# gover_test.go compareTests; the rows with invalid versions ("", "x") are left out.
GOVER_COMPARE = [
    ("1", "1.1", -1),
    ("1.5", "1.6", -1),
    ("1.5", "1.10", -1),
    ("1.6", "1.6.1", -1),
    ("1.19", "1.19.0", 0),
    ("1.19rc1", "1.19", -1),
    ("1.20", "1.20.0", 0),
    ("1.20rc1", "1.20", -1),
    ("1.21", "1.21.0", -1),
    ("1.21", "1.21rc1", -1),
    ("1.21rc1", "1.21.0", -1),
    ("1.6", "1.19", -1),
    ("1.19", "1.19.1", -1),
    ("1.19rc1", "1.19", -1),
    ("1.19rc1", "1.19.1", -1),
    ("1.19rc1", "1.19rc2", -1),
    ("1.19.0", "1.19.1", -1),
    ("1.19rc1", "1.19.0", -1),
    ("1.19alpha3", "1.19beta2", -1),
    ("1.19beta2", "1.19rc1", -1),
    ("1.1", "1.99999999999999998", -1),
    ("1.99999999999999998", "1.99999999999999999", -1),
]


def _pairs() -> list[tuple[str, str, int]]:
    cases = []
    for i, (a, canonical_a) in enumerate(VALID):
        for j, (b, canonical_b) in enumerate(VALID):
            expected = 0 if canonical_a == canonical_b else -1 if i < j else 1
            cases.append((a, b, expected))
    return cases


@pytest.mark.parametrize(("a", "b", "expected"), _pairs())
def test_semver_test_table(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("v1", "v1", 0), ("v2", "v1", 1), ("v1", "v2", -1), ("v1.19", "v1.2", 1)],
)
def test_semver_compare_extra(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected


@pytest.mark.parametrize("text", [*INVALID, "", "v", "v1.2.3.4", "v01.2.3", "v1.2.3-01"])
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="go"):
        SCHEME.key(text)


@pytest.mark.parametrize(("older", "pseudo"), PSEUDO)
def test_pseudo_versions_follow_their_base(older: str, pseudo: str) -> None:
    if older:
        assert SCHEME.compare(older, pseudo) == -1
    assert SCHEME.compare(pseudo, pseudo.replace("20060102150405", "20060102150406")) == -1


def test_pseudo_version_never_above_the_next_release() -> None:
    pseudo = "v1.2.4-0.20060102150405-abcdefabcdef"
    assert SCHEME.compare("v1.2.3", pseudo) == -1
    assert SCHEME.compare(pseudo, "v1.2.4") == -1
    assert SCHEME.compare(pseudo, "v1.3.0") == -1
    assert SCHEME.compare("v0.0.0-20060102150405-abcdefabcdef", "v0.0.1") == -1


@pytest.mark.parametrize(("a", "b", "expected"), GOVER_COMPARE)
def test_gover_compare(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected
    assert SCHEME.compare("go" + a, "go" + b) == expected


@pytest.mark.parametrize("text", ["go1.600+auto", "go", "gox", "go1.2.3rc1", "1rc1", "go01.2"])
def test_invalid_toolchain(text: str) -> None:
    with pytest.raises(InvalidVersion, match="go"):
        SCHEME.key(text)


def test_toolchain_and_module_spellings_meet() -> None:
    # OSV writes Go events without "v"; the stdlib's versions come as go1.x from binaries.
    assert SCHEME.compare("go1.22.1", "1.22.1") == 0
    assert SCHEME.compare("go1.22.1", "v1.22.1") == 0
    assert SCHEME.compare("go1.21rc2", "1.21.0-rc.2") == 0
    assert SCHEME.compare("1.21.0-0", "go1.21rc1") == -1
    assert SCHEME.compare("v17.0.0+incompatible", "17.0.0") == 0
    assert SCHEME.compare("1.2", "v1.2.0") == 0  # without "v": the Go 1.2 release


_BASE = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
_TIMESTAMP = st.integers(20060102150405, 20991231235959).map(str)
_HASH = st.from_regex(r"[0-9a-f]{12}", fullmatch=True)


@given(_BASE, _TIMESTAMP, _HASH, _BASE)
def test_pseudo_version_of_a_commit_after_a_tag(
    base: tuple[int, int, int], stamp: str, commit: str, other: tuple[int, int, int]
) -> None:
    major, minor, patch = base
    pseudo = f"v{major}.{minor}.{patch + 1}-0.{stamp}-{commit}"
    assert SCHEME.compare(f"v{major}.{minor}.{patch}", pseudo) == -1
    assert SCHEME.compare(pseudo, f"v{major}.{minor}.{patch + 1}") == -1
    release = "v{}.{}.{}".format(*other)
    if other > (major, minor, patch):
        assert SCHEME.compare(pseudo, release) == -1
    else:
        assert SCHEME.compare(pseudo, release) == 1


VERSIONS = st.one_of(
    st.sampled_from([text for text, _ in VALID] + [pseudo for _, pseudo in PSEUDO]),
    st.builds(lambda core: "v{}.{}.{}".format(*core), _BASE),
    st.builds(lambda core: "go{}.{}.{}".format(*core), _BASE),
    st.sampled_from(["1.21", "1.21rc1", "go1.20", "1.22.0-0", "v2.0.0+incompatible"]),
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
