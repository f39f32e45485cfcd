"""The scan stage: inventory → vulnerability database → matching → ScanResult.

Sits above inventory, match and vulndb and below cli. The database is opened before the
image is read, so a missing database fails in a moment instead of after an image pull.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mamori.image.layers import LayerProgress
from mamori.inventory import InventoryOptions, take_inventory
from mamori.match.matcher import match_packages
from mamori.model import CIContext, DBInfo, DBSource, Finding, ScanResult
from mamori.vulndb.reader import VulnDB

SUMMARY_CHARS = 300  # longest summary taken from an advisory's details


def run_scan(
    reference: str,
    options: InventoryOptions,
    dbpath: Path,
    on_layer: LayerProgress | None = None,
    on_opened: Callable[[int], None] | None = None,
) -> ScanResult:
    """Raises MamoriError when the database is missing or unusable or the image unreadable."""
    with VulnDB.open(dbpath) as db:
        inventory = take_inventory(reference, options, on_layer, on_opened)
        matched = match_packages(inventory.packages, db)
        findings = _with_details(matched.findings, db)
        info = db_info(dbpath, db)
    return ScanResult(
        inventory=inventory,
        findings=tuple(findings),
        db=info,
        warnings=tuple(matched.warnings),
    )


def db_info(dbpath: Path, db: VulnDB) -> DBInfo:
    metadata = db.metadata
    return DBInfo(
        path=str(dbpath.absolute()),
        built_at=metadata.built_at,
        sources=tuple(
            DBSource(
                kind=source.kind,
                location=source.location,
                ecosystem=source.ecosystem,
                fetched_at=source.fetched_at,
                records=source.records,
            )
            for source in metadata.sources
        ),
        advisories=metadata.advisories,
    )


def _with_details(findings: Iterable[Finding], db: VulnDB) -> list[Finding]:
    """Links (the advisories' references, ADVISORY ones first) and, where the advisories have
    no summary (PYSEC records have none), the start of their details: both live only in the
    advisories' JSON, which is read once per advisory."""
    documents: dict[str, dict[str, Any]] = {}

    def document(advisory_id: str) -> dict[str, Any]:
        found = documents.get(advisory_id)
        if found is None:
            found = documents[advisory_id] = db.advisory(advisory_id) or {}
        return found

    detailed = []
    for finding in findings:
        records = [document(advisory_id) for advisory_id in finding.advisories]
        links = finding.links or _links(records)
        summary = finding.summary or _summary_from_details(records)
        detailed.append(replace(finding, links=links, summary=summary))
    return detailed


def _links(records: list[dict[str, Any]]) -> tuple[str, ...]:
    references = [
        reference
        for record in records
        for reference in record.get("references") or ()
        if isinstance(reference, dict) and isinstance(reference.get("url"), str)
    ]
    ordered = sorted(references, key=lambda reference: reference.get("type") != "ADVISORY")
    return tuple(dict.fromkeys(reference["url"] for reference in ordered))


def _summary_from_details(records: list[dict[str, Any]]) -> str:
    """The first sentence of the first details text, at most SUMMARY_CHARS long."""
    for record in records:
        details = record.get("details")
        if isinstance(details, str) and details.strip():
            paragraph = " ".join(details.strip().split("\n\n", 1)[0].split())
            sentence = re.split(r"(?<=[.!?])\s", paragraph, maxsplit=1)[0]
            if len(sentence) > SUMMARY_CHARS:
                sentence = sentence[: SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + "…"
            return sentence
    return ""


def ci_context(environ: Mapping[str, str]) -> CIContext | None:
    """Where the scan runs, from the variables GitHub Actions and GitLab CI set; None
    elsewhere. Empty variables count as unset."""

    def get(name: str) -> str | None:
        return environ.get(name) or None

    if get("GITHUB_ACTIONS") == "true":
        server, repository, run_id = (
            get("GITHUB_SERVER_URL"),
            get("GITHUB_REPOSITORY"),
            get("GITHUB_RUN_ID"),
        )
        run_url = (
            f"{server.rstrip('/')}/{repository}/actions/runs/{run_id}"
            if server and repository and run_id
            else None
        )
        return CIContext(
            provider="github",
            repository=repository,
            commit=get("GITHUB_SHA"),
            ref=get("GITHUB_REF"),
            run_url=run_url,
            workflow=get("GITHUB_WORKFLOW"),
        )
    if get("GITLAB_CI") == "true":
        return CIContext(
            provider="gitlab",
            repository=get("CI_PROJECT_PATH"),
            commit=get("CI_COMMIT_SHA"),
            ref=get("CI_COMMIT_REF_NAME"),
            run_url=get("CI_PIPELINE_URL"),
            workflow=get("CI_PIPELINE_NAME"),
        )
    return None
