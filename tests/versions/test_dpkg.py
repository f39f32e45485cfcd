"""dpkg versions against dpkg's own test vectors and the installed dpkg.

Vectors: dpkg's scripts/t/Dpkg_Version.t (the __DATA__ comparison table) and
lib/dpkg/t/t-version.c (parser cases), from the dpkg source tree (guillemj/dpkg).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.versions.dpkg import SCHEME
from mamori.versions.interface import InvalidVersion
from tests.versions.laws import check_order_laws, check_rejects_cleanly

# scripts/t/Dpkg_Version.t, __DATA__: "a b expected".
DPKG_VERSION_T = """\
1.0-1 2.0-2 -1
2.2~rc-4 2.2-1 -1
2.2-1 2.2~rc-4 1
1.0000-1 1.0-1 0
1 0:1 0
0 0:0-0 0
2:2.5 1:7.5 1
1:0foo 0foo 1
0:0foo 0foo 0
0foo 0foo 0
0foo 0fo 1
0foo~1 0foo -1
0foo~foo+Bar 0foo~foo+bar -1
0foo~~ 0foo~ -1
1~ 1 -1
12345+that-really-is-some-ver-0 12345+that-really-is-some-ver-10 -1
0foo-0 0foo-01 -1
0foo.bar 0foobar 1
0foo.bar 0foo1bar 1
0foo.bar 0foo0bar 1
0foo1bar-1 0foobar-1 -1
0foo2.0 0foo2 1
0foo2.0.0 0foo2.10.0 -1
0foo2.0 0foo2.0.0 -1
0foo2.0 0foo2.10 -1
0foo2.1 0foo2.10 -1
1.09 1.9 0
1.0.8+nmu1 1.0.8 1
3.11 3.10+nmu1 1
0.9j-20080306-4 0.9i-20070324-2 1
1.2.0~b7-1 1.2.0~b6-1 1
1.011-1 1.06-2 1
0.0.9+dfsg1-1 0.0.8+dfsg1-3 1
4.6.99+svn6582-1 4.6.99+svn6496-1 1
53 52 1
0.9.9~pre122-1 0.9.9~pre111-1 1
2:2.3.2-2+lenny2 2:2.3.2-2 1
1:3.8.1-1 3.8.GA-1 1
1.0.1+gpl-1 1.0.1-2 1
1a 1000a -1
"""

# Also in that table, but refused by dpkg 1.21's parser (and therefore here): a trailing
# hyphen ("revision number is empty") and a leading one ("version number is empty").
REFUSED_BY_DPKG = ["0foo-", "-0.6.5"]

# lib/dpkg/t/t-version.c, test_version_parse: texts that parse, as (text, equal to).
PARSES = [
    ("0", "0:0"),
    ("0:0-0", "0-0"),
    ("0:0.0-0.0", "0.0-0.0"),
    ("1:0", "1:0-0"),
    ("0:0-0-0", "0-0-0"),  # multiple hyphens: the last one starts the revision
    ("0:0:0-0", "0:0:0-00"),  # multiple colons: only the first ends the epoch
    ("0:0:0:0-0", "0:0:0:0-0"),
    ("0:0:0-0-0", "0:0:0-0-0"),
    ("0:0-0:0-0", "0:0-0:0-0"),
    ("0:09azAZ.-+~:-0", "0:09azAZ.-+~:-00"),  # every character allowed upstream
    ("0:0-azAZ09.+~", "0-azAZ09.+~"),  # every character allowed in a revision
    ("  \t0:0-1", "0-1"),  # leading and trailing spaces are ignored
    ("0:0-1\t  ", "0-1"),
    ("\t  0:0-1  \t", "0-1"),
]

# t-version.c: errors, and the warnings this parser also refuses.
REFUSED = [
    "",
    "  ",
    "0:",
    "0:0 0-1",
    "-1:0-1",
    "999999999999999999999999:0-1",
    "a:0-0",
    "A:0-0",
    "-0",
    "0:-0",
    "0:abc3-0",
    "0:0-0:0",
    *(f"0:0{c}-0" for c in "!#@$%&/|\\<>()[]{};,_=*^'"),
    *(f"0:0-{c}" for c in "!#@$%&/|\\<>()[]{}:;,_=*^'"),
    *REFUSED_BY_DPKG,
]


def _table() -> list[tuple[str, str, int]]:
    return [(a, b, int(c)) for a, b, c in (line.split() for line in DPKG_VERSION_T.splitlines())]


@pytest.mark.parametrize(("a", "b", "expected"), _table())
def test_dpkg_version_t_table(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected
    assert SCHEME.compare(b, a) == -expected


def test_t_version_c_compare_cases() -> None:
    assert SCHEME.compare("0:0-00", "0:00-0") == 0
    assert SCHEME.compare("1:2-3", "1:2-3") == 0
    assert SCHEME.compare("0:0-0", "1:0-0") == -1
    assert SCHEME.compare("0:0-a", "0:0-b") == -1


@pytest.mark.parametrize(("text", "same_as"), PARSES)
def test_t_version_c_parses(text: str, same_as: str) -> None:
    assert SCHEME.key(text) == SCHEME.key(same_as)


@pytest.mark.parametrize("text", REFUSED)
def test_refused(text: str) -> None:
    with pytest.raises(InvalidVersion, match="dpkg"):
        SCHEME.key(text)


def test_epoch_and_tilde_rules() -> None:
    assert SCHEME.compare("1:0.1", "9.9") == 1  # the epoch decides first
    assert SCHEME.compare("1.0~rc1-1", "1.0-1") == -1  # ~ before the end of the part
    assert SCHEME.compare("1.0+dfsg-1", "1.0-1") == 1  # + after the end
    assert SCHEME.compare("1.0a-1", "1.0+-1") == -1  # letters before non-letters
    assert SCHEME.compare("2.36-9+deb12u4", "2.36-9+deb12u10") == -1


_UPSTREAM = st.from_regex(r"[0-9][0-9a-zA-Z.+~]{0,8}", fullmatch=True)
_REVISION = st.from_regex(r"[0-9a-zA-Z.+~]{1,6}", fullmatch=True)
VERSIONS = st.builds(
    lambda epoch, upstream, revision: f"{epoch}{upstream}{revision}",
    st.sampled_from(["", "0:", "1:", "2:"]),
    _UPSTREAM,
    st.one_of(st.just(""), _REVISION.map(lambda r: "-" + r)),
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)


def _dpkg_compare(a: str, b: str) -> int:
    def holds(relation: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", "--", a, relation, b]).returncode == 0

    return -1 if holds("lt") else 0 if holds("eq") else 1


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs the dpkg binary")
@settings(max_examples=150, deadline=None)
@given(VERSIONS, VERSIONS)
def test_agrees_with_installed_dpkg(a: str, b: str) -> None:
    assert SCHEME.compare(a, b) == _dpkg_compare(a, b)
