"""The top-level command loads a command group's module only when that group is used."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import typer
import typer.main

from mamori.cli.main import COMMAND_MODULES

LOADED = """
import json, sys
from mamori.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("mamori.cli.", "httpx")))))
"""


def _loaded_by(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED, *args], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout.splitlines()[-1])
    return loaded


def test_each_module_registers_the_command_the_table_names() -> None:
    for name, module in COMMAND_MODULES.items():
        holder = typer.Typer()
        importlib.import_module(module).register(holder)
        assert list(typer.main.get_group(holder).commands) == [name]


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _loaded_by("agent", "run", "--help")
    assert "mamori.cli.agent" in loaded
    for other in ("mamori.cli.scan", "mamori.cli.sbom", "mamori.cli.db", "mamori.cli.server"):
        assert other not in loaded
    assert "httpx" not in loaded


def test_top_level_help_lists_every_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mamori.cli", "--help"], capture_output=True, text=True, check=True
    )
    lines = result.stdout.split("Commands:")[1].strip().splitlines()
    assert [line.split()[0] for line in lines] == list(COMMAND_MODULES)
    assert set(_loaded_by("--help")) >= set(COMMAND_MODULES.values())
