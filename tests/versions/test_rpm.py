"""RPM versions against rpm's own test vectors and the installed rpm.

Vectors: tests/rpmvercmp.at from the rpm source tree (rpm-software-management/rpm), the
RPMVERCMP(a, b, expected) lines including the tilde and caret cases; the "oddities" block
that file leaves commented out (dnl) is not asserted there and not here.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.versions.interface import InvalidVersion
from mamori.versions.rpm import SCHEME
from tests.versions.laws import check_order_laws, check_rejects_cleanly

RPMVERCMP_AT = """\
1.0, 1.0, 0
1.0, 2.0, -1
2.0, 1.0, 1
2.0.1, 2.0.1, 0
2.0, 2.0.1, -1
2.0.1, 2.0, 1
2.0.1a, 2.0.1a, 0
2.0.1a, 2.0.1, 1
2.0.1, 2.0.1a, -1
5.5p1, 5.5p1, 0
5.5p1, 5.5p2, -1
5.5p2, 5.5p1, 1
5.5p10, 5.5p10, 0
5.5p1, 5.5p10, -1
5.5p10, 5.5p1, 1
10xyz, 10.1xyz, -1
10.1xyz, 10xyz, 1
xyz10, xyz10, 0
xyz10, xyz10.1, -1
xyz10.1, xyz10, 1
xyz.4, xyz.4, 0
xyz.4, 8, -1
8, xyz.4, 1
xyz.4, 2, -1
2, xyz.4, 1
5.5p2, 5.6p1, -1
5.6p1, 5.5p2, 1
5.6p1, 6.5p1, -1
6.5p1, 5.6p1, 1
6.0.rc1, 6.0, 1
6.0, 6.0.rc1, -1
10b2, 10a1, 1
10a2, 10b2, -1
1.0aa, 1.0aa, 0
1.0a, 1.0aa, -1
1.0aa, 1.0a, 1
10.0001, 10.0001, 0
10.0001, 10.1, 0
10.1, 10.0001, 0
10.0001, 10.0039, -1
10.0039, 10.0001, 1
4.999.9, 5.0, -1
5.0, 4.999.9, 1
20101121, 20101121, 0
20101121, 20101122, -1
20101122, 20101121, 1
2_0, 2_0, 0
2.0, 2_0, 0
2_0, 2.0, 0
a, a, 0
a+, a+, 0
a+, a_, 0
a_, a+, 0
+a, +a, 0
+a, _a, 0
_a, +a, 0
+_, +_, 0
_+, +_, 0
_+, _+, 0
+, _, 0
_, +, 0
1.0~rc1, 1.0~rc1, 0
1.0~rc1, 1.0, -1
1.0, 1.0~rc1, 1
1.0~rc1, 1.0~rc2, -1
1.0~rc2, 1.0~rc1, 1
1.0~rc1~git123, 1.0~rc1~git123, 0
1.0~rc1~git123, 1.0~rc1, -1
1.0~rc1, 1.0~rc1~git123, 1
1.0^, 1.0^, 0
1.0^, 1.0, 1
1.0, 1.0^, -1
1.0^git1, 1.0^git1, 0
1.0^git1, 1.0, 1
1.0, 1.0^git1, -1
1.0^git1, 1.0^git2, -1
1.0^git2, 1.0^git1, 1
1.0^git1, 1.01, -1
1.01, 1.0^git1, 1
1.0^20160101, 1.0^20160101, 0
1.0^20160101, 1.0.1, -1
1.0.1, 1.0^20160101, 1
1.0^20160101^git1, 1.0^20160101^git1, 0
1.0^20160102, 1.0^20160101^git1, 1
1.0^20160101^git1, 1.0^20160102, -1
1.0~rc1^git1, 1.0~rc1^git1, 0
1.0~rc1^git1, 1.0~rc1, 1
1.0~rc1, 1.0~rc1^git1, -1
1.0^git1~pre, 1.0^git1~pre, 0
1.0^git1, 1.0^git1~pre, 1
1.0^git1~pre, 1.0^git1, -1
"""


def _cases() -> list[tuple[str, str, int]]:
    return [(a, b, int(c)) for a, b, c in (line.split(", ") for line in RPMVERCMP_AT.splitlines())]


@pytest.mark.parametrize(("a", "b", "expected"), _cases())
def test_rpmvercmp_at(a: str, b: str, expected: int) -> None:
    assert SCHEME.compare(a, b) == expected


def test_epoch_version_release() -> None:
    assert SCHEME.compare("1:1.0-1", "2.0-1") == 1  # the epoch decides first
    assert SCHEME.compare("0:1.0-1", "1.0-1") == 0  # a missing epoch is 0
    assert SCHEME.compare("1.0-1.el9", "1.0-1.el9_2") == -1
    assert SCHEME.compare("1.0-2.el9", "1.0-10.el9") == -1
    assert SCHEME.compare("2.4.57-5.el9_3.1", "2.4.57-5.el9") == 1
    # A missing release sorts first, so the order stays total (rpm's dependency matching
    # would call 1.0 equal to every 1.0-<release>).
    assert SCHEME.compare("1.0", "1.0-1") == -1


@pytest.mark.parametrize(
    "text", ["", "1.0 1", "a:1.0", "1:", ":1.0", "1.0-", "1.0-1-2", "1.0/2", "1.0-1:2", "1.é"]
)
def test_refused(text: str) -> None:
    with pytest.raises(InvalidVersion, match="rpm"):
        SCHEME.key(text)


_PART = st.from_regex(r"[0-9a-z][0-9a-zA-Z._+~^]{0,7}", fullmatch=True)
VERSIONS = st.builds(
    lambda epoch, version, release: f"{epoch}{version}-{release}",
    st.sampled_from(["", "0:", "1:", "2:"]),
    _PART,
    _PART,
)


@given(VERSIONS, VERSIONS, VERSIONS)
def test_order_laws(a: str, b: str, c: str) -> None:
    check_order_laws(SCHEME, a, b, c)


@given(st.text(max_size=30))
def test_garbage_raises_invalid_version_only(text: str) -> None:
    check_rejects_cleanly(SCHEME, text)


def _rpm_vercmp(pairs: list[tuple[str, str]]) -> list[int]:
    """rpm.vercmp (full epoch:version-release) for many pairs in one rpm run."""
    calls = "".join(f'r[#r+1] = rpm.vercmp("{a}", "{b}")\n' for a, b in pairs)
    script = f'%{{lua:local r = {{}}\n{calls}print(table.concat(r, ","))}}'
    output = subprocess.run(["rpm", "--eval", script], capture_output=True, text=True, check=True)
    return [int(result) for result in output.stdout.strip().split(",")]


NEEDS_RPM = pytest.mark.skipif(shutil.which("rpm") is None, reason="needs the rpm binary")


@NEEDS_RPM
def test_oracle_reproduces_the_vectors() -> None:
    cases = _cases()
    assert _rpm_vercmp([(a, b) for a, b, _ in cases]) == [c for _, _, c in cases]


@NEEDS_RPM
@settings(max_examples=10, deadline=None)
@given(st.lists(st.tuples(VERSIONS, VERSIONS), min_size=100, max_size=100))
def test_agrees_with_installed_rpm(pairs: list[tuple[str, str]]) -> None:
    assert [SCHEME.compare(a, b) for a, b in pairs] == _rpm_vercmp(pairs)
