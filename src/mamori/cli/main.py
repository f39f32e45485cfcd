"""The `mamori` command."""

from __future__ import annotations

import typer

from mamori import __version__
from mamori.cli import agent, db, demo, rules, sbom, scan
from mamori.cli import server as server_cli

app = typer.Typer(
    name="mamori",
    help=(
        "Self-hosted container security: inventory and gate images in CI, "
        "see results in a console, detect attacks at runtime."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
)
sbom.register(app)
scan.register(app)
db.register(app)
demo.register(app)
rules.register(app)
agent.register(app)
server_cli.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mamori {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """mamori: protection for containers, from CI to runtime."""


def run() -> None:
    app()
