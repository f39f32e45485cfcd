"""RPM versions (Red Hat, Rocky Linux, AlmaLinux, SUSE): `[epoch:]version[-release]`.

Epochs compare numerically, then version and release with rpmvercmp: characters other
than letters, digits, `~` and `^` only separate segments; a numeric segment is newer
than an alphabetic one; `~` sorts before everything including the end of the string
(pre-releases) and `^` after the end but before any further segment (post-release
snapshots). The key of a version or release is its token list closed by an END token
ranked between `~` and `^`, which is exactly where rpmvercmp puts "nothing left".

One deliberate difference: rpm's dependency matching compares releases only when both
sides have one; here a missing release sorts before every release (so `1.0 < 1.0-1`),
which keeps the order total. OSV's RPM events and installed packages carry releases.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "rpm"
_EVR = re.compile(r"(?:([0-9]+):)?([A-Za-z0-9._+~^]+)(?:-([A-Za-z0-9._+~^]+))?")
_SEGMENT = re.compile(r"[0-9]+|[A-Za-z]+|~|\^")

_TILDE, _END, _CARET, _ALPHA, _NUMBER = range(5)
_Segment: TypeAlias = tuple[int] | tuple[int, str] | tuple[int, int]
_Part: TypeAlias = tuple[_Segment, ...]


def _segment(token: str) -> _Segment:
    if token == "~":
        return (_TILDE,)
    if token == "^":
        return (_CARET,)
    if token[0].isdigit():
        return (_NUMBER, int(token))
    return (_ALPHA, token)


def _part_key(part: str) -> _Part:
    return (*(_segment(token) for token in _SEGMENT.findall(part)), (_END,))


def _parse(text: str) -> tuple[int, _Part, _Part]:
    match = _EVR.fullmatch(text)
    if match is None:
        raise invalid(NAME, text, "expected [epoch:]version[-release] of [A-Za-z0-9._+~^]")
    epoch, version, release = match.groups()
    return int(epoch or "0"), _part_key(version), _part_key(release or "")


SCHEME = KeyedScheme(NAME, _parse)
