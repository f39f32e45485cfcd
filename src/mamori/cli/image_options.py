"""The options of the commands that read an image (`sbom`, `scan`), defined once.

Typer takes options as parameter defaults, so each command still lists the parameters; their
definitions, and turning them into InventoryOptions with a progress display, live here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from mamori.cli.progress import LayerBar, layer_progress
from mamori.image.layer_cache import default_cache_root
from mamori.image.platform import default_platform, parse_platform
from mamori.inventory import InventoryOptions

IMAGE_HELP = """Without a prefix it is auto-detected (an existing path is an archive, OCI
layout or directory; anything else a registry reference). Prefixes: registry:/pull://
HOST/REPO[:TAG][@DIGEST], docker-archive:PATH[:NAME:TAG], oci-archive:PATH[:REF],
oci:DIR[:REF], dir:PATH, docker://NAME, podman://NAME, file://PATH."""


def image_argument(purpose: str) -> Any:
    return typer.Argument(
        ..., help=f"Image to {purpose}. {IMAGE_HELP}", show_default=False, metavar="IMAGE"
    )


def output_option(formats: Iterable[str]) -> Any:
    return typer.Option(
        [],
        "--output",
        "-o",
        help=(
            "FORMAT[=PATH], repeatable. Formats: "
            + ", ".join(formats)
            + ". Without a path the format goes to standard output. Default: table."
        ),
        metavar="FORMAT[=PATH]",
    )


def cachepath_option() -> Any:
    return typer.Option(
        None,
        "--cachepath",
        help="Cache directory (default: $MAMORI_CACHE_DIR or the XDG cache dir).",
        metavar="DIR",
        envvar="MAMORI_CACHE_DIR",
        show_default=False,
    )


def no_cache_option() -> Any:
    return typer.Option(False, "--no-cache", help="Analyse every layer afresh.")


def platform_option() -> Any:
    return typer.Option(
        "",
        "--platform",
        metavar="OS/ARCH",
        help=f"OS/ARCH[/VARIANT] to pick from a multi-platform image "
        f"(default {default_platform()}).",
        show_default=False,
    )


def insecure_registry_option() -> Any:
    return typer.Option(
        False, "--insecure-registry", help="Allow plain HTTP to a non-loopback registry."
    )


def skip_tls_verify_option() -> Any:
    return typer.Option(
        False, "--skiptlsverify", help="Do not verify the registry's TLS certificate."
    )


def quiet_option() -> Any:
    return typer.Option(False, "--quiet", "-q", help="No progress display.")


@dataclass(frozen=True)
class ImageAccess:
    """How to read the image, as given on the command line."""

    cachepath: Path | None
    no_cache: bool
    platform: str
    insecure_registry: bool
    skip_tls_verify: bool
    quiet: bool


@contextmanager
def reading_image(access: ImageAccess) -> Iterator[tuple[InventoryOptions, LayerBar]]:
    """The inventory options, and the progress display (on stderr) while inside."""
    platform = parse_platform(access.platform) if access.platform else default_platform()
    with layer_progress(not access.quiet) as bar:
        yield (
            InventoryOptions(
                cache_root=access.cachepath or default_cache_root(),
                use_cache=not access.no_cache,
                platform=platform,
                insecure_registry=access.insecure_registry,
                skip_tls_verify=access.skip_tls_verify,
                on_download=bar.downloaded,
            ),
            bar,
        )
