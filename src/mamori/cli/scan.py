"""`mamori scan IMAGE`: the image's packages matched against the local vulnerability database,
judged by policies: the CI gate."""

from __future__ import annotations

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
from mamori.report import SCAN_FORMATS, scan_formatter_for

DEFAULT_ACCEPT = Path(".mamori", "accept.yaml")


def register(app: typer.Typer) -> None:
    app.command(
        "scan",
        help=(
            "Inventory an image and match its packages against the local vulnerability "
            "database (see `mamori db`): OS packages by source package and distribution "
            "release, language packages by name in their ecosystem, then judges the findings "
            "and the image's configuration by policies, with risk acceptances applied. Reports "
            "every finding with its severity and the version that fixes it, and every rule's "
            "verdict: a table, native JSON, CycloneDX with vulnerabilities, or SPDX (the SBOM "
            "alone). Exit codes: 0 the policy passed, 1 the policy failed, 2 bad parameters "
            "(unknown policy, invalid policy or acceptance file), 3 any other error (no "
            "database, image unreadable)."
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
) -> None:
    def body() -> bool:
        from mamori.policy.acceptances import load_acceptances
        from mamori.policy.evaluate import evaluate
        from mamori.policy.loader import load_policies
        from mamori.scan import run_scan

        specs = parse_outputs(output, tuple(SCAN_FORMATS), "table")
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
        for spec in specs:
            formatter = scan_formatter_for(spec.format, to_file=spec.path is not None)
            write_output(spec, formatter.render_scan(result))
        return evaluation.passed

    if not guarded(body):
        raise typer.Exit(1)
