"""Packagist (Composer) versions: Composer's normalisation, then PHP's version_compare.

`normalize` follows composer/semver's VersionParser::normalize: a leading `v`, build
metadata, ` as ` aliases and `@stability` flags are dropped; classical versions become four
numbers (`1.2` -> `1.2.0.0`), date versions keep their parts; a stability suffix is spelled
out (`b2` -> `-beta2`, `rc1` -> `-RC1`, `p1`/`pl1` -> `-patch1`) and `-dev` kept; `1.x-dev`
becomes `1.9999999.9999999.9999999-dev`; other branches are `dev-<name>`.

Normalised versions then compare as PHP's version_compare does: parts split at `.`, `-`
and digit/letter changes; numbers numerically; dev < alpha < beta < RC < (number) < patch;
where one version runs out, a following number makes the other newer and a following
stability word is weighed against a number. So dev < alpha < beta < RC < stable < patch.

Branches (`dev-main`) are not ordered by Composer; they sort here below every numbered
version (as version_compare puts them) and among themselves by name.
"""

from __future__ import annotations

import re
from typing import TypeAlias

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "packagist"
_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSICAL = re.compile(rf"v?(\d{{1,5}}+)(\.\d++)?(\.\d++)?(\.\d++)?{_MODIFIER}", re.I | re.A)
_DATE = re.compile(
    rf"v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}}){{0,2}}){_MODIFIER}", re.I | re.A
)
_ALIAS = re.compile(r"([^,\s]++) ++as ++([^,\s]++)")
_STABILITY_FLAG = re.compile(r"@(?:stable|RC|beta|alpha|dev)$", re.I)
_BUILD = re.compile(r"([^,\s+]++)\+[^\s]++")
_BRANCH_SUFFIX = re.compile(r"(.*?)[.-]?dev", re.I | re.S)
_BRANCH_PART = r"(\.(?:\d++|[xX*]))?"
_NUMERIC_BRANCH = re.compile(rf"v?(\d++){_BRANCH_PART}{_BRANCH_PART}{_BRANCH_PART}", re.A)
_STABILITY_NAMES = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}

# version_compare's special forms; a number weighs 4 against them.
_FORM_WEIGHTS = {"dev": 0, "alpha": 1, "beta": 2, "RC": 3, "patch": 5}
_NUMBER_WEIGHT = 4
_PART = re.compile(r"[0-9]+|[A-Za-z]+")
_Part: TypeAlias = tuple[int, int]
# Where one version runs out: below any number, above stability words but patch.
_RUN_OUT: _Part = (_NUMBER_WEIGHT, -1)
_BRANCH, _NUMBERED = 0, 1


def _expand_stability(word: str) -> str:
    word = word.lower()
    return _STABILITY_NAMES.get(word, word)


def _normalize_branch(name: str) -> str:
    match = _NUMERIC_BRANCH.fullmatch(name.strip())
    if match is None:
        return "dev-" + name
    parts = [match[1], *((group or ".x") for group in match.groups()[1:])]
    version = "".join(part.replace("*", "x").replace("X", "x") for part in parts)
    return version.replace("x", "9999999") + "-dev"


def normalize(text: str) -> str:
    """The version as composer/semver's VersionParser::normalize writes it."""
    version = text.strip()
    alias = _ALIAS.fullmatch(version)
    if alias:
        version = alias[1]
    flag = _STABILITY_FLAG.search(version)
    if flag:
        version = version[: flag.start()]
    if version in ("master", "trunk", "default"):
        version = "dev-" + version
    if version[:4].lower() == "dev-":
        return "dev-" + version[4:]
    build = _BUILD.fullmatch(version)
    if build:
        version = build[1]
    classical = _CLASSICAL.fullmatch(version)
    if classical:
        numbers = classical[1] + "".join(group or ".0" for group in classical.groups()[1:4])
        return _with_modifier(numbers, classical.groups()[4:])
    date = _DATE.fullmatch(version)
    if date:
        return _with_modifier(re.sub(r"\D", ".", date[1]), date.groups()[1:])
    branch = _BRANCH_SUFFIX.fullmatch(version)
    if branch:
        normalized = _normalize_branch(branch[1])
        if "dev-" not in normalized:
            return normalized
    raise invalid(NAME, text, "not a Composer version")


def _with_modifier(numbers: str, modifier: tuple[str | None, ...]) -> str:
    stability, number, dev = modifier
    if stability == "stable":
        return numbers
    if stability:
        numbers += "-" + _expand_stability(stability) + (number or "").lstrip(".-")
    if dev:
        numbers += "-dev"
    return numbers


def _parse(text: str) -> tuple[int, tuple[_Part, ...]] | tuple[int, str]:
    normalized = normalize(text)
    if normalized.startswith("dev-"):
        return _BRANCH, normalized[4:]
    parts = tuple(
        (_NUMBER_WEIGHT, int(part)) if part.isdigit() else (_FORM_WEIGHTS[part], 0)
        for part in _PART.findall(normalized)
    )
    return _NUMBERED, (*parts, _RUN_OUT)


SCHEME = KeyedScheme(NAME, _parse)
