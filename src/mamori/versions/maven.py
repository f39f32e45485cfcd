"""Maven versions, ordered by the POM reference's "Version Order Specification".

A version splits into tokens at `.`, at `-` and where digits meet non-digits (which counts
as `-`); an empty token is 0; `a`, `b`, `m` directly followed by a digit mean alpha, beta,
milestone; `cr` is `rc`; `ga`, `final` and `release` are the release itself. Qualifiers
are case-insensitive and, since Maven 3.9 (MNG-7644), `.qualifier` sorts as `-qualifier`.
Trailing null tokens (0 and release qualifiers) are dropped, and zeros before each `-`.

Tokens compare as: qualifier < `-number` < `.number`; numbers numerically; qualifiers
alpha < beta < milestone < rc < snapshot < release < sp < any other (alphabetically).
The shorter version is padded with `.0` against a `.` token and with the release qualifier
against a `-` token, which the key gets by ending every token list with the release
qualifier; a release qualifier inside a version carries which side of the release its
next meaningful token is on, so padding against it stays right.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "maven"
_TOKEN = re.compile(r"([0-9]+)|([^0-9.-]+)|([.-])")
_ALIASES_BEFORE_DIGIT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RANKS = {"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "cr": 3, "snapshot": 4}
_RANKS.update({"ga": 5, "final": 5, "release": 5, "sp": 6})
_RELEASE_RANK, _OTHER_RANK = 5, 7
_QUALIFIER, _DASH_NUMBER, _DOT_NUMBER = range(3)
_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")

_Item: TypeAlias = tuple[str, int | str]  # (separator, number or lower-case qualifier)
_Token: TypeAlias = tuple[int, int] | tuple[int, int, str, int]
_END: _Token = (_QUALIFIER, _RELEASE_RANK, "", 0)


def _items(version: str) -> list[_Item]:
    """Separator-prefixed tokens, aliases resolved, qualifiers always `-`-prefixed."""
    items: list[_Item] = []
    separator, after_separator = ".", True
    for match in _TOKEN.finditer(version):
        number, word, mark = match.groups()
        if mark:
            if after_separator:
                items.append((separator, 0))
            separator, after_separator = mark, True
            continue
        if not after_separator:
            separator = "-"  # a digit/non-digit transition
        if number:
            items.append((separator, int(number)))
        else:
            if version[match.end() : match.end() + 1].isdigit():
                word = _ALIASES_BEFORE_DIGIT.get(word, word)
            items.append(("-", word))
        after_separator = False
    if after_separator:
        items.append((separator, 0))
    return items


def _is_null(item: _Item) -> bool:
    return item[1] == 0 or _RANKS.get(str(item[1])) == _RELEASE_RANK


def _trim(items: list[_Item]) -> list[_Item]:
    """Drop null tokens at the end, and zeros right before each kept `-` token."""
    kept: list[_Item] = []
    at_end, trimming = True, True
    for item in reversed(items):
        if trimming and (item[1] == 0 or (at_end and _is_null(item))):
            continue
        kept.append(item)
        at_end, trimming = False, item[0] == "-"
    kept.reverse()
    return kept


def _side_of_release(items: list[_Item]) -> int:
    """-1 or 1: whether the first token that differs from padding sorts below the release."""
    for separator, value in items:
        if isinstance(value, int):
            if separator == "-" or value:
                return 1
        elif not _is_null((separator, value)):
            return -1 if _RANKS.get(value, _OTHER_RANK) < _RELEASE_RANK else 1
    return 0


def _token(items: list[_Item], index: int) -> _Token:
    separator, value = items[index]
    if isinstance(value, int):
        return (_DOT_NUMBER if separator == "." else _DASH_NUMBER, value)
    rank = _RANKS.get(value, _OTHER_RANK)
    if rank == _RELEASE_RANK:
        return (_QUALIFIER, rank, "", _side_of_release(items[index + 1 :]))
    return (_QUALIFIER, rank, value if rank == _OTHER_RANK else "", 0)


def _parse(text: str) -> tuple[_Token, ...]:
    if not text or _FORBIDDEN.search(text):
        raise invalid(NAME, text, "empty, or contains spaces or control characters")
    items = _trim(_items(text.lower()))
    return (*(_token(items, index) for index in range(len(items))), _END)


SCHEME = KeyedScheme(NAME, _parse)
