from __future__ import annotations

from dataclasses import replace

import pytest

from mamori.model import ScanResult
from mamori.model import SeverityRating as R
from mamori.policy.evaluate import evaluate
from mamori.policy.loader import load_policies, load_policy
from mamori.policy.model import ConfigCheck, Policy, RuleKind, RuleVerdict
from tests.policy.helpers import TODAY, ids, policy, result_with, with_config
from tests.report.findings import scan_result


def only_verdict(result: ScanResult, p: Policy) -> RuleVerdict:
    evaluation = evaluate(result, [p], [], TODAY)
    (verdict,) = evaluation.verdicts
    assert evaluation.passed is (verdict.passed or verdict.informational)
    return verdict


def test_default_policy_fails_on_critical_and_high_with_fix() -> None:
    (default,) = load_policies([])
    assert default.name == "default" and default.source == "built-in"
    evaluation = evaluate(scan_result(), [default], [], TODAY)
    assert not evaluation.passed
    failing = [v for v in evaluation.verdicts if not v.passed and not v.informational]
    assert [v.kind for v in failing] == [RuleKind.SEVERITY_WITH_FIX]
    assert ids(failing[0].findings) == [
        ("CVE-2023-4911", "libc-bin"),
        ("CVE-2023-4911", "libc6"),
        ("CVE-2023-5363", "libssl3"),
    ]


@pytest.mark.parametrize(
    ("rating", "fixed", "passes"),
    [
        (R.CRITICAL, "1.0", False),
        (R.HIGH, "1.0", False),
        (R.HIGH, "", True),
        (R.MEDIUM, "1.0", True),
    ],
)
def test_default_policy_thresholds(rating: R, fixed: str, passes: bool) -> None:
    result = with_config(result_with(("libssl3", "CVE-1", rating, fixed)), user="app")
    assert evaluate(result, [load_policy("default")], [], TODAY).passed is passes


def test_default_policy_reports_config_without_failing() -> None:
    result = result_with()  # root user and a secret-looking env name, no findings
    evaluation = evaluate(result, [load_policy("default")], [], TODAY)
    assert evaluation.passed
    config = next(v for v in evaluation.verdicts if v.kind is RuleKind.IMAGE_CONFIG)
    assert config.informational and not config.passed
    assert {issue.check for issue in config.config_issues} == {
        ConfigCheck.ROOT_USER,
        ConfigCheck.SECRET_ENV,
    }


def test_severity_rule() -> None:
    rule = policy("rules: [{kind: severity, severity: HIGH}]")
    failing = only_verdict(result_with(("libc6", "CVE-1", R.HIGH, "")), rule)
    assert not failing.passed and ids(failing.findings) == [("CVE-1", "libc6")]
    assert only_verdict(result_with(("libc6", "CVE-1", R.MEDIUM, "9")), rule).passed


def test_severity_with_fix_rule() -> None:
    rule = policy("rules: [{kind: severity_with_fix, severity: medium}]")
    assert not only_verdict(result_with(("libc6", "CVE-1", R.MEDIUM, "9")), rule).passed
    assert only_verdict(result_with(("libc6", "CVE-1", R.CRITICAL, "")), rule).passed


def test_max_count_rule() -> None:
    rule = policy("rules: [{kind: max_count, limits: {critical: 0, high: 1}}]")
    one_high = result_with(("libc6", "CVE-1", R.HIGH, ""), ("libssl3", "CVE-2", R.MEDIUM, ""))
    assert only_verdict(one_high, rule).passed
    two_high = result_with(("libc6", "CVE-1", R.HIGH, ""), ("libssl3", "CVE-2", R.HIGH, ""))
    verdict = only_verdict(two_high, rule)
    assert not verdict.passed and ids(verdict.findings) == [
        ("CVE-1", "libc6"),
        ("CVE-2", "libssl3"),
    ]
    assert not only_verdict(result_with(("libc6", "CVE-1", R.CRITICAL, "")), rule).passed


@pytest.mark.parametrize(
    ("entry", "denied"),
    [
        ("{name: libssl3}", ["libssl3"]),
        ("{name: libssl3, versions: ['3.0.13-1~deb12u1']}", ["libssl3"]),
        ("{name: libssl3, versions: ['3.0.14-1']}", []),
        ("{name: libssl3, version: '< 3.0.15-1~deb12u1'}", ["libssl3"]),
        ("{name: libssl3, version: '<= 3.0.13-1~deb12u0'}", []),  # dpkg: u1 > u0
        ("{name: semver, version: '>= 7.6.2'}", ["semver"]),
        ("{name: semver, version: '> 7.6.2'}", []),
        ("{name: semver, version: '< 7.10.0'}", ["semver"]),  # numeric, not text, order
        ("{name: semver, type: pypi}", []),
        ("{name: ms, type: npm}", ["ms", "ms"]),
    ],
)
def test_deny_packages_rule(entry: str, denied: list[str]) -> None:
    rule = policy(f"rules: [{{kind: deny_packages, packages: [{entry}]}}]")
    verdict = only_verdict(result_with(), rule)
    assert [p.name for p in verdict.packages] == denied
    assert verdict.passed is (not denied)


def test_deny_packages_warns_when_versions_cannot_be_compared() -> None:
    rule = policy("rules: [{kind: deny_packages, packages: [{name: node, version: '< 23'}]}]")
    evaluation = evaluate(result_with(), [rule], [], TODAY)
    assert evaluation.passed
    assert evaluation.warnings and "cannot compare node 22.3.0" in evaluation.warnings[0]


def test_image_config_rule_checks() -> None:
    rule = policy("rules: [{kind: image_config}]")
    clean = with_config(result_with(), user="app:app", env_names=("PATH", "NODE_ENV"))
    assert only_verdict(clean, rule).passed
    risky = with_config(
        result_with(),
        user="0:0",
        env_names=("PATH", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "PASSENGER_MODE", "DB_PASS"),
        exposed_ports=("3000/tcp", "22/tcp"),
        healthcheck=(),
    )
    verdict = only_verdict(risky, rule)
    assert not verdict.passed
    details = [(i.check.value, i.detail, i.informational) for i in verdict.config_issues]
    assert details == [
        ("root_user", "runs as root (USER 0:0)", False),
        ("secret_env", "env variable AWS_SECRET_ACCESS_KEY looks like a secret", False),
        ("secret_env", "env variable GITHUB_TOKEN looks like a secret", False),
        ("secret_env", "env variable DB_PASS looks like a secret", False),
        ("ssh_port", "exposes the SSH port (22/tcp)", False),
        ("no_healthcheck", "no HEALTHCHECK", True),
    ]


def test_missing_healthcheck_alone_never_fails() -> None:
    rule = policy("rules: [{kind: image_config, checks: [no_healthcheck, ssh_port]}]")
    for healthcheck in [(), ("NONE",)]:
        verdict = only_verdict(with_config(result_with(), healthcheck=healthcheck), rule)
        assert verdict.passed and [i.check for i in verdict.config_issues] == [
            ConfigCheck.NO_HEALTHCHECK
        ]


def test_image_config_custom_secret_patterns() -> None:
    rule = policy("rules: [{kind: image_config, checks: [secret_env], secret_patterns: [^NODE_]}]")
    verdict = only_verdict(result_with(), rule)
    assert [i.detail for i in verdict.config_issues] == [
        "env variable NODE_ENV looks like a secret"
    ]


def test_fix_age_rule() -> None:
    # the builders' advisories were modified on 2024-02-03, 119 days before TODAY
    base = result_with(("libc6", "CVE-1", R.LOW, "9"), ("libssl3", "CVE-2", R.HIGH, ""))
    assert not only_verdict(base, policy("rules: [{kind: fix_age, days: 118}]")).passed
    assert only_verdict(base, policy("rules: [{kind: fix_age, days: 119}]")).passed
    verdict = only_verdict(base, policy("rules: [{kind: fix_age, days: 30}]"))
    assert ids(verdict.findings) == [("CVE-1", "libc6")]  # CVE-2 has no fix
    assert only_verdict(base, policy("rules: [{kind: fix_age, days: 30, severity: medium}]")).passed


def test_fix_age_falls_back_to_published_and_warns_without_dates() -> None:
    base = result_with(("libc6", "CVE-1", R.LOW, "9"))
    (old,) = base.findings
    published_only = replace(base, findings=(replace(old, modified=""),))  # 2024-01-02
    rule = policy("rules: [{kind: fix_age, days: 140}]")
    assert not only_verdict(published_only, rule).passed
    undated = replace(base, findings=(replace(old, modified="", published=""),))
    evaluation = evaluate(undated, [rule], [], TODAY)
    assert evaluation.passed and evaluation.warnings == ("CVE-1 in libc6: no advisory date",)


def test_informational_rule_never_fails_the_policy() -> None:
    rule = policy("rules: [{kind: severity, severity: low, informational: true}]")
    evaluation = evaluate(result_with(("libc6", "CVE-1", R.HIGH, "")), [rule], [], TODAY)
    assert evaluation.passed and not evaluation.verdicts[0].passed


def test_several_policies_must_all_pass() -> None:
    lenient = policy("rules: [{kind: severity, severity: critical}]", "lenient")
    strict = policy(
        """
        name: strict
        rules:
          - {kind: severity, severity: medium}
          - {kind: severity, severity: critical, id: no-critical}
        """,
    )
    result = with_config(result_with(("libc6", "CVE-1", R.HIGH, "")), user="app")
    evaluation = evaluate(result, [load_policy("default"), lenient, strict], [], TODAY)
    assert not evaluation.passed
    assert evaluation.policies == ("default", "lenient", "strict")
    assert [(v.policy, v.rule_id, v.passed) for v in evaluation.verdicts] == [
        ("default", "severity_with_fix", True),
        ("default", "image_config", False),  # informational: DATABASE_PASSWORD
        ("lenient", "severity", True),
        ("strict", "severity", False),
        ("strict", "no-critical", True),
    ]
    assert evaluate(result, [load_policy("default"), lenient], [], TODAY).passed
