"""`mamori demo`: build the demo image offline and show what mamori finds in it."""

from __future__ import annotations

from pathlib import Path

import typer

from mamori.cli.errors import guarded
from mamori.cli.outputs import OutputSpec, write_output
from mamori.demo.image import build_demo_image
from mamori.image.layer_cache import default_cache_root
from mamori.inventory import InventoryOptions, take_inventory
from mamori.report import formatter_for


def register(app: typer.Typer) -> None:
    app.command("demo", help="Build a small demo image offline and print its inventory.")(demo)


def demo(
    workdir: Path = typer.Option(
        Path(".demo"), "--workdir", help="Where the demo image archive is written."
    ),
) -> None:
    def body() -> None:
        archive = build_demo_image(workdir / "demo-image.tar")
        typer.echo(f"built the demo image: {archive}", err=True)
        typer.echo(f"$ mamori sbom oci-archive:{archive}", err=True)
        inventory = take_inventory(
            f"oci-archive:{archive}", InventoryOptions(cache_root=default_cache_root())
        )
        write_output(OutputSpec("table", None), formatter_for("table").render(inventory))

    guarded(body)
