"""The native scan result on the wire: `mamori.scan/v1` as pydantic models.

The models mirror `mamori.model`. `inventory_document` gives an inventory alone
(`mamori sbom`: no findings, no database), `scan_document` a scan with its findings and the
database they came from, both as JSON values (an enum member stands for its value: it is a
str); `dump_document` serialises either with sorted keys so that the same input always gives the
same bytes. `policy` is the policy evaluation of a scan (null for an inventory alone); findings
there are referred to by id and package.

Writing a document needs no validation: the code builds it from typed values, and validating
2,000 findings costs more than rendering them. The models validate what is read (the server's
ingest); `scan_result_from_scan` and `scan_result_from_inventory` give the validated model of a
document, and the report tests prove that both ways give the same bytes.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from mamori import __version__
from mamori.errors import MamoriError
from mamori.model import (
    Acceptance,
    Finding,
    Inventory,
    Package,
    PolicyEvaluation,
    RuleVerdict,
    ScanResult,
    SeverityRating,
)

SCHEMA_ID: Final = "mamori.scan/v1"
SCANNER_NAME = "mamori"
_RANK = {rating: rating.rank for rating in SeverityRating}  # a dict: cheaper than the property


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScannerV1(_Wire):
    name: str
    version: str


class OSReleaseV1(_Wire):
    id: str
    version_id: str
    pretty_name: str
    version_codename: str
    id_like: list[str]
    distroless: bool


class HistoryEntryV1(_Wire):
    created: str
    created_by: str
    empty_layer: bool
    comment: str


class ImageConfigV1(_Wire):
    architecture: str
    os: str
    variant: str
    user: str
    entrypoint: list[str]
    cmd: list[str]
    working_dir: str
    env_names: list[str]  # names only: values may be secrets and are never read
    exposed_ports: list[str]
    labels: dict[str, str]
    created: str
    history: list[HistoryEntryV1]
    healthcheck: list[str]
    stop_signal: str


class LayerV1(_Wire):
    index: int
    digest: str
    diff_id: str
    media_type: str
    size: int
    created_by: str


class ImageV1(_Wire):
    reference: str
    source: str
    digest: str
    config_digest: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int
    os: OSReleaseV1 | None
    config: ImageConfigV1
    layers: list[LayerV1]


class LocationV1(_Wire):
    path: str
    layer_index: int
    layer_diff_id: str


class PackageV1(_Wire):
    name: str
    version: str
    type: str
    purl: str
    cataloger: str
    ecosystem: str
    source_name: str
    source_version: str
    arch: str
    licenses: list[str]
    metadata: dict[str, str]
    locations: list[LocationV1]


class FindingPackageV1(_Wire):
    """Which package a finding is in; `index` points into the document's `packages`."""

    index: int
    name: str
    version: str
    type: str
    purl: str
    location: str  # the package's first location, "" when it has none


class SeverityV1(_Wire):
    rating: Literal["critical", "high", "medium", "low", "negligible", "unknown"]
    score: float | None
    vector: str
    source: str  # where rating and score came from, e.g. "GHSA-xxxx CVSS_V3"


class FindingV1(_Wire):
    id: str  # a CVE where the alias group has one
    aliases: list[str]
    package: FindingPackageV1
    installed_version: str  # the version matched (the source package's for OS packages)
    fixed_version: str  # "" when no fix is released
    status: Literal["fixed", "not-fixed", "wont-fix"]
    severity: SeverityV1
    summary: str
    published: str
    modified: str
    links: list[str]
    advisories: list[str]  # the OSV records that matched
    matched_as: str  # what was looked up, e.g. "Debian:12 glibc 2.36-9+deb12u7"


class DBSourceV1(_Wire):
    kind: str  # "download" or "import"
    location: str
    ecosystem: str
    fetched_at: str
    records: int


class VulnerabilityDBV1(_Wire):
    path: str
    built_at: str
    advisories: int
    sources: list[DBSourceV1]


class FindingRefV1(_Wire):
    """A finding of the document's `findings`, by its id and package."""

    id: str
    package: str
    version: str
    type: str
    severity: str


class PackageRefV1(_Wire):
    name: str
    version: str
    type: str
    purl: str


class ConfigIssueV1(_Wire):
    check: str
    detail: str
    informational: bool


class RuleVerdictV1(_Wire):
    policy: str
    rule_id: str
    kind: str
    description: str
    passed: bool
    informational: bool  # a failure here does not fail the policy
    findings: list[FindingRefV1]  # the findings that failed the rule
    packages: list[PackageRefV1]  # the denied packages found
    config_issues: list[ConfigIssueV1]


class PackageSelectorV1(_Wire):
    name: str
    version: str  # "" for any version


class AcceptanceV1(_Wire):
    vulnerability: str  # "" for any
    package: PackageSelectorV1 | None
    image: str  # "" for any
    reason: str
    author: str
    expires: str  # YYYY-MM-DD, the last day it applies
    created: str | None
    source: str


class AcceptedFindingV1(_Wire):
    finding: FindingRefV1
    acceptance: AcceptanceV1


class ExpiredAcceptanceV1(_Wire):
    """An acceptance that would have covered these findings had it not expired."""

    acceptance: AcceptanceV1
    findings: list[FindingRefV1]


class PolicyEvaluationV1(_Wire):
    passed: bool
    policies: list[str]
    verdicts: list[RuleVerdictV1]
    accepted: list[AcceptedFindingV1]
    expired: list[ExpiredAcceptanceV1]
    warnings: list[str]


class CIContextV1(_Wire):
    """Where the scan ran, when it ran in CI (filled from the CI system's environment)."""

    provider: str  # "github", "gitlab", …
    repository: str | None = None  # e.g. "acme/shop"
    commit: str | None = None  # the commit id the image was built from
    ref: str | None = None  # e.g. "refs/pull/12/merge"
    run_url: str | None = None  # link to the CI run
    workflow: str | None = None


class ScanResultV1(_Wire):
    schema_id: Literal["mamori.scan/v1"] = Field(default=SCHEMA_ID, alias="schema")
    scanner: ScannerV1
    created_at: str
    image: ImageV1
    packages: list[PackageV1]
    warnings: list[str]
    findings: list[FindingV1] = Field(default_factory=list)
    vulnerability_db: VulnerabilityDBV1 | None = None  # null: an inventory alone (no scan)
    policy: PolicyEvaluationV1 | None = None  # null: no policy evaluated (an inventory alone)
    ci: CIContextV1 | None = None  # null: not run in a CI system mamori recognises


def scanner_version(inventory: Inventory) -> str:
    return inventory.scanner_version or __version__


def inventory_time(inventory: Inventory) -> datetime:
    """When the inventory was taken (UTC, whole seconds); now when the inventory does not say."""
    if not inventory.created_at:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(inventory.created_at)
    except ValueError:
        raise MamoriError(f"invalid inventory timestamp {inventory.created_at!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_result_from_inventory(inventory: Inventory) -> ScanResultV1:
    """An inventory alone, validated: no findings, no database."""
    return ScanResultV1.model_validate(inventory_document(inventory))


def scan_result_from_scan(result: ScanResult) -> ScanResultV1:
    """A scan, validated: the inventory, its findings and the database they came from."""
    return ScanResultV1.model_validate(scan_document(result))


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    """An inventory alone as a `mamori.scan/v1` document: no findings, no database."""
    return _inventory_document(inventory, sorted(inventory.packages, key=Package.sort_key))


def scan_document(result: ScanResult) -> dict[str, Any]:
    """A scan as a `mamori.scan/v1` document: the inventory, its findings (worst first) and
    the database they came from."""
    packages = sorted(result.inventory.packages, key=Package.sort_key)
    document = _inventory_document(result.inventory, packages)
    document["warnings"] = [*result.inventory.warnings, *result.warnings]
    index: dict[Package, int] = {}  # equal packages (none in practice) share the first
    for n, package in enumerate(packages):
        index.setdefault(package, n)
    findings = sorted(
        (
            (_RANK[finding.severity.rating], index[finding.package], finding.id, finding)
            for finding in result.findings
        ),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    document["findings"] = [_finding(n, finding) for _, n, _, finding in findings]
    db = result.db
    document["vulnerability_db"] = {
        "path": db.path,
        "built_at": db.built_at,
        "advisories": db.advisories,
        "sources": [
            {
                "kind": source.kind,
                "location": source.location,
                "ecosystem": source.ecosystem,
                "fetched_at": source.fetched_at,
                "records": source.records,
            }
            for source in db.sources
        ],
    }
    document["policy"] = None if result.policy is None else _policy(result.policy)
    document["ci"] = None if result.ci is None else dataclasses.asdict(result.ci)
    return document


def _inventory_document(inventory: Inventory, packages: list[Package]) -> dict[str, Any]:
    """The inventory part of a scan result; `packages` in `Package.sort_key` order."""
    image = inventory.image
    config = image.config
    os_release = inventory.os
    document: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "scanner": {"name": SCANNER_NAME, "version": scanner_version(inventory)},
        "created_at": rfc3339(inventory_time(inventory)),
        "image": {
            "reference": image.reference,
            "source": image.source,
            "digest": image.digest,
            "config_digest": image.config_digest,
            "repo_tags": image.repo_tags,
            "repo_digests": image.repo_digests,
            "size": image.size,
            "os": None
            if os_release is None
            else {
                "id": os_release.id,
                "version_id": os_release.version_id,
                "pretty_name": os_release.pretty_name,
                "version_codename": os_release.version_codename,
                "id_like": os_release.id_like,
                "distroless": os_release.distroless,
            },
            "config": {
                "architecture": config.architecture,
                "os": config.os,
                "variant": config.variant,
                "user": config.user,
                "entrypoint": config.entrypoint,
                "cmd": config.cmd,
                "working_dir": config.working_dir,
                "env_names": config.env_names,
                "exposed_ports": config.exposed_ports,
                "labels": dict(config.labels),
                "created": config.created,
                "history": [
                    {
                        "created": entry.created,
                        "created_by": entry.created_by,
                        "empty_layer": entry.empty_layer,
                        "comment": entry.comment,
                    }
                    for entry in config.history
                ],
                "healthcheck": config.healthcheck,
                "stop_signal": config.stop_signal,
            },
            "layers": [
                {
                    "index": layer.index,
                    "digest": layer.digest,
                    "diff_id": layer.diff_id,
                    "media_type": layer.media_type,
                    "size": layer.size,
                    "created_by": layer.created_by,
                }
                for layer in image.layers
            ],
        },
        "packages": [_package(package) for package in packages],
        "warnings": list(inventory.warnings),
        "findings": [],
        "vulnerability_db": None,
        "policy": None,
        "ci": None,
    }
    return document


def _package(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "type": package.type,
        "purl": package.purl,
        "cataloger": package.cataloger,
        "ecosystem": package.ecosystem,
        "source_name": package.source_name,
        "source_version": package.source_version,
        "arch": package.arch,
        "licenses": package.licenses,
        "metadata": dict(package.metadata),
        "locations": [
            {
                "path": location.path,
                "layer_index": location.layer_index,
                "layer_diff_id": location.layer_diff_id,
            }
            for location in package.locations
        ],
    }


def _finding(index: int, finding: Finding) -> dict[str, Any]:
    package = finding.package
    severity = finding.severity
    return {
        "id": finding.id,
        "aliases": finding.aliases,
        "package": {
            "index": index,
            "name": package.name,
            "version": package.version,
            "type": package.type,
            "purl": package.purl,
            "location": package.locations[0].path if package.locations else "",
        },
        "installed_version": finding.installed_version,
        "fixed_version": finding.fixed_version,
        "status": finding.status,
        "severity": {
            "rating": severity.rating,
            "score": severity.score,
            "vector": severity.vector,
            "source": severity.source,
        },
        "summary": finding.summary,
        "published": finding.published,
        "modified": finding.modified,
        "links": finding.links,
        "advisories": finding.advisories,
        "matched_as": finding.matched_as,
    }


def _policy(evaluation: PolicyEvaluation) -> dict[str, Any]:
    return {
        "passed": evaluation.passed,
        "policies": evaluation.policies,
        "verdicts": [_verdict(verdict) for verdict in evaluation.verdicts],
        "accepted": [
            {"finding": _finding_ref(item.finding), "acceptance": _acceptance(item.acceptance)}
            for item in evaluation.accepted
        ],
        "expired": [
            {
                "acceptance": _acceptance(item.acceptance),
                "findings": [_finding_ref(finding) for finding in item.findings],
            }
            for item in evaluation.expired
        ],
        "warnings": evaluation.warnings,
    }


def _verdict(verdict: RuleVerdict) -> dict[str, Any]:
    return {
        "policy": verdict.policy,
        "rule_id": verdict.rule_id,
        "kind": verdict.kind,
        "description": verdict.description,
        "passed": verdict.passed,
        "informational": verdict.informational,
        "findings": [_finding_ref(finding) for finding in verdict.findings],
        "packages": [
            {"name": p.name, "version": p.version, "type": p.type, "purl": p.purl}
            for p in verdict.packages
        ],
        "config_issues": [
            {
                "check": issue.check,
                "detail": issue.detail,
                "informational": issue.informational,
            }
            for issue in verdict.config_issues
        ],
    }


def _finding_ref(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "package": finding.package.name,
        "version": finding.package.version,
        "type": finding.package.type,
        "severity": finding.severity.rating,
    }


def _acceptance(acceptance: Acceptance) -> dict[str, Any]:
    selector = acceptance.package
    return {
        "vulnerability": acceptance.vulnerability,
        "package": None
        if selector is None
        else {"name": selector.name, "version": selector.version},
        "image": acceptance.image,
        "reason": acceptance.reason,
        "author": acceptance.author,
        "expires": acceptance.expires.isoformat(),
        "created": None if acceptance.created is None else acceptance.created.isoformat(),
        "source": acceptance.source,
    }


def dump_document(document: dict[str, Any]) -> bytes:
    """Indented JSON with sorted keys: byte-for-byte stable for the same document."""
    return orjson.dumps(
        document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
    )


def dump_scan_result(result: ScanResultV1) -> bytes:
    """A validated result, as `dump_document` writes its document."""
    return dump_document(result.model_dump(mode="json", by_alias=True))
