"""`mamori sbom IMAGE`: what is in an image, as a table, native JSON, CycloneDX or SPDX."""

from __future__ import annotations

from pathlib import Path

import typer

from mamori.cli.errors import guarded
from mamori.cli.outputs import parse_outputs, write_output
from mamori.cli.progress import layer_progress
from mamori.image.layer_cache import default_cache_root
from mamori.image.platform import default_platform, parse_platform
from mamori.inventory import InventoryOptions, take_inventory
from mamori.report import INVENTORY_FORMATS, formatter_for

IMAGE_HELP = """Image to inventory. Without a prefix it is auto-detected (an existing path is an
archive, OCI layout or directory; anything else a registry reference). Prefixes:
registry:/pull:// HOST/REPO[:TAG][@DIGEST], docker-archive:PATH[:NAME:TAG],
oci-archive:PATH[:REF], oci:DIR[:REF], dir:PATH, docker://NAME, podman://NAME, file://PATH."""


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
    image: str = typer.Argument(..., help=IMAGE_HELP, show_default=False, metavar="IMAGE"),
    output: list[str] = typer.Option(
        [],
        "--output",
        "-o",
        help=(
            "FORMAT[=PATH], repeatable. Formats: "
            + ", ".join(INVENTORY_FORMATS)
            + ". Without a path the format goes to standard output. Default: table."
        ),
        metavar="FORMAT[=PATH]",
    ),
    cachepath: Path | None = typer.Option(
        None,
        "--cachepath",
        help="Cache directory (default: $MAMORI_CACHE_DIR or the XDG cache dir).",
        metavar="DIR",
        envvar="MAMORI_CACHE_DIR",
        show_default=False,
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Analyse every layer afresh."),
    platform: str = typer.Option(
        "",
        "--platform",
        metavar="OS/ARCH",
        help=f"OS/ARCH[/VARIANT] to pick from a multi-platform image "
        f"(default {default_platform()}).",
        show_default=False,
    ),
    insecure_registry: bool = typer.Option(
        False, "--insecure-registry", help="Allow plain HTTP to a non-loopback registry."
    ),
    skip_tls_verify: bool = typer.Option(
        False, "--skiptlsverify", help="Do not verify the registry's TLS certificate."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    def body() -> None:
        specs = parse_outputs(output, tuple(INVENTORY_FORMATS), "table")
        chosen_platform = parse_platform(platform) if platform else default_platform()
        with layer_progress(not quiet) as bar:
            options = InventoryOptions(
                cache_root=cachepath or default_cache_root(),
                use_cache=not no_cache,
                platform=chosen_platform,
                insecure_registry=insecure_registry,
                skip_tls_verify=skip_tls_verify,
                on_download=bar.downloaded,
            )
            inventory = take_inventory(image, options, bar.layer_done, bar.opened)
        for spec in specs:
            formatter = formatter_for(spec.format, to_file=spec.path is not None)
            write_output(spec, formatter.render(inventory))

    guarded(body)
