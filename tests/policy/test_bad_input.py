"""Bad policies and acceptances: one precise UsageError (exit 2) naming file and line."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from mamori.errors import UsageError
from mamori.policy.acceptances import acceptances_from_records, load_acceptances
from mamori.policy.loader import load_policies, load_policy


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def usage_error(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(UsageError) as caught:
        call(*args)
    assert caught.value.exit_code == 2 and "\n" not in caught.value.message
    return caught.value.message


def test_unknown_policy_name() -> None:
    assert usage_error(load_policy, "strictest") == (
        "unknown policy 'strictest' (built-in: default; or give a policy file's path)"
    )


def test_missing_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert usage_error(load_policy, str(path)) == f"policy file not found: {path}"


def test_policy_file_is_loaded_by_path(tmp_path: Path) -> None:
    path = write(tmp_path, "gate.yml", "rules: [{kind: severity, severity: high}]\n")
    (loaded,) = load_policies([str(path)])
    assert (loaded.name, loaded.source, len(loaded.rules)) == ("gate", str(path), 1)
    assert usage_error(load_policies, ["default", "default"]) == (
        "policy 'default' is given more than once"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - kind: severity\n    severity: [high\n",
            "{path}:4: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            "rules:\n  - kind: severity\n\tseverity: high\n",
            "{path}:3: invalid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "name: x\nrules:\n  - kind: severity\n    severity: high\n  - kind: sevrity\n",
            "{path}:5: rule 2: unknown rule kind 'sevrity' (known: severity_with_fix, severity, "
            "max_count, deny_packages, image_config, fix_age)",
        ),
        (
            "rules:\n  - kind: severity_with_fix\n    severity: urgent\n",
            "{path}:3: rule 1: unknown severity 'urgent' (known: critical, high, medium, low, "
            "negligible, unknown)",
        ),
        (
            "rules:\n  - kind: max_count\n    limits: {high: 2, hihg: 3}\n",
            "{path}:3: rule 1: unknown severity 'hihg' (known: critical, high, medium, low, "
            "negligible, unknown)",
        ),
        (
            "rules:\n  - kind: max_count\n    limits: {high: -1}\n",
            "{path}:3: rule 1: 'limits' must be a whole number ≥ 0, not -1",
        ),
        ("rules:\n  - kind: severity\n", "{path}:2: rule 1: 'severity' is required"),
        ("rules:\n  - severity: high\n", "{path}:2: rule 1: 'kind' is required"),
        (
            "rules:\n  - kind: fix_age\n    days: soon\n",
            "{path}:3: rule 1: 'days' must be a whole number ≥ 0, not 'soon'",
        ),
        (
            "rules:\n  - kind: severity\n    severity: high\n    treshold: 3\n",
            "{path}:4: rule 1: unknown field 'treshold' (known: description, id, informational, "
            "kind, severity)",
        ),
        (
            "rules:\n  - kind: deny_packages\n    packages:\n"
            "      - name: openssl\n        version: '~1.1'\n",
            "{path}:5: rule 1 package 1: 'version' must be an operator (<, <=, >, >=, ==, !=) and "
            "a version, not '~1.1'",
        ),
        (
            "rules:\n  - kind: image_config\n    checks: [root_user, sudo]\n",
            "{path}:3: rule 1: unknown check 'sudo' (known: root_user, secret_env, ssh_port, "
            "no_healthcheck)",
        ),
        (
            "rules:\n  - {kind: severity, severity: high}\n  - {kind: severity, severity: low}\n",
            "{path}:3: rule 2: another rule has the id 'severity'; give them distinct 'id' fields",
        ),
        ("name: x\n", "{path}:1: the policy: 'rules' is required"),
        ("- kind: severity\n", "{path}: the policy must be a mapping"),
        ("rules:\n  a: 1\n  a: 2\n", "{path}:3: invalid YAML: duplicate key 'a'"),
    ],
)
def test_bad_policy(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "policy.yaml", text)
    assert usage_error(load_policy, str(path)) == message.format(path=path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- vulnerability: CVE-1\n  reason: r\n- vulnerability: CVE-2\n  reason: r\n",
            "{path}:1: acceptance 1: 'expires' is required (a date YYYY-MM-DD)",
        ),
        (
            "- vulnerability: CVE-1\n  reason: r\n  expires: 2024-02-30\n",
            "{path}:3: acceptance 1: 'expires' must be a date YYYY-MM-DD, not '2024-02-30'",
        ),
        (
            "- vulnerability: CVE-1\n  reason: r\n  expires: 30/09/2024\n",
            "{path}:3: acceptance 1: 'expires' must be a date YYYY-MM-DD, not '30/09/2024'",
        ),
        (
            "- vulnerability: CVE-1\n  expires: 2024-09-30\n",
            "{path}:1: acceptance 1: 'reason' is required",
        ),
        (
            "- reason: r\n  expires: 2024-09-30\n",
            "{path}:1: acceptance 1: give at least one of 'vulnerability', 'package' and 'image'",
        ),
        (
            "- vulnerability: CVE-1\n  reason: r\n  expire: 2024-09-30\n",
            "{path}:3: acceptance 1: unknown field 'expire' (known: author, created, expires, "
            "image, package, reason, vulnerability)",
        ),
        (
            "- {vulnerability: CVE-1, reason: r, expires: 2024-09-30, created: 2024-10-01}\n",
            "{path}:1: acceptance 1: 'created' (2024-10-01) is after 'expires' (2024-09-30)",
        ),
        ("vulnerability: CVE-1\n", "{path}: acceptances must be a list of mappings"),
        ("- [CVE-1]\n", "{path}: acceptance 1 must be a mapping"),
        (
            "- vulnerability: CVE-1\n  reason: 'r\n",
            "{path}:3: invalid YAML: found unexpected end of stream",
        ),
    ],
)
def test_bad_acceptance_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "accept.yaml", text)
    assert usage_error(load_acceptances, path) == message.format(path=path)


def test_bad_server_acceptance_names_its_position() -> None:
    good = {"vulnerability": "CVE-1", "reason": "r", "expires": "2024-09-30"}
    assert (
        usage_error(
            acceptances_from_records, [good, {"vulnerability": "CVE-2", "reason": "r"}], "server"
        )
        == "server: acceptance 2: 'expires' is required (a date YYYY-MM-DD)"
    )
    (parsed,) = acceptances_from_records([good], "server")
    assert parsed.source == "server: acceptance 1"
