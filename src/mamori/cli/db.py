"""`mamori db update | import | status`: the local vulnerability database (OSV → SQLite)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from mamori.cli.errors import guarded
from mamori.errors import UsageError
from mamori.image.layer_cache import default_cache_root
from mamori.vulndb.build import Progress, no_progress
from mamori.vulndb.names import DEFAULT_ECOSYSTEMS, canonical_ecosystem

DBPATH_ENV = "MAMORI_DB_PATH"


def default_db_path() -> Path:
    """`db/` under the cache root ($MAMORI_CACHE_DIR, else $XDG_CACHE_HOME/mamori)."""
    return default_cache_root() / "db"


def dbpath_option(*, writes: bool = True) -> Any:
    """`--dbpath`; `writes`: the command creates the folder when missing."""
    return typer.Option(
        None,
        "--dbpath",
        metavar="DIR",
        envvar=DBPATH_ENV,
        show_default=False,
        help=f"Folder holding the database and its metadata (default: ${DBPATH_ENV}, "
        "else $XDG_CACHE_HOME/mamori/db)." + (" Created when missing." if writes else ""),
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        name="db",
        help="The local vulnerability database, built from OSV data.",
        no_args_is_help=True,
    )
    group.command(
        "update",
        help=(
            "Download the OSV export (<source>/<Ecosystem>/all.zip) of each ecosystem and "
            "rebuild the database. Unchanged exports are not downloaded again (ETag / "
            "Last-Modified). Each downloaded ecosystem replaces that ecosystem's previous "
            "content; everything else (other ecosystems, imports) is kept. An ecosystem that "
            "cannot be downloaded keeps its previous content, with a warning. The new database "
            "replaces the old one only when complete. Exit codes: 0 done, 2 bad parameters, "
            "3 nothing could be downloaded or any other error."
        ),
    )(update)
    group.command(
        "import",
        help=(
            "Import OSV JSON from zips (like the all.zip exports), folders or single files: "
            "the offline path. By default the imported advisories are added to the database, "
            "replacing advisories with the same id; everything else is kept. With --replace "
            "the database holds the given files only. Records that cannot be used are skipped "
            "and counted. Exit codes: 0 done, 2 bad parameters, 3 nothing importable or any "
            "other error (the database is then unchanged)."
        ),
    )(import_)
    group.command(
        "status",
        help=(
            "Show when the database was built and last checked, its sources and its counts per "
            "ecosystem, with a warning when it is older than --max-age. Exit codes: 0 done "
            "(also when old), 3 no usable database."
        ),
    )(status)
    app.add_typer(group)


def update(
    source: str = typer.Option(
        "",
        "--source",
        metavar="URL",
        envvar="MAMORI_DB_SOURCE",
        show_default=False,
        help="Base URL of the OSV exports, e.g. a mirror (default: the OSV project's bucket).",
    ),
    ecosystem: list[str] = typer.Option(
        [],
        "--ecosystem",
        "-e",
        metavar="NAME",
        help="Ecosystem to fetch, repeatable (default: " + ", ".join(DEFAULT_ECOSYSTEMS) + ").",
    ),
    dbpath: Path | None = dbpath_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    def body() -> None:
        from mamori.vulndb.layout import DbDir
        from mamori.vulndb.update import DEFAULT_SOURCE, update_database

        chosen = _ecosystems(ecosystem)
        base = source or DEFAULT_SOURCE
        if not base.startswith(("http://", "https://")):
            raise UsageError(f"--source {base!r}: expected an http:// or https:// URL")
        with _progress(not quiet) as progress:
            result = update_database(
                DbDir(dbpath or default_db_path()), base, chosen, progress=progress
            )
        for fetched in result.fetched:
            if fetched.status == "failed":
                note = "kept its previous content" if fetched.zip else "not updated"
                _warn(f"{fetched.ecosystem}: {fetched.error} ({note})")
        if result.stats is not None:
            for line in result.stats.warnings():
                _warn(line)
        typer.echo(result.summary())

    guarded(body)


def import_(
    paths: list[Path] = typer.Argument(
        ..., metavar="PATH", help="Zips, folders or files of OSV JSON.", show_default=False
    ),
    replace: bool = typer.Option(
        False, "--replace", help="Build the database from the given files only."
    ),
    dbpath: Path | None = dbpath_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    def body() -> None:
        from mamori.vulndb.build import import_paths
        from mamori.vulndb.layout import DbDir

        folder = DbDir(dbpath or default_db_path())
        with _progress(not quiet) as progress:
            stats, _ = import_paths(folder, paths, replace_all=replace, progress=progress)
        for line in stats.warnings():
            _warn(line)
        typer.echo(stats.summary())

    guarded(body)


def status(
    dbpath: Path | None = dbpath_option(writes=False),
    max_age: float = typer.Option(
        24.0, "--max-age", metavar="HOURS", help="Warn when the data is older than this."
    ),
) -> None:
    def body() -> None:
        from mamori.vulndb.status import database_status

        if max_age <= 0:
            raise UsageError("--max-age must be a positive number of hours")
        report = database_status(dbpath or default_db_path(), max_age)
        for line in report.lines:
            typer.echo(line)
        if report.warning:
            _warn(report.warning)

    guarded(body)


def _ecosystems(values: list[str]) -> list[str]:
    chosen: list[str] = []
    for value in values or DEFAULT_ECOSYSTEMS:
        name = canonical_ecosystem(value)
        if name is None:
            raise UsageError(f"unknown ecosystem {value!r} (OSV names, e.g. Debian, npm, PyPI)")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _warn(line: str) -> None:
    typer.echo(f"warning: {line}", err=True)


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress]:
    """Bars on stderr, one per download or import, only when stderr is a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield no_progress
        return
    from rich.console import Console
    from rich.progress import BarColumn, TaskID, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bars

    bars = Bars(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[amount]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report(name: str, done: int, total: int) -> None:
        if name.startswith("download"):
            amount = f"{done / 1048576:.1f}" + (f"/{total / 1048576:.1f}" if total else "") + " MiB"
        else:
            amount = f"{done}/{total} records"
        task = tasks.get(name)
        if task is None:
            task = tasks[name] = bars.add_task(name, total=total or None, amount=amount)
        bars.update(task, completed=done, total=total or None, amount=amount)

    with bars:
        yield report
