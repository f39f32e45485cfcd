"""RubyGems versions, ordered as Gem::Version does.

A version is digits and `.`-separated alphanumeric parts (a `-` stands for `.pre.`); it is
read as numbers and letter runs (`1.2.b1` is 1, 2, "b", 1). Trailing zeros of the release
part and of the pre-release part are dropped, then versions compare part by part with the
shorter padded with 0: numbers numerically, strings byte-wise, a string (a pre-release)
below any number. Any letters make a pre-release: 1.0.a < 1.0.

The key ends with a 0 that plays the padding; a 0 inside a version carries whether the next
non-zero part is a string or a number, which is how padding against it would end.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "rubygems"
_VERSION = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?")
_SEGMENT = re.compile(r"[0-9]+|[a-zA-Z]+")
_RUBY_SPACE = " \t\n\v\f\r"
_STRING, _NUMBER = 0, 1
_Token: TypeAlias = tuple[int, int, int] | tuple[int, str]
_PADDING: _Token = (_NUMBER, 0, 0)

_Segment: TypeAlias = int | str


def _without_trailing_zeros(segments: list[_Segment]) -> list[_Segment]:
    while segments and segments[-1] == 0:
        segments.pop()
    return segments


def _canonical(version: str) -> list[_Segment]:
    segments: list[_Segment] = [
        int(part) if part.isdigit() else part
        for part in _SEGMENT.findall(version.replace("-", ".pre."))
    ]
    first_string = next(
        (i for i, part in enumerate(segments) if isinstance(part, str)), len(segments)
    )
    release = _without_trailing_zeros(segments[:first_string])
    return release + _without_trailing_zeros(segments[first_string:])


def _token(segments: list[_Segment], index: int) -> _Token:
    part = segments[index]
    if isinstance(part, str):
        return (_STRING, part)
    if part:
        return (_NUMBER, part, 0)
    following = next(p for p in segments[index + 1 :] if p != 0)  # zeros are never trailing
    return (_NUMBER, 0, -1 if isinstance(following, str) else 1)


def _parse(text: str) -> tuple[_Token, ...]:
    version = text.strip(_RUBY_SPACE)
    if not _VERSION.fullmatch(version):
        raise invalid(NAME, text, "malformed version number string")
    segments = _canonical(version)
    return (*(_token(segments, index) for index in range(len(segments))), _PADDING)


SCHEME = KeyedScheme(NAME, _parse)
