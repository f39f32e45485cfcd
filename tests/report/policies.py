"""A hand-built policy evaluation of findings.py's scan result: a failing rule, a passing one
and an informational one that flagged something."""

from __future__ import annotations

from dataclasses import replace

from mamori.model import (
    ConfigCheck,
    ConfigIssue,
    PolicyEvaluation,
    RuleKind,
    RuleVerdict,
    ScanResult,
    SeverityRating,
)


def evaluated(result: ScanResult, policies: tuple[str, ...] = ("default",)) -> ScanResult:
    failing = tuple(
        f for f in result.findings if f.severity.rating.rank >= SeverityRating.HIGH.rank
    )
    verdicts = tuple(
        verdict
        for policy in policies
        for verdict in (
            RuleVerdict(
                policy,
                "no-fixable-high",
                RuleKind.SEVERITY_WITH_FIX,
                "high or critical findings with a fix",
                passed=not failing,
                informational=False,
                findings=failing,
            ),
            RuleVerdict(policy, "no-ssh", RuleKind.IMAGE_CONFIG, "no SSH port", True, False),
            RuleVerdict(
                policy,
                "healthcheck",
                RuleKind.IMAGE_CONFIG,
                "a HEALTHCHECK is declared",
                passed=False,
                informational=True,
                config_issues=(ConfigIssue(ConfigCheck.NO_HEALTHCHECK, "no HEALTHCHECK", True),),
            ),
        )
    )
    evaluation = PolicyEvaluation(not failing, policies, verdicts, (), ())
    return replace(result, policy=evaluation)
