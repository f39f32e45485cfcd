"""`mamori demo`: the reference workflow offline — a vulnerable image fails the default
policy, the fixed one passes, and the counts drop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import typer

from mamori.cli.errors import guarded
from mamori.cli.outputs import OutputSpec, write_output
from mamori.model import ScanResult, SeverityRating
from mamori.report import scan_formatter_for


def register(app: typer.Typer) -> None:
    app.command(
        "demo",
        help="Build two demo images offline (vulnerable and fixed), scan both against a demo "
        "snapshot of real advisories with the default policy and compare them; then start a "
        "local console on 127.0.0.1 (port 8080 when free), upload both scans and keep it "
        "running until Ctrl-C. Everything is written to --workdir; the real database is not "
        "touched.",
    )(demo)


def demo(
    workdir: Path = typer.Option(
        Path(".demo"),
        "--workdir",
        help="Where the images, the demo database, reports and the console's data go.",
    ),
    no_console: bool = typer.Option(
        False, "--no-console", help="Stop after the comparison: no console, no uploads."
    ),
) -> None:
    def body() -> None:
        # Imported here: every `mamori` command imports this module, and these are heavy.
        from mamori.demo.image import build_story_images
        from mamori.image.layer_cache import default_cache_root
        from mamori.inventory import InventoryOptions
        from mamori.policy.evaluate import evaluate
        from mamori.policy.loader import load_policies
        from mamori.scan import run_scan
        from mamori.vulndb.build import import_paths
        from mamori.vulndb.layout import DbDir

        archives = build_story_images(workdir)
        dbpath = workdir / "db"
        with resources.as_file(resources.files("mamori.demo") / "advisories") as snapshot:
            stats, _ = import_paths(DbDir(dbpath), [snapshot], replace_all=True)
        typer.echo(f"demo database (a snapshot, not a real one): {dbpath}: {stats.summary()}")
        policies = load_policies(["default"])
        options = InventoryOptions(cache_root=default_cache_root())
        results = {}
        for name, archive in archives.items():
            typer.echo(f"\n$ mamori scan --dbpath {dbpath} oci-archive:{archive}")
            result = run_scan(f"oci-archive:{archive}", options, dbpath)
            evaluation = evaluate(result, policies, (), datetime.now(UTC).date())
            results[name] = replace(result, policy=evaluation)
            write_output(OutputSpec("table", None), _render("table", results[name]))
            report = workdir / f"{name}.json"
            write_output(OutputSpec("json", report), _render("json", results[name]))
        typer.echo("\n" + comparison(results))
        if not no_console:
            show_in_console(workdir / "console", results)

    guarded(body)


def show_in_console(data_dir: Path, results: dict[str, ScanResult]) -> None:
    """Start a local console, upload the scans in order, print where to look, serve until
    Ctrl-C."""
    from mamori.demo.console import (
        ADMIN,
        free_port,
        running_console,
        serve_until_interrupted,
        upload_result,
    )

    typer.echo(f"\nStarting a local console (data in {data_dir}) ...")
    with running_console(data_dir, free_port()) as (console, token):
        ids = {name: upload_result(console, token, result) for name, result in results.items()}
        typer.echo(
            f"\nConsole: {console.url}/  user {ADMIN}, password {console.password}\n"
            "  (generated for this run and shown only here; the next run starts afresh)\n"
            f"  pipeline scans  {console.url}/\n"
            f"  compare         {console.url}/scans/{ids['fixed']}/compare"
            f"?base={ids['vulnerable']}  (fixed against vulnerable)\n"
            f"  API             {console.url}/docs\n"
            f"Server pid {console.process.pid}, log {console.log}. "
            "Press Ctrl-C to stop the console."
        )
        serve_until_interrupted(console)
    typer.echo("\nConsole stopped.")


def _render(format_name: str, result: ScanResult) -> str:
    return scan_formatter_for(format_name, to_file=format_name != "table").render_scan(result)


def comparison(results: dict[str, ScanResult]) -> str:
    """The images side by side: verdict, findings per severity, fixable, packages."""
    names = list(results)
    rows: list[tuple[str, ...]] = [("", *names)]
    rows.append(("policy", *(_verdict(r) for r in results.values())))
    for rating in SeverityRating:
        counts = [sum(f.severity.rating is rating for f in r.findings) for r in results.values()]
        if any(counts):
            rows.append((rating.value, *map(str, counts)))
    rows.append(("findings", *(str(len(r.findings)) for r in results.values())))
    rows.append(
        (
            "fixable",
            *(str(sum(bool(f.fixed_version) for f in r.findings)) for r in results.values()),
        )
    )
    rows.append(("packages", *(str(len(r.inventory.packages)) for r in results.values())))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    story = ", ".join(f"the {name} image {_verdict(r)}" for name, r in results.items())
    return "\n".join([*lines, "", story[0].upper() + story[1:] + "."])


def _verdict(result: ScanResult) -> str:
    return "PASSED" if result.policy is not None and result.policy.passed else "FAILED"
