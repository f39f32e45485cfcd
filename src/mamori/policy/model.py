"""Policy and rule types. The acceptance and verdict types they produce are defined in
mamori.model, so that a ScanResult can carry its evaluation, and re-exported here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from mamori.model import (
    Acceptance,
    AcceptedFinding,
    ConfigCheck,
    ConfigIssue,
    ExpiredAcceptance,
    PackageSelector,
    PolicyEvaluation,
    RuleKind,
    RuleVerdict,
    SeverityRating,
)


@dataclass(frozen=True)
class RuleHead:
    """What every rule has: its id (unique in its policy), description and whether its
    failure only informs instead of failing the policy."""

    id: str
    description: str
    informational: bool = False


@dataclass(frozen=True)
class SeverityWithFixRule:
    head: RuleHead
    severity: SeverityRating


@dataclass(frozen=True)
class SeverityRule:
    head: RuleHead
    severity: SeverityRating


@dataclass(frozen=True)
class MaxCountRule:
    head: RuleHead
    limits: tuple[tuple[SeverityRating, int], ...]  # at most this many findings of the rating


class Comparator(StrEnum):
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    EQ = "=="
    NE = "!="


@dataclass(frozen=True)
class DeniedPackage:
    """A package name, denied in every version, in the listed versions, or in the versions
    the comparator selects (compared with the package's ecosystem's version scheme)."""

    name: str
    type: str = ""  # a PackageType value; empty for any
    versions: tuple[str, ...] = ()
    comparator: tuple[Comparator, str] | None = None


@dataclass(frozen=True)
class DenyPackagesRule:
    head: RuleHead
    packages: tuple[DeniedPackage, ...]


@dataclass(frozen=True)
class ImageConfigRule:
    head: RuleHead
    checks: tuple[ConfigCheck, ...]
    secret_patterns: tuple[str, ...]  # regular expressions, searched case-insensitively


@dataclass(frozen=True)
class FixAgeRule:
    head: RuleHead
    days: int
    severity: SeverityRating = SeverityRating.UNKNOWN  # only findings at least this severe


Rule: TypeAlias = (
    SeverityWithFixRule
    | SeverityRule
    | MaxCountRule
    | DenyPackagesRule
    | ImageConfigRule
    | FixAgeRule
)

RULE_KINDS: dict[type[Rule], RuleKind] = {
    SeverityWithFixRule: RuleKind.SEVERITY_WITH_FIX,
    SeverityRule: RuleKind.SEVERITY,
    MaxCountRule: RuleKind.MAX_COUNT,
    DenyPackagesRule: RuleKind.DENY_PACKAGES,
    ImageConfigRule: RuleKind.IMAGE_CONFIG,
    FixAgeRule: RuleKind.FIX_AGE,
}


@dataclass(frozen=True)
class Policy:
    name: str
    rules: tuple[Rule, ...]
    source: str  # "built-in" or the file it was read from
    description: str = ""


# The acceptance and verdict types are re-exported from mamori.model.
__all__ = [
    "RULE_KINDS",
    "Acceptance",
    "AcceptedFinding",
    "Comparator",
    "ConfigCheck",
    "ConfigIssue",
    "DeniedPackage",
    "DenyPackagesRule",
    "ExpiredAcceptance",
    "FixAgeRule",
    "ImageConfigRule",
    "MaxCountRule",
    "PackageSelector",
    "Policy",
    "PolicyEvaluation",
    "Rule",
    "RuleHead",
    "RuleKind",
    "RuleVerdict",
    "SeverityRule",
    "SeverityWithFixRule",
]
