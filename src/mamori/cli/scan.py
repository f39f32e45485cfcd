"""`mamori scan IMAGE`: the image's packages matched against the local vulnerability database,
judged by policies: the CI gate."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import typer

from mamori.cli.db import dbpath_option, default_db_path
from mamori.cli.errors import guarded
from mamori.cli.image_options import (
    ImageAccess,
    cachepath_option,
    image_argument,
    insecure_registry_option,
    no_cache_option,
    output_option,
    platform_option,
    quiet_option,
    reading_image,
    skip_tls_verify_option,
)
from mamori.cli.outputs import parse_outputs, write_output
from mamori.errors import UsageError
from mamori.model import ScanResult, SeverityRating
from mamori.report import SCAN_FORMATS, scan_formatter_for
from mamori.report.selection import DISPLAY_FILTERED, displayed

DEFAULT_ACCEPT = Path(".mamori", "accept.yaml")
LEVELS = ", ".join(rating.value for rating in SeverityRating)


def register(app: typer.Typer) -> None:
    app.command(
        "scan",
        help=(
            "Inventory an image and match its packages against the local vulnerability "
            "database (see `mamori db`): OS packages by source package and distribution "
            "release, language packages by name in their ecosystem, then judges the findings "
            "and the image's configuration by policies, with risk acceptances applied. Reports "
            "every finding with its severity and the version that fixes it, and every rule's "
            "verdict: a table, native JSON, CycloneDX with vulnerabilities, SPDX (the SBOM "
            "alone), SARIF, JUnit XML or Markdown. When GITHUB_STEP_SUMMARY is set, the "
            "Markdown summary is also appended to that file. Exit codes: 0 the policy passed, "
            "1 the policy failed, 2 bad parameters (unknown policy, invalid policy or "
            "acceptance file), 3 any other error (no database, image unreadable)."
        ),
    )(scan)


def scan(
    image: str = image_argument("scan"),
    output: list[str] = output_option(SCAN_FORMATS),
    dbpath: Path | None = dbpath_option(writes=False),
    cachepath: Path | None = cachepath_option(),
    no_cache: bool = no_cache_option(),
    platform: str = platform_option(),
    insecure_registry: bool = insecure_registry_option(),
    skip_tls_verify: bool = skip_tls_verify_option(),
    quiet: bool = quiet_option(),
    policy: list[str] = typer.Option(
        [],
        "--policy",
        help="NAME|FILE, repeatable: a built-in policy or a policy YAML file; all must pass. "
        "Default: the built-in `default` (critical and high findings with a fix fail).",
        metavar="NAME|FILE",
    ),
    accept: Path | None = typer.Option(
        None,
        "--accept",
        help=f"Risk acceptances (YAML). Default: {DEFAULT_ACCEPT} when it exists.",
        metavar="FILE",
    ),
    severity: str | None = typer.Option(
        None,
        "--severity",
        help="Show only findings at or above LEVEL in the table and the Markdown summary "
        f"({LEVELS}); the verdict is unaffected.",
        metavar="LEVEL",
    ),
    only_fixed: bool = typer.Option(
        False,
        "--only-fixed",
        help="Show only findings with a fix in the table and the Markdown summary; the "
        "verdict is unaffected.",
    ),
) -> None:
    def body() -> bool:
        from mamori.policy.acceptances import load_acceptances
        from mamori.policy.evaluate import evaluate
        from mamori.policy.loader import load_policies
        from mamori.scan import run_scan

        specs = parse_outputs(output, tuple(SCAN_FORMATS), "table")
        minimum = _rating(severity)
        policies = load_policies(policy)
        accept_file = accept or (DEFAULT_ACCEPT if DEFAULT_ACCEPT.is_file() else None)
        acceptances = () if accept_file is None else load_acceptances(accept_file)
        access = ImageAccess(
            cachepath, no_cache, platform, insecure_registry, skip_tls_verify, quiet
        )
        with reading_image(access) as (options, bar):
            result = run_scan(
                image, options, dbpath or default_db_path(), bar.layer_done, bar.opened
            )
        evaluation = evaluate(result, policies, acceptances, datetime.now(UTC).date())
        result = replace(result, policy=evaluation)
        shown = displayed(result, minimum, only_fixed)
        for spec in specs:
            formatter = scan_formatter_for(spec.format, to_file=spec.path is not None)
            write_output(
                spec, formatter.render_scan(shown if spec.format in DISPLAY_FILTERED else result)
            )
        _append_step_summary(shown)
        return evaluation.passed

    if not guarded(body):
        raise typer.Exit(1)


def _rating(value: str | None) -> SeverityRating | None:
    if value is None:
        return None
    try:
        return SeverityRating(value.strip().lower())
    except ValueError:
        raise UsageError(f"--severity {value!r}: choose from {LEVELS}") from None


def _append_step_summary(result: ScanResult) -> None:
    """Append the Markdown summary to GitHub's step summary file; failing that only warns."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    text = scan_formatter_for("markdown", to_file=True).render_scan(result)
    try:
        with open(target, "a", encoding="utf-8") as summary:
            summary.write(text)
    except OSError as exc:
        typer.echo(
            f"warning: cannot append to GITHUB_STEP_SUMMARY {target}: {exc.strerror}", err=True
        )
