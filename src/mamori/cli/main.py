"""The `mamori` command.

Each command group lives in its own module, imported only when the group is looked up:
`mamori agent run` does not pay for the scanner's, the database's or the server's imports
(about a second on a loaded machine before the app starts). `mamori --help` looks up every
group, so it stays complete.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
import typer.core
import typer.main

from mamori import __version__

#: Each top-level command and the module whose `register(app)` defines it, in help order
#: (typer's: single commands before groups).
COMMAND_MODULES = {
    "sbom": "mamori.cli.sbom",
    "scan": "mamori.cli.scan",
    "demo": "mamori.cli.demo",
    "db": "mamori.cli.db",
    "rules": "mamori.cli.rules",
    "agent": "mamori.cli.agent",
    "server": "mamori.cli.server",
}
#: Settings the click commands are built with (the same for `app` and every module's).
_BUILD: dict[str, Any] = {
    "add_completion": False,
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
}


class _LazyCommands(MutableMapping[str, Any]):  # Any: a click.Command (typer may bundle click)
    """The top-level commands by name; each built from its module on first look-up."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            holder = typer.Typer(**_BUILD)
            importlib.import_module(COMMAND_MODULES[name]).register(holder)
            self._built[name] = typer.main.get_group(holder).commands[name]
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError("mamori's commands are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMAND_MODULES, *self._built]))

    def __len__(self) -> int:
        return len(COMMAND_MODULES.keys() | self._built.keys())


class _LazyGroup(typer.core.TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()


app = typer.Typer(
    name="mamori",
    help=(
        "Self-hosted container security: inventory and gate images in CI, "
        "see results in a console, detect attacks at runtime."
    ),
    cls=_LazyGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    **_BUILD,
)


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
