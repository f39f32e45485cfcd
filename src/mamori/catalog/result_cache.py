"""Whole-image catalog results, cached by image config digest and catalog version.

The config digest names the exact layer chain (its diff_ids) and the catalog version names
the exact code that read them, so the packages found are fully determined by the pair: a
repeat inventory of the same image loads one small file instead of rebuilding the squashed
view. Stored beside the layer cache, written atomically like it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from mamori.image.digest import parse_digest
from mamori.model import Location, OSRelease, Package, PackageType

FORMAT = 1


def _entry(root: Path, config_digest: str, version: str) -> Path:
    algorithm, hexdigest = parse_digest(config_digest)
    return root / "images" / f"v{FORMAT}-{version}" / f"{algorithm}-{hexdigest}.json"


def load(
    root: Path, config_digest: str, version: str
) -> tuple[OSRelease | None, list[Package], list[str]] | None:
    try:
        raw = orjson.loads(_entry(root, config_digest, version).read_bytes())
        os_release = (
            OSRelease(**{**raw["os"], "id_like": tuple(raw["os"]["id_like"])})
            if raw["os"]
            else None
        )
        packages = [_package(p) for p in raw["packages"]]
        return os_release, packages, list(raw["warnings"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # damaged: recomputed and overwritten


def store(
    root: Path,
    config_digest: str,
    version: str,
    os_release: OSRelease | None,
    packages: list[Package],
    warnings: list[str],
) -> None:
    target = _entry(root, config_digest, version)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = orjson.dumps({"os": os_release, "packages": packages, "warnings": warnings})
    handle, partial = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(partial, target)


def _package(raw: dict[str, Any]) -> Package:
    return Package(
        name=raw["name"],
        version=raw["version"],
        type=PackageType(raw["type"]),
        purl=raw["purl"],
        cataloger=raw["cataloger"],
        locations=tuple(Location(**loc) for loc in raw["locations"]),
        source_name=raw["source_name"],
        source_version=raw["source_version"],
        arch=raw["arch"],
        licenses=tuple(raw["licenses"]),
        ecosystem=raw["ecosystem"],
        metadata=tuple((k, v) for k, v in raw["metadata"]),
    )
