"""Policies from YAML: the built-in ones by name, others by file path.

A policy file:

    name: strict                # optional, defaults to the file's stem
    description: …              # optional
    rules:
      - kind: severity_with_fix # fail on severity ≥ X with a fix available
        severity: high
      - kind: severity          # fail on any finding with severity ≥ X
        severity: critical
      - kind: max_count         # at most N findings of each listed severity
        limits: {high: 5, medium: 20}
      - kind: deny_packages     # name; `versions: [a, b]` or `version: "< 1.2"`; `type: npm`
        packages: [{name: log4j-core, version: "< 2.17.1"}, {name: telnetd}]
      - kind: image_config      # checks default to all: root_user, secret_env, ssh_port,
        checks: [root_user]     # no_healthcheck (informational); secret_patterns: [regex, …]
      - kind: fix_age           # a fix available for more than N days (optional severity)
        days: 30

Every rule also takes `id` (default: its kind), `description` and `informational`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

from mamori.errors import UsageError
from mamori.model import PackageType
from mamori.policy.fields import Record
from mamori.policy.model import (
    Comparator,
    ConfigCheck,
    DeniedPackage,
    DenyPackagesRule,
    FixAgeRule,
    ImageConfigRule,
    MaxCountRule,
    Policy,
    Rule,
    RuleHead,
    RuleKind,
    SeverityRule,
    SeverityWithFixRule,
)
from mamori.policy.yamlfile import load_yaml, read_yaml

BUILTIN = "built-in"
DEFAULT_POLICY = "default"
SECRET_PATTERNS = (
    r"PASS(WORD|WD)?($|_)",
    r"SECRET",
    r"TOKEN",
    r"API_?KEY",
    r"(PRIVATE|ACCESS|SIGNING|ENCRYPTION)_?KEY",
    r"CREDENTIAL",
)
_HEAD = ("kind", "id", "description", "informational")
_COMPARATOR = re.compile(r"\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*")


def builtin_names() -> tuple[str, ...]:
    folder = resources.files("mamori.policy").joinpath("builtin")
    return tuple(
        sorted(item.name.removesuffix(".yaml") for item in folder.iterdir() if item.is_file())
    )


def load_policies(specs: Sequence[str]) -> tuple[Policy, ...]:
    """The policies named or pointed to by `specs` (all must pass); the default if none."""
    policies = tuple(load_policy(spec) for spec in specs or (DEFAULT_POLICY,))
    names = [policy.name for policy in policies]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(f"policy {name!r} is given more than once")
    return policies


def load_policy(spec: str) -> Policy:
    """A built-in policy by name, or a policy file by path."""
    if spec in builtin_names():
        resource = resources.files("mamori.policy").joinpath("builtin", f"{spec}.yaml")
        return parse_policy(load_yaml(resource.read_text(encoding="utf-8"), spec), BUILTIN, spec)
    path = Path(spec)
    if path.suffix in (".yaml", ".yml") or path.exists() or "/" in spec:
        return parse_policy(read_yaml(spec, "policy"), spec, path.stem)
    known = ", ".join(builtin_names())
    raise UsageError(f"unknown policy {spec!r} (built-in: {known}; or give a policy file's path)")


def parse_policy(data: object, source: str, default_name: str) -> Policy:
    where = default_name if source == BUILTIN else source  # what error messages name
    record = Record.of(data, where, "the policy")
    record.only(("name", "description", "rules"))
    name = record.string("name") or default_name
    rules_data = record.required("rules")
    if not isinstance(rules_data, list) or not rules_data:
        raise record.error("'rules' must be a non-empty list", "rules")
    records = [Record.of(item, where, f"rule {n}") for n, item in enumerate(rules_data, 1)]
    rules = tuple(_rule(rule_record) for rule_record in records)
    ids = [rule.head.id for rule in rules]
    for n, rule in enumerate(rules):
        if rule.head.id in ids[:n]:
            raise records[n].error(
                f"another rule has the id {rule.head.id!r}; give them distinct 'id' fields"
            )
    return Policy(name, rules, source, record.string("description"))


def _rule(record: Record) -> Rule:
    kind_name = record.string("kind", required=True)
    try:
        kind = RuleKind(kind_name)
    except ValueError:
        known = ", ".join(kind.value for kind in RuleKind)
        raise record.error(f"unknown rule kind {kind_name!r} (known: {known})", "kind") from None
    fields, build = _KINDS[kind]
    record.only((*_HEAD, *fields))
    return build(record)


def _head(record: Record, description: str) -> RuleHead:
    return RuleHead(
        id=record.string("id") or record.string("kind"),
        description=record.string("description") or description,
        informational=record.boolean("informational", False),
    )


def _severity_with_fix(record: Record) -> Rule:
    severity = record.severity("severity")
    text = f"fail on {severity} or more severe vulnerabilities with a fix available"
    return SeverityWithFixRule(_head(record, text), severity)


def _severity(record: Record) -> Rule:
    severity = record.severity("severity")
    return SeverityRule(
        _head(record, f"fail on any {severity} or more severe vulnerability"), severity
    )


def _max_count(record: Record) -> Rule:
    limits = record.required("limits")
    if not isinstance(limits, dict) or not limits:
        raise record.error("'limits' must map severities to maximum counts", "limits")
    pairs = tuple(
        (record.severity("limits", key), record.count(value, "limits"))
        for key, value in limits.items()
    )
    text = "fail on more than " + ", ".join(f"{count} {rating}" for rating, count in pairs)
    return MaxCountRule(_head(record, text + " vulnerabilities"), pairs)


def _deny_packages(record: Record) -> Rule:
    items = record.required("packages")
    if not isinstance(items, list) or not items:
        raise record.error("'packages' must be a non-empty list", "packages")
    denied = tuple(
        _denied(Record.of(item, record.source, f"{record.label} package {n}"))
        for n, item in enumerate(items, 1)
    )
    names = ", ".join(package.name for package in denied)
    return DenyPackagesRule(
        _head(record, f"fail when denied packages are installed: {names}"), denied
    )


def _denied(record: Record) -> DeniedPackage:
    record.only(("name", "type", "version", "versions"))
    kind = record.string("type")
    if kind and kind not in {member.value for member in PackageType}:
        known = ", ".join(member.value for member in PackageType)
        raise record.error(f"unknown package type {kind!r} (known: {known})", "type")
    comparator = None
    if "version" in record.data:
        if "versions" in record.data:
            raise record.error("give 'version' or 'versions', not both", "version")
        text = record.string("version", required=True)
        match = _COMPARATOR.fullmatch(text)
        if match is None:
            raise record.error(
                f"'version' must be an operator (<, <=, >, >=, ==, !=) and a version, not {text!r}",
                "version",
            )
        comparator = (Comparator(match[1]), match[2])
    return DeniedPackage(
        record.string("name", required=True), kind, record.strings("versions"), comparator
    )


def _image_config(record: Record) -> Rule:
    names = record.strings("checks") or tuple(check.value for check in ConfigCheck)
    checks = []
    for name in names:
        try:
            checks.append(ConfigCheck(name))
        except ValueError:
            known = ", ".join(check.value for check in ConfigCheck)
            raise record.error(f"unknown check {name!r} (known: {known})", "checks") from None
    patterns = record.strings("secret_patterns") or SECRET_PATTERNS
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise record.error(f"bad pattern {pattern!r}: {exc}", "secret_patterns") from None
    text = "check the image configuration: " + ", ".join(checks)
    return ImageConfigRule(_head(record, text), tuple(checks), tuple(patterns))


def _fix_age(record: Record) -> Rule:
    days = record.integer("days")
    severity = record.severity("severity") if "severity" in record.data else None
    scope = f"{severity} or more severe vulnerabilities" if severity else "vulnerabilities"
    text = f"fail on {scope} with a fix available for more than {days} days"
    head = _head(record, text)
    return FixAgeRule(head, days, severity) if severity else FixAgeRule(head, days)


_KINDS: dict[RuleKind, tuple[tuple[str, ...], Callable[[Record], Rule]]] = {
    RuleKind.SEVERITY_WITH_FIX: (("severity",), _severity_with_fix),
    RuleKind.SEVERITY: (("severity",), _severity),
    RuleKind.MAX_COUNT: (("limits",), _max_count),
    RuleKind.DENY_PACKAGES: (("packages",), _deny_packages),
    RuleKind.IMAGE_CONFIG: (("checks", "secret_patterns"), _image_config),
    RuleKind.FIX_AGE: (("days", "severity"), _fix_age),
}
