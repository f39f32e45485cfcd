"""Policy, rule, acceptance and verdict types: frozen data the report stage reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeAlias

from mamori.model import Finding, Package, SeverityRating


class RuleKind(StrEnum):
    SEVERITY_WITH_FIX = "severity_with_fix"  # fail on severity ≥ X with a fix available
    SEVERITY = "severity"  # fail on any finding with severity ≥ X
    MAX_COUNT = "max_count"  # fail when a severity has more findings than allowed
    DENY_PACKAGES = "deny_packages"  # fail when a denied package (version) is installed
    IMAGE_CONFIG = "image_config"  # fail on risky image configuration
    FIX_AGE = "fix_age"  # fail when a fix has been available for more than N days


class ConfigCheck(StrEnum):
    ROOT_USER = "root_user"  # no USER, or USER root / 0
    SECRET_ENV = "secret_env"  # env variable names that look like secrets (values never read)
    SSH_PORT = "ssh_port"  # port 22 exposed
    NO_HEALTHCHECK = "no_healthcheck"  # informational: never fails a rule


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


@dataclass(frozen=True)
class PackageSelector:
    name: str
    version: str = ""  # empty: any version


@dataclass(frozen=True)
class Acceptance:
    """A risk acceptance. Every selector given must match a finding for it to apply; it
    applies up to and including `expires`."""

    vulnerability: str  # a finding's id or any of its aliases; empty: any
    package: PackageSelector | None
    image: str  # fnmatch pattern on the image's reference, tags and digests; empty: any
    reason: str
    author: str
    expires: date
    created: date | None
    source: str  # where it was read: "file:line" or e.g. "server: acceptance 3"


@dataclass(frozen=True)
class ConfigIssue:
    check: ConfigCheck
    detail: str
    informational: bool = False


@dataclass(frozen=True)
class RuleVerdict:
    policy: str
    rule_id: str
    kind: RuleKind
    description: str
    passed: bool
    informational: bool  # a failure here does not fail the policy
    findings: tuple[Finding, ...] = ()  # the findings that failed the rule
    packages: tuple[Package, ...] = ()  # the denied packages found
    config_issues: tuple[ConfigIssue, ...] = ()


@dataclass(frozen=True)
class AcceptedFinding:
    finding: Finding
    acceptance: Acceptance


@dataclass(frozen=True)
class ExpiredAcceptance:
    """An acceptance that would have covered these findings had it not expired."""

    acceptance: Acceptance
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class PolicyEvaluation:
    passed: bool
    policies: tuple[str, ...]
    verdicts: tuple[RuleVerdict, ...]
    accepted: tuple[AcceptedFinding, ...]
    expired: tuple[ExpiredAcceptance, ...]
    warnings: tuple[str, ...] = ()
