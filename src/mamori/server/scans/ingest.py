"""Store one uploaded `mamori.scan/v1` document: parse, validate, map to rows, idempotently.

`parse_scan_document(body)` turns request bytes into a validated `ScanResultV1` or raises
`DocumentError` with one line naming the field; `store_scan(session, document, uploader_id)`
stores it unless a document with the same canonical bytes (sha256 of the JSON re-dumped with
sorted keys) is stored already, and says which.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import orjson
import zstandard
from pydantic import ValidationError
from sqlalchemy import case, insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.model import SeverityRating
from mamori.schema import FindingV1, ImageV1, PackageV1, ScanResultV1
from mamori.server.db import utcnow
from mamori.server.scans.tables import (
    ConfigIssue,
    ImageTag,
    PolicyVerdict,
    Repository,
    Scan,
    ScanDocument,
    ScanFinding,
    ScanLayer,
    ScanPackage,
)

_ARCHIVE_SOURCES = ("docker-archive", "oci-archive", "oci", "dir")
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar.zst", ".tar")
_REFERENCE_PREFIXES = ("docker://", "podman://", "pull://", "registry:")
UNNAMED = "(unnamed)"


class DocumentError(ValueError):
    """An upload that is not a valid scan document; the message is one line."""


@dataclass(frozen=True)
class StoredScan:
    scan_id: int
    created: bool  # False: the same document was stored before


def parse_scan_document(body: bytes) -> ScanResultV1:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DocumentError(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DocumentError("a scan document must be a JSON object")
    try:
        document = ScanResultV1.model_validate(data)
    except ValidationError as exc:
        raise DocumentError(_first_error(exc)) from None
    _check_references(document)
    return document


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "document"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


_INT32 = 2**31 - 1
_INT64 = 2**63 - 1


def _check_references(document: ScanResultV1) -> None:
    """What the schema cannot say: indexes point at something, numbers fit their columns."""
    packages = len(document.packages)
    for n, layer in enumerate(document.image.layers):
        if not (0 <= layer.index <= _INT32 and 0 <= layer.size <= _INT64):
            raise DocumentError(f"image.layers.{n}: index or size out of range")
    for n, package in enumerate(document.packages):
        if any(not 0 <= loc.layer_index <= _INT32 for loc in package.locations):
            raise DocumentError(f"packages.{n}.locations: layer_index out of range")
    for n, finding in enumerate(document.findings):
        if not 0 <= finding.package.index < packages:
            raise DocumentError(
                f"findings.{n}.package.index: {finding.package.index} is not a package index"
            )
    try:
        scan_time(document)
    except ValueError:
        raise DocumentError(
            f"created_at: {document.created_at[:64]!r} is not an RFC 3339 timestamp"
        ) from None


def scan_time(document: ScanResultV1) -> datetime:
    moment = datetime.fromisoformat(document.created_at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def document_bytes(document: ScanResultV1) -> bytes:
    """The canonical bytes: compact JSON with sorted keys."""
    return orjson.dumps(
        document.model_dump(mode="json", by_alias=True), option=orjson.OPT_SORT_KEYS
    )


def sha256_hex(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def image_name(image: ImageV1) -> tuple[str, str]:
    """(repository, tag) of a scanned image; tag "" when it has none.

    The first of `repo_tags`, else the name of the first of `repo_digests`, else the reference:
    a registry or engine reference parsed as NAME[:TAG][@DIGEST], an archive or directory named
    after its file (`docker-archive:/builds/shop.tar` → "shop").
    """
    if image.repo_tags:
        return split_tag(image.repo_tags[0])
    if image.repo_digests:
        return image.repo_digests[0].partition("@")[0] or UNNAMED, ""
    reference = image.reference
    if image.source in _ARCHIVE_SOURCES:
        path = reference.partition(":")[2] if ":" in reference else reference
        return _archive_name(path), ""
    for prefix in _REFERENCE_PREFIXES:
        if reference.startswith(prefix):
            reference = reference[len(prefix) :]
            break
    return split_tag(reference.partition("@")[0])


def split_tag(name: str) -> tuple[str, str]:
    """`host:5000/acme/shop:1.2` → ("host:5000/acme/shop", "1.2"): a tag follows the last
    colon only when no slash comes after it."""
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon] or UNNAMED, name[colon + 1 :]
    return name or UNNAMED, ""


def _archive_name(path: str) -> str:
    name = PurePosixPath(path).name
    for suffix in _ARCHIVE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name or UNNAMED


def store_scan(
    session: Session,
    document: ScanResultV1,
    uploader_id: int | None,
    *,
    now: datetime | None = None,
) -> StoredScan:
    """Store the document (one transaction savepoint) or find the identical one stored before."""
    raw = document_bytes(document)
    digest = sha256_hex(raw)
    existing = session.scalar(select(Scan.id).where(Scan.document_sha256 == digest))
    if existing is not None:
        return StoredScan(existing, created=False)
    repository, tag = image_name(document.image)
    try:
        with session.begin_nested():
            scan_id = _insert_scan(
                session, document, raw, digest, repository, tag, uploader_id, now or utcnow()
            )
    except IntegrityError:  # the same document stored concurrently
        found = session.scalar(select(Scan.id).where(Scan.document_sha256 == digest))
        if found is None:
            raise
        return StoredScan(found, created=False)
    return StoredScan(scan_id, created=True)


def repository_id(session: Session, name: str) -> int:
    """The id of the repository named so, created when new.

    It writes before it reads: on SQLite a transaction that read first and then writes fails
    at once ("database is locked") when another writer committed in between, while one that
    starts with a write waits for the lock.
    """
    key = sha256_hex(name)
    session.execute(
        _upsert(session)(Repository)
        .values(name=name, name_key=key)
        .on_conflict_do_nothing(index_elements=[Repository.name_key])
    )
    return session.execute(select(Repository.id).where(Repository.name_key == key)).scalar_one()


def _upsert(session: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL spell it the same)."""
    return postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _count_in_image_tag(session: Session, scan_id: int, row: dict[str, Any]) -> None:
    """Count the scan in its repository:tag, the latest one when it is the newest."""
    statement = _upsert(session)(ImageTag).values(
        repository_id=row["repository_id"],
        tag=row["tag"],
        tag_key=row["tag_key"],
        scans=1,
        latest_scan_id=scan_id,
        latest_created_at=row["created_at"],
    )
    newer = statement.excluded.latest_created_at >= ImageTag.latest_created_at
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[ImageTag.repository_id, ImageTag.tag_key],
            set_={
                "scans": ImageTag.scans + 1,
                "latest_scan_id": case(
                    (newer, statement.excluded.latest_scan_id), else_=ImageTag.latest_scan_id
                ),
                "latest_created_at": case(
                    (newer, statement.excluded.latest_created_at),
                    else_=ImageTag.latest_created_at,
                ),
            },
        )
    )


def _insert_scan(
    session: Session,
    document: ScanResultV1,
    raw: bytes,
    digest: str,
    repository: str,
    tag: str,
    uploader_id: int | None,
    now: datetime,
) -> int:
    repository_key = repository_id(session, repository)  # first: the transaction's first write
    accepted = _accepted_keys(document)
    findings = [
        _finding_row(n, finding, document.packages, accepted)
        for n, finding in enumerate(document.findings)
    ]
    row = scan_row(document, findings, repository_key, tag)
    row.update(uploaded_at=now, uploader_id=uploader_id, document_sha256=digest)
    scan_id: int = session.execute(insert(Scan).values(**row).returning(Scan.id)).scalar_one()
    _count_in_image_tag(session, scan_id, row)
    session.execute(
        insert(ScanDocument).values(
            scan_id=scan_id, zstd=zstandard.ZstdCompressor(level=6).compress(raw)
        )
    )
    insert_children(session, scan_id, document, findings)
    return scan_id


def scan_row(
    document: ScanResultV1, findings: list[dict[str, Any]], repository: int, tag: str
) -> dict[str, Any]:
    """The scan's columns but the upload's (uploaded_at, uploader, document hash)."""
    image, ci, policy = document.image, document.ci, document.policy
    totals = Counter(f["severity"] for f in findings)
    fixable = Counter(f["severity"] for f in findings if f["status"] == "fixed")
    row: dict[str, Any] = {
        "repository_id": repository,
        "tag": tag,
        "tag_key": sha256_hex(tag),
        "reference": image.reference,
        "digest": image.digest,
        "config_digest": image.config_digest,
        "os": image.os.pretty_name if image.os else "",
        "verdict": "none" if policy is None else "passed" if policy.passed else "failed",
        "worst_rank": max((f["severity_rank"] for f in findings), default=-1),
        "accepted": sum(f["accepted"] for f in findings),
        "package_count": len(document.packages),
        "created_at": scan_time(document),
        "db_built_at": document.vulnerability_db.built_at if document.vulnerability_db else "",
        "ci_provider": ci.provider if ci else None,
        "ci_repository": ci.repository if ci else None,
        "ci_commit": ci.commit if ci else None,
        "ci_ref": ci.ref if ci else None,
        "ci_run_url": ci.run_url if ci else None,
    }
    for rating in SeverityRating:
        row[rating.value] = totals[rating.value]
        row[f"{rating.value}_fixable"] = fixable[rating.value]
    return row


def insert_children(
    session: Session, scan_id: int, document: ScanResultV1, findings: list[dict[str, Any]]
) -> None:
    """Findings, packages, layers, policy verdicts and config issues, each one bulk insert."""
    if findings:
        session.execute(insert(ScanFinding), [{**f, "scan_id": scan_id} for f in findings])
    if document.packages:
        session.execute(
            insert(ScanPackage),
            [_package_row(scan_id, n, p) for n, p in enumerate(document.packages)],
        )
    if document.image.layers:
        session.execute(
            insert(ScanLayer),
            [
                {
                    "scan_id": scan_id,
                    "index": layer.index,
                    "digest": layer.digest,
                    "created_by": layer.created_by,
                    "size": layer.size,
                }
                for layer in document.image.layers
            ],
        )
    if document.policy is None:
        return
    verdicts = document.policy.verdicts
    if verdicts:
        session.execute(
            insert(PolicyVerdict),
            [
                {
                    "scan_id": scan_id,
                    "position": n,
                    "policy": v.policy,
                    "rule_id": v.rule_id,
                    "kind": v.kind,
                    "description": v.description,
                    "passed": v.passed,
                    "informational": v.informational,
                    "failed_findings": [f"{f.id} {f.package} {f.version}" for f in v.findings],
                    "failed_packages": [f"{p.name} {p.version}" for p in v.packages],
                }
                for n, v in enumerate(verdicts)
            ],
        )
    issues = [
        {
            "scan_id": scan_id,
            "check": issue.check,
            "detail": issue.detail,
            "informational": issue.informational,
        }
        for verdict in verdicts
        for issue in verdict.config_issues
    ]
    if issues:
        session.execute(insert(ConfigIssue), issues)


def _accepted_keys(document: ScanResultV1) -> set[tuple[str, str, str, str]]:
    if document.policy is None:
        return set()
    return {
        (a.finding.id, a.finding.package, a.finding.version, a.finding.type)
        for a in document.policy.accepted
    }


def _first_layer(package: PackageV1) -> int | None:
    return package.locations[0].layer_index if package.locations else None


def _finding_row(
    position: int,
    finding: FindingV1,
    packages: list[PackageV1],
    accepted: set[tuple[str, str, str, str]],
) -> dict[str, Any]:
    target = finding.package
    package = packages[target.index]
    rating = SeverityRating(finding.severity.rating)
    return {
        "position": position,
        "vuln_id": finding.id,
        "aliases": orjson.dumps(finding.aliases).decode(),
        "package_index": target.index,
        "package_name": target.name,
        "package_version": target.version,
        "package_type": target.type,
        "ecosystem": package.ecosystem,
        "purl": target.purl,
        "layer_index": _first_layer(package),
        "severity": rating.value,
        "severity_rank": rating.rank,
        "score": finding.severity.score,
        "status": finding.status,
        "fixed_version": finding.fixed_version,
        "title": finding.summary,
        "accepted": (finding.id, target.name, target.version, target.type) in accepted,
    }


def _package_row(scan_id: int, position: int, package: PackageV1) -> dict[str, Any]:
    return {
        "scan_id": scan_id,
        "position": position,
        "name": package.name,
        "version": package.version,
        "type": package.type,
        "ecosystem": package.ecosystem,
        "purl": package.purl,
        "layer_index": _first_layer(package),
        "path": package.locations[0].path if package.locations else "",
    }
