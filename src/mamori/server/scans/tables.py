"""Tables of stored pipeline scans and risk acceptances.

A scan row carries what the pipeline list shows (verdict, counts per severity, CI context) so the
list never touches findings; the findings, packages, layers, policy verdicts and config issues of a
scan are rows of their own for the detail, compare and filter queries; the whole `mamori.scan/v1`
document is kept zstd-compressed beside them so nothing a later version wants is lost.

Image names and tags are stored verbatim whatever their length; since a B-tree index entry is
limited in size (about 2.7 kB on PostgreSQL), lookups by repository and tag go through the sha256
of the value (`Repository.name_key`, `Scan.tag_key`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from mamori.server.db import Base, UtcDateTime

HASH_LENGTH = 64  # hex sha256


class Repository(Base):
    """An image repository (`registry.local/acme/shop`); scans of it share this row."""

    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_key: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    tag: Mapped[str] = mapped_column(Text)  # "" when the image has no tag
    tag_key: Mapped[str] = mapped_column(String(HASH_LENGTH))
    reference: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(Text)
    config_digest: Mapped[str] = mapped_column(Text)
    os: Mapped[str] = mapped_column(Text)  # pretty name, "" when unknown
    verdict: Mapped[str] = mapped_column(String(8))  # passed | failed | none
    worst_rank: Mapped[int] = mapped_column(SmallInteger)  # SeverityRating.rank; -1: no findings
    critical: Mapped[int] = mapped_column(Integer)
    high: Mapped[int] = mapped_column(Integer)
    medium: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(Integer)
    negligible: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    critical_fixable: Mapped[int] = mapped_column(Integer)
    high_fixable: Mapped[int] = mapped_column(Integer)
    medium_fixable: Mapped[int] = mapped_column(Integer)
    low_fixable: Mapped[int] = mapped_column(Integer)
    negligible_fixable: Mapped[int] = mapped_column(Integer)
    unknown_fixable: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)  # findings covered by a risk acceptance
    package_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)  # when the scan ran
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    db_built_at: Mapped[str] = mapped_column(Text)  # of the vulnerability database; "" if none
    ci_provider: Mapped[str | None] = mapped_column(Text, nullable=True)
    ci_repository: Mapped[str | None] = mapped_column(Text, nullable=True)
    ci_commit: Mapped[str | None] = mapped_column(Text, nullable=True)
    ci_ref: Mapped[str | None] = mapped_column(Text, nullable=True)
    ci_run_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    document_sha256: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)

    __table_args__ = (
        Index("ix_scans_created", "created_at", "id"),
        Index("ix_scans_repository_created", "repository_id", "created_at", "id"),
        Index("ix_scans_verdict_created", "verdict", "created_at"),
        Index("ix_scans_tag_key", "tag_key"),
    )


class ImageTag(Base):
    """One repository:tag with its latest scan, kept up to date at ingest (the images list)."""

    __tablename__ = "image_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    tag: Mapped[str] = mapped_column(Text)
    tag_key: Mapped[str] = mapped_column(String(HASH_LENGTH))
    scans: Mapped[int] = mapped_column(Integer)
    latest_scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    latest_created_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("repository_id", "tag_key"),
        Index("ix_image_tags_latest", "latest_created_at", "latest_scan_id"),
    )


class ScanDocument(Base):
    """The uploaded document, zstd-compressed; a table of its own keeps `scans` rows narrow."""

    __tablename__ = "scan_documents"

    scan_id: Mapped[int] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    zstd: Mapped[bytes] = mapped_column(LargeBinary)


class ScanFinding(Base):
    __tablename__ = "scan_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # index in the document's findings
    vuln_id: Mapped[str] = mapped_column(Text)
    aliases: Mapped[str] = mapped_column(Text)  # a JSON array, decoded with orjson (fast)
    package_index: Mapped[int] = mapped_column(Integer)  # into the document's packages
    package_name: Mapped[str] = mapped_column(Text)
    package_version: Mapped[str] = mapped_column(Text)
    package_type: Mapped[str] = mapped_column(Text)
    ecosystem: Mapped[str] = mapped_column(Text)
    purl: Mapped[str] = mapped_column(Text)
    layer_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    severity: Mapped[str] = mapped_column(String(10))
    severity_rank: Mapped[int] = mapped_column(SmallInteger)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String(10))  # fixed | not-fixed | wont-fix
    fixed_version: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    accepted: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_scan_findings_scan_severity", "scan_id", "severity_rank"),)


class ScanPackage(Base):
    __tablename__ = "scan_packages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # index in the document's packages
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    ecosystem: Mapped[str] = mapped_column(Text)
    purl: Mapped[str] = mapped_column(Text)
    layer_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    path: Mapped[str] = mapped_column(Text)  # first location, "" when none

    __table_args__ = (Index("ix_scan_packages_scan", "scan_id", "position"),)


class ScanLayer(Base):
    __tablename__ = "scan_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_scan_layers_scan", "scan_id", "index"),)


class PolicyVerdict(Base):
    __tablename__ = "scan_policy_verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(Text)
    rule_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    passed: Mapped[bool] = mapped_column(Boolean)
    informational: Mapped[bool] = mapped_column(Boolean)
    failed_findings: Mapped[list[str]] = mapped_column(JSON)  # "ID package version" per finding
    failed_packages: Mapped[list[str]] = mapped_column(JSON)  # "name version" per package

    __table_args__ = (Index("ix_scan_policy_verdicts_scan", "scan_id", "position"),)


class ConfigIssue(Base):
    """An image-configuration finding (runs as root, secret in ENV, …) of a scan's policy."""

    __tablename__ = "scan_config_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    check: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)
    informational: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_scan_config_issues_scan", "scan_id"),)


class RiskAcceptance(Base):
    """A risk accepted in the console; `mamori scan` fetches the live ones and applies them."""

    __tablename__ = "risk_acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vulnerability: Mapped[str | None] = mapped_column(Text, nullable=True)
    package_name: Mapped[str | None] = mapped_column(Text, nullable=True)
    package_version: Mapped[str | None] = mapped_column(Text, nullable=True)
    image_pattern: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires: Mapped[date] = mapped_column(Date)  # the last day it applies
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    revoke_reason: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_risk_acceptances_revoked_expires", "revoked_at", "expires"),)
