"""Semantic Versioning 2.0.0 precedence (npm, crates.io); shared by the Go and NuGet schemes.

`MAJOR.MINOR.PATCH[-prerelease][+build]`: numbers compare numerically, a version with a
pre-release sorts before the same version without one, pre-release identifiers compare
left to right (numeric ones numerically and below alphanumeric ones, which compare in
ASCII order; a shorter list of equal identifiers sorts first), build metadata is ignored.
As npm does, surrounding spaces and a leading `v` or `=` are tolerated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "semver"
NUMBER = r"0|[1-9][0-9]*"
_IDENTIFIERS = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
CORE = re.compile(
    rf"({NUMBER})\.({NUMBER})\.({NUMBER})(?:-({_IDENTIFIERS}))?(?:\+({_IDENTIFIERS}))?"
)
_NPM_PREFIX = "v= \t\n\r\f\v"

Prerelease: TypeAlias = tuple[tuple[int, int | str], ...]
Key: TypeAlias = tuple[int, int, int, Prerelease]
# A release sorts after all of its pre-releases, whose keys start with (0, 0).
RELEASE: Prerelease = ((1, 0),)


def prerelease_key(identifiers: Sequence[str], *, fold_case: bool = False) -> Prerelease:
    """Sort key of a pre-release identifier list; RELEASE when there is none."""
    if not identifiers:
        return RELEASE
    return ((0, 0), *_identifier_keys(identifiers, fold_case))


def _identifier_keys(
    identifiers: Sequence[str], fold_case: bool
) -> tuple[tuple[int, int | str], ...]:
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower() if fold_case else part)
        for part in identifiers
    )


def core_key(match: re.Match[str], scheme: str, text: str) -> Key:
    """Key of a CORE match; numeric pre-release identifiers must not have leading zeros."""
    major, minor, patch, prerelease, _build = match.groups()
    identifiers = prerelease.split(".") if prerelease else []
    for part in identifiers:
        if part.isdigit() and len(part) > 1 and part[0] == "0":
            raise invalid(scheme, text, f"leading zero in pre-release identifier {part!r}")
    return int(major), int(minor), int(patch), prerelease_key(identifiers)


def _parse(text: str) -> Key:
    match = CORE.fullmatch(text.strip().lstrip(_NPM_PREFIX))
    if match is None:
        raise invalid(NAME, text, "expected MAJOR.MINOR.PATCH[-prerelease][+build]")
    return core_key(match, NAME, text)


SCHEME = KeyedScheme(NAME, _parse)
