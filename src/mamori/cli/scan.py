"""`mamori scan IMAGE`: the image's packages matched against the local vulnerability database,
judged by policies: the CI gate."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
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
)
from mamori.cli.outputs import parse_outputs, write_output
from mamori.client.api import DEFAULT_TIMEOUT, ApiSettings
from mamori.errors import UsageError
from mamori.model import Acceptance, ScanResult, SeverityRating
from mamori.report import SCAN_FORMATS, scan_formatter_for
from mamori.report.selection import DISPLAY_FILTERED, displayed

DEFAULT_ACCEPT = Path(".mamori", "accept.yaml")
TOKEN_VARIABLES = ("MAMORI_API_TOKEN", "SECURE_API_TOKEN")  # the second: the commercial CLI's
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
            "acceptance file), 3 any other error (no database, image unreadable; an upload "
            "that failed with --upload-required). With --apiurl (or MAMORI_API_URL) and a "
            "token in MAMORI_API_TOKEN or SECURE_API_TOKEN, the server's risk acceptances "
            "apply too and the result is uploaded; a failed upload only warns."
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
    skip_tls_verify: bool = typer.Option(
        False,
        "--skiptlsverify",
        help="Do not verify TLS certificates: the registry's and the mamori server's.",
    ),
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
    apiurl: str | None = typer.Option(
        None,
        "--apiurl",
        envvar="MAMORI_API_URL",
        help="The mamori server: its risk acceptances apply and the result is uploaded to "
        "it. The token comes from MAMORI_API_TOKEN, else SECURE_API_TOKEN.",
        metavar="URL",
    ),
    api_token_file: Path | None = typer.Option(
        None,
        "--api-token-file",
        help="Read the API token from FILE instead of the environment.",
        metavar="FILE",
    ),
    api_timeout: float = typer.Option(
        DEFAULT_TIMEOUT,
        "--api-timeout",
        min=0.1,
        help="Seconds to wait for the server (connecting, and each answer).",
        metavar="SECONDS",
    ),
    skipupload: bool = typer.Option(
        False,
        "--skipupload",
        "--standalone",
        help="No server contact at all: neither its acceptances nor the upload.",
    ),
    upload_required: bool = typer.Option(
        False,
        "--upload-required",
        help="A failed upload ends the scan with exit code 3 (after the reports are written).",
    ),
    console_log: bool = typer.Option(
        False,
        "--console-log",
        help="Log each step (image, database, policy, acceptances, upload) to standard error "
        "as timestamped lines.",
    ),
) -> None:
    def body() -> int:
        from mamori.policy.acceptances import load_acceptances
        from mamori.policy.evaluate import evaluate
        from mamori.policy.loader import load_policies
        from mamori.scan import ci_context, run_scan

        log = ConsoleLog(console_log)
        specs = parse_outputs(output, tuple(SCAN_FORMATS), "table")
        minimum = _rating(severity)
        server = _server(
            apiurl, api_token_file, skip_tls_verify, api_timeout, skipupload, upload_required, log
        )
        policies = load_policies(policy)
        log(f"policy: {', '.join(f'{p.name} ({p.source})' for p in policies)}")
        accept_file = accept or (DEFAULT_ACCEPT if DEFAULT_ACCEPT.is_file() else None)
        acceptances = () if accept_file is None else load_acceptances(accept_file)
        if accept_file is not None:
            log(f"acceptances: {len(acceptances)} from {accept_file}")
        access = ImageAccess(
            cachepath, no_cache, platform, insecure_registry, skip_tls_verify, quiet
        )
        dbpath_used = dbpath or default_db_path()
        log(f"database: {dbpath_used}; reading image {image}")
        with reading_image(access) as (options, bar):
            result = run_scan(image, options, dbpath_used, bar.layer_done, bar.opened)
        inventory = result.inventory
        log(
            f"image read: {inventory.image.digest or inventory.image.reference}, "
            f"{len(inventory.packages)} packages; database built {result.db.built_at} "
            f"({result.db.advisories} advisories): {len(result.findings)} findings"
        )
        if server is not None:
            acceptances = (*acceptances, *_server_acceptances(server, image, log))
        evaluation = evaluate(result, policies, acceptances, datetime.now(UTC).date())
        result = replace(result, policy=evaluation, ci=ci_context(os.environ))
        log(f"policy {'passed' if evaluation.passed else 'FAILED'}")
        shown = displayed(result, minimum, only_fixed)
        for spec in specs:
            formatter = scan_formatter_for(spec.format, to_file=spec.path is not None)
            write_output(
                spec, formatter.render_scan(shown if spec.format in DISPLAY_FILTERED else result)
            )
        _append_step_summary(shown)
        verdict = 0 if evaluation.passed else 1
        if server is None:
            return verdict
        uploaded = _upload(server, result, log)
        if not uploaded and upload_required:
            typer.echo("error: the upload failed and --upload-required is set", err=True)
            return 3
        return verdict

    code = guarded(body)
    if code:
        raise typer.Exit(code)


@dataclass(frozen=True)
class ConsoleLog:
    """--console-log: one timestamped line per step on standard error."""

    enabled: bool

    def __call__(self, message: str) -> None:
        if self.enabled:
            moment = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            print(f"{moment} {message}", file=sys.stderr, flush=True)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def _server(
    apiurl: str | None,
    token_file: Path | None,
    skip_tls_verify: bool,
    timeout: float,
    skipupload: bool,
    upload_required: bool,
    log: ConsoleLog,
) -> ApiSettings | None:
    """The server to talk to, if any. Raises UsageError when --upload-required cannot be met."""
    if skipupload:
        reason = "--skipupload / --standalone: no server contact"
    elif not apiurl:
        reason = "no --apiurl or MAMORI_API_URL: nothing is uploaded"
    else:
        token = _token(token_file)
        settings = ApiSettings(apiurl, token, verify_tls=not skip_tls_verify, timeout=timeout)
        if token:
            log(f"server: {settings.url}")
            return settings
        reason = f"no API token in {' or '.join(TOKEN_VARIABLES)}"
        if not upload_required:
            warn(f"{reason}: not uploading, and the server's acceptances do not apply")
    if upload_required:
        raise UsageError(f"--upload-required: {reason}")
    log(f"server: none ({reason})")
    return None


def _token(token_file: Path | None) -> str:
    if token_file is None:
        return next((os.environ[name] for name in TOKEN_VARIABLES if os.environ.get(name)), "")
    try:
        token = token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"--api-token-file {token_file}: {detail}") from None
    if not token:
        raise UsageError(f"--api-token-file {token_file}: the file is empty")
    return token


def _server_acceptances(server: ApiSettings, image: str, log: ConsoleLog) -> tuple[Acceptance, ...]:
    """The server's acceptances for `image`; when they cannot be fetched, a warning and none
    (the verdict can only get stricter)."""
    from mamori.client.api import ApiError, fetch_acceptances

    try:
        fetched = fetch_acceptances(server, image)
    except ApiError as exc:
        warn(f"the server's risk acceptances were not applied: {exc.message}")
        return ()
    for message in fetched.warnings:
        warn(message)
    log(f"acceptances: {len(fetched.acceptances)} from the server")
    return fetched.acceptances


def _upload(server: ApiSettings, result: ScanResult, log: ConsoleLog) -> bool:
    from mamori.client.api import ApiError, upload_scan
    from mamori.schema import dump_document, scan_document

    document = dump_document(scan_document(result))
    log(f"uploading the result ({len(document)} bytes)")
    try:
        uploaded = upload_scan(server, document)
    except ApiError as exc:
        warn(f"the upload failed, the verdict stands: {exc.message}")
        return False
    again = "" if uploaded.created else " (uploaded before: the same result)"
    typer.echo(f"uploaded: {uploaded.url}{again}", err=True)
    return True


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
