"""Policies from YAML text and scan results with chosen findings or image config."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from datetime import date

from mamori.model import Finding, ImageConfig, ScanResult, SeverityRating
from mamori.policy.loader import parse_policy
from mamori.policy.model import Policy
from mamori.policy.yamlfile import load_yaml
from tests.report.findings import finding, package, scan_result

TODAY = date(2024, 6, 1)


def policy(text: str, name: str = "p") -> Policy:
    source = f"{name}.yaml"
    return parse_policy(load_yaml(textwrap.dedent(text), source), source, name)


def result_with(*specs: tuple[str, str, SeverityRating, str]) -> ScanResult:
    """A result whose findings are (package name, id, rating, fixed version)."""
    base = scan_result(())
    return replace(
        base,
        findings=tuple(
            finding(package(base.inventory, name), vuln_id, rating, fixed)
            for name, vuln_id, rating, fixed in specs
        ),
    )


def with_config(result: ScanResult, **changes: object) -> ScanResult:
    image = result.inventory.image
    config: ImageConfig = replace(image.config, **changes)  # type: ignore[arg-type]
    inventory = replace(result.inventory, image=replace(image, config=config))
    return replace(result, inventory=inventory)


def ids(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    return sorted((f.id, f.package.name) for f in findings)
