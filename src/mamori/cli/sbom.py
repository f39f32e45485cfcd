"""`mamori sbom IMAGE`: what is in an image, as a table, native JSON, CycloneDX or SPDX."""

from __future__ import annotations

from pathlib import Path

import typer

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
from mamori.inventory import take_inventory
from mamori.report import INVENTORY_FORMATS, formatter_for


def register(app: typer.Typer) -> None:
    app.command(
        "sbom",
        help=(
            "List every package in an image (OS packages, npm, Python, Go modules and runtimes "
            "found as binaries), each with the layer that brought it. Exit codes: 0 done, "
            "2 bad parameters, 3 any other error."
        ),
    )(sbom)


def sbom(
    image: str = image_argument("inventory"),
    output: list[str] = output_option(INVENTORY_FORMATS),
    cachepath: Path | None = cachepath_option(),
    no_cache: bool = no_cache_option(),
    platform: str = platform_option(),
    insecure_registry: bool = insecure_registry_option(),
    skip_tls_verify: bool = skip_tls_verify_option(),
    quiet: bool = quiet_option(),
) -> None:
    def body() -> None:
        specs = parse_outputs(output, tuple(INVENTORY_FORMATS), "table")
        access = ImageAccess(
            cachepath, no_cache, platform, insecure_registry, skip_tls_verify, quiet
        )
        with reading_image(access) as (options, bar):
            inventory = take_inventory(image, options, bar.layer_done, bar.opened)
        for spec in specs:
            formatter = formatter_for(spec.format, to_file=spec.path is not None)
            write_output(spec, formatter.render(inventory))

    guarded(body)
