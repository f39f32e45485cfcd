"""SemVer 2.0 (npm, crates.io) against the spec's examples and the npm and crates.io tests.

Vectors:
- semver.org, semver.md (semver/semver): the precedence chain of item 11 and the valid
  pre-release and build examples of items 9 and 10;
- node-semver test/fixtures (npm/node-semver): comparisons.js (first newer than second),
  equality.js, valid-versions.js, invalid-versions.js;
- the semver crate's tests/test_version.rs (dtolnay/semver): parse errors and ordering.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.semver import SCHEME
from tests.versions.laws import check_ascending, check_order_laws, check_rejects_cleanly

SPEC_PRECEDENCE = [
    ["1.0.0", "2.0.0", "2.1.0", "2.1.1"],
    ["1.0.0-alpha", "1.0.0"],
    [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ],
]
SPEC_VALID = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0-x-y-z.--"]
SPEC_VALID += ["1.0.0-alpha+001", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85"]
SPEC_VALID += ["1.0.0+21AF26D3----117B344092BD"]

# comparisons.js: the first is newer than the second.
NPM_COMPARISONS = [
    ("0.0.0", "0.0.0-foo"),
    ("0.0.1", "0.0.0"),
    ("1.0.0", "0.9.9"),
    ("0.10.0", "0.9.0"),
    ("0.99.0", "0.10.0"),
    ("2.0.0", "1.2.3"),
    ("v0.0.0", "0.0.0-foo"),
    ("v0.0.1", "0.0.0"),
    ("v1.0.0", "0.9.9"),
    ("v0.10.0", "0.9.0"),
    ("v0.99.0", "0.10.0"),
    ("v2.0.0", "1.2.3"),
    ("0.0.0", "v0.0.0-foo"),
    ("0.0.1", "v0.0.0"),
    ("1.0.0", "v0.9.9"),
    ("0.10.0", "v0.9.0"),
    ("0.99.0", "v0.10.0"),
    ("2.0.0", "v1.2.3"),
    ("1.2.3", "1.2.3-asdf"),
    ("1.2.3", "1.2.3-4"),
    ("1.2.3", "1.2.3-4-foo"),
    ("1.2.3-5-foo", "1.2.3-5"),
    ("1.2.3-5", "1.2.3-4"),
    ("1.2.3-5-foo", "1.2.3-5-Foo"),
    ("3.0.0", "2.7.2+asdf"),
    ("1.2.3-a.10", "1.2.3-a.5"),
    ("1.2.3-a.b", "1.2.3-a.5"),
    ("1.2.3-a.b", "1.2.3-a"),
    ("1.2.3-a.b.c.10.d.5", "1.2.3-a.b.c.5.d.100"),
    ("1.2.3-r2", "1.2.3-r100"),
    ("1.2.3-r100", "1.2.3-R2"),
]

# equality.js (the loose-mode rows included: npm's prefix tolerance is what this scheme keeps).
NPM_EQUAL = [
    (plain, prefix + plain)
    for plain in ("1.2.3", "1.2.3-0", "1.2.3-1", "1.2.3-beta")
    for prefix in ("v", "=", "v ", "= ", " v", " =", " v ", " = ")
]
NPM_EQUAL += [
    ("1.2.3-beta+build", " = 1.2.3-beta+otherbuild"),
    ("1.2.3+build", " = 1.2.3+otherbuild"),
    ("1.2.3-beta+build", "1.2.3-beta+otherbuild"),
    ("1.2.3+build", "1.2.3+otherbuild"),
    ("  v1.2.3+build", "1.2.3+otherbuild"),
]

# valid-versions.js: version and its prerelease identifiers.
NPM_VALID = ["1.0.0", "2.1.0", "3.2.1", "v1.2.3", "1.2.3-0", "1.2.3-123", "1.2.3-1.2.3"]
NPM_VALID += ["1.2.3-1a", "1.2.3-a1", "1.2.3-alpha", "1.2.3-alpha.1", "1.2.3-alpha-1"]
NPM_VALID += ["1.2.3-alpha-.-beta", "1.2.3+456", "1.2.3+build", "1.2.3+new-build"]
NPM_VALID += ["1.2.3+build.1", "1.2.3+build.1a", "1.2.3+build.a1", "1.2.3+build.alpha"]
NPM_VALID += ["1.2.3+build.alpha.beta", "1.2.3-alpha+build"]

# invalid-versions.js (strings only; MAX_LENGTH is 256), the crate's test_parse errors, and
# the spec's items 2 and 9 (no leading zeros, no empty identifiers).
INVALID = ["1" * 255 + ".0.0", "hello, world", "xyz"]
INVALID += ["", "  ", "1", "1.2", "1.2.3-", "a.b.c", "1.2.3 abc", "1.2.3-01", "5.1.5++", "07"]
INVALID += ["75774777777757777757", "8\0"]
INVALID += ["01.2.3", "1.02.3", "1.2.03", "1.2.3-a..b", "1.2.3+", "1.2.3+a..b"]

# test_version.rs: test_lt (the build-metadata row left out: the crate orders build
# metadata, SemVer precedence and OSV ignore it) and test_spec_order.
CRATE_LESS = [
    ("0.0.0", "1.2.3-alpha2"),
    ("1.0.0", "1.2.3-alpha2"),
    ("1.2.0", "1.2.3-alpha2"),
    ("1.2.3-alpha1", "1.2.3"),
    ("1.2.3-alpha1", "1.2.3-alpha2"),
]


@pytest.mark.parametrize("versions", SPEC_PRECEDENCE)
def test_spec_precedence(versions: list[str]) -> None:
    check_ascending(SCHEME, versions)


@pytest.mark.parametrize("text", SPEC_VALID + NPM_VALID)
def test_valid(text: str) -> None:
    SCHEME.key(text)


@pytest.mark.parametrize(("newer", "older"), NPM_COMPARISONS)
def test_npm_comparisons(newer: str, older: str) -> None:
    assert SCHEME.compare(newer, older) == 1
    assert SCHEME.compare(older, newer) == -1


@pytest.mark.parametrize(("a", "b"), NPM_EQUAL)
def test_npm_equality(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == 0
    assert SCHEME.key(a) == SCHEME.key(b)


@pytest.mark.parametrize(("older", "newer"), CRATE_LESS)
def test_crate_ordering(older: str, newer: str) -> None:
    assert SCHEME.compare(older, newer) == -1


@pytest.mark.parametrize("text", INVALID)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidVersion, match="semver"):
        SCHEME.key(text)


_IDENTIFIER = st.one_of(
    st.integers(0, 20).map(str),
    st.from_regex(r"[0-9A-Za-z-]*[A-Za-z-][0-9A-Za-z-]*", fullmatch=True),
)
_CORE = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
VERSIONS = st.builds(
    lambda core, pre, build: (
        "{}.{}.{}".format(*core)
        + ("-" + ".".join(pre) if pre else "")
        + ("+" + ".".join(build) if build else "")
    ),
    _CORE,
    st.lists(_IDENTIFIER, max_size=3),
    st.lists(st.sampled_from(["b1", "001", "sha.5114f85"]), max_size=1),
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(_CORE, st.lists(_IDENTIFIER, min_size=1, max_size=3), st.sampled_from(["b", "x.y"]))
def test_prerelease_below_release_and_build_ignored(
    core: tuple[int, int, int], pre: list[str], build: str
) -> None:
    release = "{}.{}.{}".format(*core)
    prerelease = f"{release}-{'.'.join(pre)}"
    assert SCHEME.compare(prerelease, release) == -1
    assert SCHEME.compare(f"{prerelease}+{build}", prerelease) == 0
    assert SCHEME.compare(f"{release}+{build}", release) == 0


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)
