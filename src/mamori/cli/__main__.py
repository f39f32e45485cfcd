"""`python -m mamori.cli` runs the `mamori` command."""

from mamori.cli.main import run

run()
