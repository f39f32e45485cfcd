"""Scans: repositories, scans with their findings, packages, layers, policy verdicts and config
issues, the latest scan per repository:tag; risk acceptances.

Revision ID: 0002
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHILDREN = (
    "scan_documents",
    "scan_findings",
    "scan_packages",
    "scan_layers",
    "scan_policy_verdicts",
    "scan_config_issues",
)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _int(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _scan_child(table: str, *columns: sa.Column[Any]) -> None:
    """A table of rows belonging to one scan, removed with it."""
    op.create_table(
        table,
        _id(),
        _int("scan_id"),
        *columns,
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=f"fk_{table}_scan_id_scans", ondelete="CASCADE"
        ),
    )


def upgrade() -> None:
    op.create_table(
        "repositories",
        _id(),
        _text("name"),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_repositories"),
        sa.UniqueConstraint("name_key", name="uq_repositories_name_key"),
    )
    severities = ("critical", "high", "medium", "low", "negligible", "unknown")
    op.create_table(
        "scans",
        _id(),
        _int("repository_id"),
        _text("tag"),
        sa.Column("tag_key", sa.String(64), nullable=False),
        _text("reference"),
        _text("digest"),
        _text("config_digest"),
        _text("os"),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("worst_rank", sa.SmallInteger(), nullable=False),
        *(_int(name) for name in severities),
        *(_int(f"{name}_fixable") for name in severities),
        _int("accepted"),
        _int("package_count"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        _int("uploader_id", nullable=True),
        _text("db_built_at"),
        *(
            _text(f"ci_{name}", nullable=True)
            for name in ("provider", "repository", "commit", "ref", "run_url")
        ),
        sa.Column("document_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scans"),
        sa.ForeignKeyConstraint(
            ["repository_id"], ["repositories.id"], name="fk_scans_repository_id_repositories"
        ),
        sa.ForeignKeyConstraint(["uploader_id"], ["users.id"], name="fk_scans_uploader_id_users"),
        sa.UniqueConstraint("document_sha256", name="uq_scans_document_sha256"),
    )
    op.create_index("ix_scans_created", "scans", ["created_at", "id"])
    op.create_index("ix_scans_repository_created", "scans", ["repository_id", "created_at", "id"])
    op.create_index("ix_scans_verdict_created", "scans", ["verdict", "created_at"])
    op.create_index("ix_scans_tag_key", "scans", ["tag_key"])

    op.create_table(
        "image_tags",
        _id(),
        _int("repository_id"),
        _text("tag"),
        sa.Column("tag_key", sa.String(64), nullable=False),
        _int("scans"),
        _int("latest_scan_id"),
        sa.Column("latest_created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_tags"),
        sa.ForeignKeyConstraint(
            ["repository_id"], ["repositories.id"], name="fk_image_tags_repository_id_repositories"
        ),
        sa.ForeignKeyConstraint(
            ["latest_scan_id"], ["scans.id"], name="fk_image_tags_latest_scan_id_scans"
        ),
        sa.UniqueConstraint("repository_id", "tag_key", name="uq_image_tags_repository_id_tag_key"),
    )
    op.create_index("ix_image_tags_latest", "image_tags", ["latest_created_at", "latest_scan_id"])
    op.create_table(
        "scan_documents",
        _int("scan_id"),
        sa.Column("zstd", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("scan_id", name="pk_scan_documents"),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name="fk_scan_documents_scan_id_scans", ondelete="CASCADE"
        ),
    )
    _scan_child(
        "scan_findings",
        _int("position"),
        _text("vuln_id"),
        _text("aliases"),
        _int("package_index"),
        _text("package_name"),
        _text("package_version"),
        _text("package_type"),
        _text("ecosystem"),
        _text("purl"),
        _int("layer_index", nullable=True),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("severity_rank", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        _text("fixed_version"),
        _text("title"),
        _flag("accepted"),
    )
    op.create_index("ix_scan_findings_scan_severity", "scan_findings", ["scan_id", "severity_rank"])
    _scan_child(
        "scan_packages",
        _int("position"),
        _text("name"),
        _text("version"),
        _text("type"),
        _text("ecosystem"),
        _text("purl"),
        _int("layer_index", nullable=True),
        _text("path"),
    )
    op.create_index("ix_scan_packages_scan", "scan_packages", ["scan_id", "position"])
    _scan_child(
        "scan_layers",
        _int("index"),
        _text("digest"),
        _text("created_by"),
        sa.Column("size", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_scan_layers_scan", "scan_layers", ["scan_id", "index"])
    _scan_child(
        "scan_policy_verdicts",
        _int("position"),
        _text("policy"),
        _text("rule_id"),
        _text("kind"),
        _text("description"),
        _flag("passed"),
        _flag("informational"),
        sa.Column("failed_findings", sa.JSON(), nullable=False),
        sa.Column("failed_packages", sa.JSON(), nullable=False),
    )
    op.create_index("ix_scan_policy_verdicts_scan", "scan_policy_verdicts", ["scan_id", "position"])
    _scan_child(
        "scan_config_issues",
        _text("check"),
        _text("detail"),
        _flag("informational"),
    )
    op.create_index("ix_scan_config_issues_scan", "scan_config_issues", ["scan_id"])

    op.create_table(
        "risk_acceptances",
        _id(),
        _text("vulnerability", nullable=True),
        _text("package_name", nullable=True),
        _text("package_version", nullable=True),
        _text("image_pattern", nullable=True),
        _text("reason"),
        _int("author_id"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        _int("revoked_by_id", nullable=True),
        _text("revoke_reason", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_risk_acceptances"),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name="fk_risk_acceptances_author_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name="fk_risk_acceptances_revoked_by_id_users"
        ),
    )
    op.create_index(
        "ix_risk_acceptances_revoked_expires", "risk_acceptances", ["revoked_at", "expires"]
    )


def downgrade() -> None:
    op.drop_table("risk_acceptances")
    op.drop_table("image_tags")
    for table in _CHILDREN:
        op.drop_table(table)
    op.drop_table("scans")
    op.drop_table("repositories")
