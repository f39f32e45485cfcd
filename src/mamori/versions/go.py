"""Go module and toolchain versions.

Module versions are semantic versions with a `v` (`v1.2.3`, `v2.0.0+incompatible`, and the
shorthands `v1`, `v1.2` that golang.org/x/mod accepts for v1.0.0 and v1.2.0); OSV's Go
events carry the same versions without the `v`. Build metadata such as `+incompatible` is
ignored, as Go ignores it.

Pseudo-versions need no special case: `vX.Y.Z-yyyymmddhhmmss-abcdefabcdef` (no earlier
tag), `vX.Y.(Z+1)-0.yyyymmddhhmmss-abcdef…` (after vX.Y.Z) and `vX.Y.Z-pre.0.yyyymmdd…`
(after vX.Y.Z-pre) are pre-releases of the next version, so a commit after vX.Y.Z sorts
above vX.Y.Z and below vX.Y.(Z+1), and never above a later release; two pseudo-versions on
the same base compare by their fixed-width timestamps.

Toolchain versions (the standard library's: `go1.22.1`, `go1.21rc2`, `1.21`) follow
go/version: `1.21rc1` is the pre-release v1.21.0-rc.1, `1.20` means 1.20.0, and from 1.21
on the bare `1.21` names the language version, which sorts before 1.21's first release
candidate.
"""

from __future__ import annotations

import re

from mamori.versions.keyed import KeyedScheme, invalid
from mamori.versions.semver import CORE, NUMBER, RELEASE, Key, core_key, prerelease_key

NAME = "go"
_SHORTHAND = re.compile(rf"({NUMBER})(?:\.({NUMBER}))?")
_TOOLCHAIN = re.compile(
    rf"(?P<major>{NUMBER})(?:\.(?P<minor>{NUMBER})"
    rf"(?:\.(?P<patch>{NUMBER})|(?P<kind>[a-z]+)(?P<number>{NUMBER})?)?)?"
)
_FIRST_LANGUAGE_VERSION = (1, 21)
_LANGUAGE: tuple[tuple[int, int | str], ...] = ((0, 0),)  # below every pre-release


def _module(text: str, body: str) -> Key:
    """`body` is what follows the `v`."""
    match = CORE.fullmatch(body)
    if match is not None:
        return core_key(match, NAME, text)
    shorthand = _SHORTHAND.fullmatch(body)
    if shorthand is None:
        raise invalid(NAME, text, "expected vMAJOR[.MINOR[.PATCH[-prerelease][+build]]]")
    major, minor = shorthand.groups()
    return int(major), int(minor or "0"), 0, RELEASE


def _toolchain(text: str, body: str) -> Key:
    match = _TOOLCHAIN.fullmatch(body)
    if match is None:
        raise invalid(NAME, text, "expected a Go release such as go1.22.1 or go1.21rc2")
    major, minor = int(match["major"]), int(match["minor"] or "0")
    if match["kind"]:
        identifiers = [match["kind"]] + ([match["number"]] if match["number"] else [])
        return major, minor, 0, prerelease_key(identifiers)
    if match["minor"] and not match["patch"] and (major, minor) >= _FIRST_LANGUAGE_VERSION:
        return major, minor, 0, _LANGUAGE
    return major, minor, int(match["patch"] or "0"), RELEASE


def _parse(text: str) -> Key:
    if text.startswith("v"):
        return _module(text, text[1:])
    if text.startswith("go"):
        return _toolchain(text, text[2:])
    match = CORE.fullmatch(text)
    if match is not None:
        return core_key(match, NAME, text)
    return _toolchain(text, text)


SCHEME = KeyedScheme(NAME, _parse)
