"""Alpine package versions, as apk-tools 2.14 and 3 order them.

Form: `digits{.digits}[letter]{_suffix[digits]}[~hash][-rN]`.

apk-tools reads a version as typed tokens and compares two versions token by token while
the token types agree: numbers numerically (a dotted component with a leading zero
compares as a string, as Gentoo does: 1.01 < 1.1), letters and commit hashes as text,
suffixes in the order _alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p.
Where the types differ, a version going on with a pre-release suffix is the older;
otherwise the one whose next token comes later in the order digit, letter, suffix, suffix
number, hash, revision, end is the older (so 1.0 < 1.0.1 < 1.0a, and 1.0 < 1.0-r1).

The key is the token list, each token as (rank of its type, value), the ranks encoding
the "types differ" rule, so plain tuple comparison reproduces apk-tools. Versions that
apk_version_validate() refuses raise InvalidVersion.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "apk"

# Token types in apk-tools' order.
_INITIAL, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _HASH, _REVISION, _END = range(8)
_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8}
_SUFFIXES.update({"hg": 9, "p": 10})
_NO_SUFFIX = 5
_TOKEN = re.compile(
    r"(?P<digits>[0-9]+)|\.(?P<dotted>[0-9]+)|(?P<letter>[a-z])|_(?P<suffix>[a-z]*)"
    r"|~(?P<hash>[0-9a-fA-F]+)|-r(?P<revision>[0-9]+)"
)

_Value: TypeAlias = int | str | tuple[int, int | str]
_Token: TypeAlias = tuple[int, _Value]


def _dotted(digits: str) -> tuple[int, int | str]:
    """With a leading zero apk compares the digits as text; all such sort below the rest."""
    return (0, digits) if digits[0] == "0" else (1, int(digits))


def _typed(match: re.Match[str], previous: int, text: str) -> tuple[int, _Value]:
    """The token's type and value, if it may follow a token of type `previous`."""
    kind = match.lastgroup
    value = match[kind or ""]
    if kind == "dotted" and previous <= _DIGIT:
        return _DIGIT, _dotted(value)
    if kind == "letter" and previous <= _DIGIT:
        return _LETTER, ord(value)
    if kind == "digits" and previous == _SUFFIX:
        return _SUFFIX_NO, int(value)
    if kind == "suffix" and previous <= _SUFFIX_NO:
        if value not in _SUFFIXES:
            raise invalid(NAME, text, f"unknown suffix _{value}")
        return _SUFFIX, _SUFFIXES[value]
    if kind == "hash" and previous < _HASH:
        return _HASH, value
    if kind == "revision" and previous < _REVISION:
        return _REVISION, int(value)
    raise invalid(NAME, text, f"{match[0]!r} cannot follow what precedes it")


def _rank(kind: int, value: _Value) -> int:
    """Where two versions' token types part: pre-release suffix < end < revision < ... < digit."""
    if kind == _SUFFIX and isinstance(value, int) and value < _NO_SUFFIX:
        return -1
    return _END - kind


def _parse(text: str) -> tuple[_Token, ...]:
    first = re.match(r"[0-9]+", text)
    if first is None:
        raise invalid(NAME, text, "must start with a digit")
    tokens: list[_Token] = [(_rank(_INITIAL, 0), int(first[0]))]
    kind, position = _INITIAL, first.end()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise invalid(NAME, text, f"unexpected {text[position]!r}")
        kind, value = _typed(match, kind, text)
        tokens.append((_rank(kind, value), value))
        position = match.end()
    tokens.append((_rank(_END, 0), 0))
    return tuple(tokens)


SCHEME = KeyedScheme(NAME, _parse)
