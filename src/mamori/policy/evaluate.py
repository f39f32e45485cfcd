"""A scan result judged by policies, with risk acceptances applied."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from mamori.model import ScanResult
from mamori.policy.acceptances import covers, image_names
from mamori.policy.checks import check
from mamori.policy.model import (
    RULE_KINDS,
    Acceptance,
    AcceptedFinding,
    ExpiredAcceptance,
    Policy,
    PolicyEvaluation,
    RuleVerdict,
)


def evaluate(
    result: ScanResult,
    policies: Sequence[Policy],
    acceptances: Sequence[Acceptance],
    today: date,
) -> PolicyEvaluation:
    """Every rule of every policy; it passes when every rule that is not informational does.

    Accepted findings fail no rule but are listed with the acceptance that covered them (the
    first one in order); an acceptance applies through its expiry day, and expired ones that
    would have covered a finding are listed with those findings.
    """
    images = image_names(result.inventory.image)
    active = [a for a in acceptances if a.expires >= today]
    accepted, remaining = [], []
    for finding in result.findings:
        acceptance = next((a for a in active if covers(a, finding, images)), None)
        if acceptance is None:
            remaining.append(finding)
        else:
            accepted.append(AcceptedFinding(finding, acceptance))
    expired = []
    for acceptance in acceptances:
        if acceptance.expires < today:
            covered = tuple(f for f in result.findings if covers(acceptance, f, images))
            if covered:
                expired.append(ExpiredAcceptance(acceptance, covered))
    verdicts, warnings = [], []
    for policy in policies:
        for rule in policy.rules:
            outcome = check(rule, remaining, result, today)
            warnings.extend(outcome.warnings)
            verdicts.append(
                RuleVerdict(
                    policy=policy.name,
                    rule_id=rule.head.id,
                    kind=RULE_KINDS[type(rule)],
                    description=rule.head.description,
                    passed=not outcome.failed,
                    informational=rule.head.informational,
                    findings=tuple(outcome.findings),
                    packages=tuple(outcome.packages),
                    config_issues=tuple(outcome.config_issues),
                )
            )
    return PolicyEvaluation(
        passed=all(verdict.passed or verdict.informational for verdict in verdicts),
        policies=tuple(policy.name for policy in policies),
        verdicts=tuple(verdicts),
        accepted=tuple(accepted),
        expired=tuple(expired),
        warnings=tuple(dict.fromkeys(warnings)),
    )
