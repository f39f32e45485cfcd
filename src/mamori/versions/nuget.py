"""NuGet versions: SemVer 2.0 plus the legacy forms NuGet still accepts.

One to four numeric parts (`1.0`, `1.0.0.0`, leading zeros allowed: `1.022` is 1.22.0.0),
missing parts are zero; then an optional `-` pre-release label and `+` metadata as in
SemVer 2.0. Pre-release identifiers compare case-insensitively (`1.0.0-BETA` equals
`1.0.0-beta`), numeric ones numerically; metadata is ignored.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid
from mamori.versions.semver import Prerelease, prerelease_key

NAME = "nuget"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
_VERSION = re.compile(rf"([0-9]+(?:\.[0-9]+){{0,3}})(?:-({_IDENTIFIERS}))?(?:\+{_IDENTIFIERS})?")
_Key: TypeAlias = tuple[int, int, int, int, Prerelease]


def _parse(text: str) -> _Key:
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise invalid(NAME, text, "expected 1 to 4 numbers, then [-prerelease][+metadata]")
    numbers, prerelease = match.groups()
    parts = [int(part) for part in numbers.split(".")] + [0, 0, 0]
    identifiers = prerelease.split(".") if prerelease else []
    return parts[0], parts[1], parts[2], parts[3], prerelease_key(identifiers, fold_case=True)


SCHEME = KeyedScheme(NAME, _parse)
