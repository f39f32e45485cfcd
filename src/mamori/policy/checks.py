"""What each rule kind finds wrong: failing findings, denied packages, config issues."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from mamori.model import Finding, FindingStatus, ImageConfig, Package, ScanResult
from mamori.policy.model import (
    Comparator,
    ConfigCheck,
    ConfigIssue,
    DeniedPackage,
    DenyPackagesRule,
    FixAgeRule,
    ImageConfigRule,
    MaxCountRule,
    Rule,
    SeverityRule,
    SeverityWithFixRule,
)
from mamori.versions import InvalidVersion, scheme_for

_ROOT_USERS = ("", "root", "0")
_SSH_PORT = "22"
_COMPARISONS: dict[Comparator, Callable[[int], bool]] = {
    Comparator.LT: lambda order: order < 0,
    Comparator.LE: lambda order: order <= 0,
    Comparator.GT: lambda order: order > 0,
    Comparator.GE: lambda order: order >= 0,
    Comparator.EQ: lambda order: order == 0,
    Comparator.NE: lambda order: order != 0,
}


@dataclass
class Outcome:
    """What one rule found; `warnings` say what it could not judge."""

    findings: list[Finding] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    config_issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(
            self.findings
            or self.packages
            or any(not issue.informational for issue in self.config_issues)
        )


def check(rule: Rule, findings: Sequence[Finding], result: ScanResult, today: date) -> Outcome:
    """Apply one rule to the findings no acceptance covers and to the image."""
    match rule:
        case SeverityWithFixRule():
            return Outcome(
                [f for f in findings if f.severity.rating.rank >= rule.severity.rank and _fixed(f)]
            )
        case SeverityRule():
            return Outcome([f for f in findings if f.severity.rating.rank >= rule.severity.rank])
        case MaxCountRule():
            return Outcome(_over_limits(rule, findings))
        case DenyPackagesRule():
            return _denied_packages(rule, result.inventory.packages)
        case ImageConfigRule():
            return Outcome(config_issues=_config_issues(rule, result.inventory.image.config))
        case FixAgeRule():
            return _old_fixes(rule, findings, today)


def _fixed(finding: Finding) -> bool:
    return finding.status is FindingStatus.FIXED and bool(finding.fixed_version)


def _over_limits(rule: MaxCountRule, findings: Sequence[Finding]) -> list[Finding]:
    over = []
    for rating, limit in rule.limits:
        rated = [f for f in findings if f.severity.rating is rating]
        if len(rated) > limit:
            over.extend(rated)
    return over


def _denied_packages(rule: DenyPackagesRule, packages: Sequence[Package]) -> Outcome:
    outcome = Outcome()
    for package in packages:
        for denied in rule.packages:
            if _is_denied(denied, package, outcome.warnings):
                outcome.packages.append(package)
                break
    return outcome


def _is_denied(denied: DeniedPackage, package: Package, warnings: list[str]) -> bool:
    if denied.name != package.name or (denied.type and denied.type != package.type.value):
        return False
    if denied.versions and package.version not in denied.versions:
        return False
    if denied.comparator is None:
        return True
    operator, version = denied.comparator
    try:
        order = scheme_for(package.ecosystem).compare(package.version, version)
    except (KeyError, InvalidVersion) as exc:
        reason = exc.args[0] if exc.args else exc
        warnings.append(
            f"cannot compare {package.name} {package.version} with {operator} {version}: {reason}"
        )
        return False
    return _COMPARISONS[operator](order)


def _config_issues(rule: ImageConfigRule, config: ImageConfig) -> list[ConfigIssue]:
    issues = []
    for config_check in rule.checks:
        match config_check:
            case ConfigCheck.ROOT_USER:
                if config.user.split(":", 1)[0] in _ROOT_USERS:
                    detail = f"USER {config.user}" if config.user else "no USER"
                    issues.append(ConfigIssue(config_check, f"runs as root ({detail})"))
            case ConfigCheck.SECRET_ENV:
                patterns = [re.compile(pattern, re.IGNORECASE) for pattern in rule.secret_patterns]
                issues.extend(
                    ConfigIssue(config_check, f"env variable {name} looks like a secret")
                    for name in config.env_names
                    if any(pattern.search(name) for pattern in patterns)
                )
            case ConfigCheck.SSH_PORT:
                issues.extend(
                    ConfigIssue(config_check, f"exposes the SSH port ({port})")
                    for port in config.exposed_ports
                    if port.split("/", 1)[0] == _SSH_PORT
                )
            case ConfigCheck.NO_HEALTHCHECK:
                if not config.healthcheck or config.healthcheck[0].upper() == "NONE":
                    issues.append(ConfigIssue(config_check, "no HEALTHCHECK", informational=True))
    return issues


def _old_fixes(rule: FixAgeRule, findings: Sequence[Finding], today: date) -> Outcome:
    """OSV records no date for a fix, so the advisory's last modification stands in for it
    (its publication when it has no modification date). A fix is normally added by modifying
    the advisory, so the fix is at least that old: the rule may fail late, never early."""
    outcome = Outcome()
    for finding in findings:
        if finding.severity.rating.rank < rule.severity.rank or not _fixed(finding):
            continue
        known = _day(finding.modified) or _day(finding.published)
        if known is None:
            outcome.warnings.append(f"{finding.id} in {finding.package.name}: no advisory date")
        elif (today - known).days > rule.days:
            outcome.findings.append(finding)
    return outcome


def _day(text: str) -> date | None:
    try:
        return datetime.fromisoformat(text).date() if text else None
    except ValueError:
        return None
