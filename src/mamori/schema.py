"""The native scan result on the wire: `mamori.scan/v1` as pydantic models.

The models mirror `mamori.model`; `scan_result_from_inventory` fills the inventory part and
`dump_scan_result` serialises it with sorted keys so that the same inventory always gives the
same bytes. Findings and policy belong to later stages: they are present (empty list / null)
and typed loosely until those stages define them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from mamori import __version__
from mamori.errors import MamoriError
from mamori.model import Inventory, Package

SCHEMA_ID: Final = "mamori.scan/v1"
SCANNER_NAME = "mamori"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScannerV1(_Wire):
    name: str
    version: str


class OSReleaseV1(_Wire):
    id: str
    version_id: str
    pretty_name: str
    version_codename: str
    id_like: list[str]
    distroless: bool


class HistoryEntryV1(_Wire):
    created: str
    created_by: str
    empty_layer: bool
    comment: str


class ImageConfigV1(_Wire):
    architecture: str
    os: str
    variant: str
    user: str
    entrypoint: list[str]
    cmd: list[str]
    working_dir: str
    env_names: list[str]  # names only: values may be secrets and are never read
    exposed_ports: list[str]
    labels: dict[str, str]
    created: str
    history: list[HistoryEntryV1]
    healthcheck: list[str]
    stop_signal: str


class LayerV1(_Wire):
    index: int
    digest: str
    diff_id: str
    media_type: str
    size: int
    created_by: str


class ImageV1(_Wire):
    reference: str
    source: str
    digest: str
    config_digest: str
    repo_tags: list[str]
    repo_digests: list[str]
    size: int
    os: OSReleaseV1 | None
    config: ImageConfigV1
    layers: list[LayerV1]


class LocationV1(_Wire):
    path: str
    layer_index: int
    layer_diff_id: str


class PackageV1(_Wire):
    name: str
    version: str
    type: str
    purl: str
    cataloger: str
    ecosystem: str
    source_name: str
    source_version: str
    arch: str
    licenses: list[str]
    metadata: dict[str, str]
    locations: list[LocationV1]


class ScanResultV1(_Wire):
    schema_id: Literal["mamori.scan/v1"] = Field(default=SCHEMA_ID, alias="schema")
    scanner: ScannerV1
    created_at: str
    image: ImageV1
    packages: list[PackageV1]
    warnings: list[str]
    findings: list[dict[str, Any]] = Field(default_factory=list)
    policy: dict[str, Any] | None = None


def scanner_version(inventory: Inventory) -> str:
    return inventory.scanner_version or __version__


def inventory_time(inventory: Inventory) -> datetime:
    """When the inventory was taken (UTC, whole seconds); now when the inventory does not say."""
    if not inventory.created_at:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        moment = datetime.fromisoformat(inventory.created_at)
    except ValueError:
        raise MamoriError(f"invalid inventory timestamp {inventory.created_at!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_result_from_inventory(inventory: Inventory) -> ScanResultV1:
    """The inventory part of a scan result; packages in `Package.sort_key` order."""
    image = inventory.image
    config = image.config
    os_release = inventory.os
    document: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "scanner": {"name": SCANNER_NAME, "version": scanner_version(inventory)},
        "created_at": rfc3339(inventory_time(inventory)),
        "image": {
            "reference": image.reference,
            "source": image.source,
            "digest": image.digest,
            "config_digest": image.config_digest,
            "repo_tags": image.repo_tags,
            "repo_digests": image.repo_digests,
            "size": image.size,
            "os": None
            if os_release is None
            else {
                "id": os_release.id,
                "version_id": os_release.version_id,
                "pretty_name": os_release.pretty_name,
                "version_codename": os_release.version_codename,
                "id_like": os_release.id_like,
                "distroless": os_release.distroless,
            },
            "config": {
                "architecture": config.architecture,
                "os": config.os,
                "variant": config.variant,
                "user": config.user,
                "entrypoint": config.entrypoint,
                "cmd": config.cmd,
                "working_dir": config.working_dir,
                "env_names": config.env_names,
                "exposed_ports": config.exposed_ports,
                "labels": dict(config.labels),
                "created": config.created,
                "history": [
                    {
                        "created": entry.created,
                        "created_by": entry.created_by,
                        "empty_layer": entry.empty_layer,
                        "comment": entry.comment,
                    }
                    for entry in config.history
                ],
                "healthcheck": config.healthcheck,
                "stop_signal": config.stop_signal,
            },
            "layers": [
                {
                    "index": layer.index,
                    "digest": layer.digest,
                    "diff_id": layer.diff_id,
                    "media_type": layer.media_type,
                    "size": layer.size,
                    "created_by": layer.created_by,
                }
                for layer in image.layers
            ],
        },
        "packages": [
            _package(package) for package in sorted(inventory.packages, key=Package.sort_key)
        ],
        "warnings": inventory.warnings,
        "findings": [],
        "policy": None,
    }
    return ScanResultV1.model_validate(document)


def _package(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "type": package.type.value,
        "purl": package.purl,
        "cataloger": package.cataloger,
        "ecosystem": package.ecosystem,
        "source_name": package.source_name,
        "source_version": package.source_version,
        "arch": package.arch,
        "licenses": package.licenses,
        "metadata": dict(package.metadata),
        "locations": [
            {
                "path": location.path,
                "layer_index": location.layer_index,
                "layer_diff_id": location.layer_diff_id,
            }
            for location in package.locations
        ],
    }


def dump_scan_result(result: ScanResultV1) -> bytes:
    """Indented JSON with sorted keys: byte-for-byte stable for the same result."""
    return orjson.dumps(
        result.model_dump(mode="json", by_alias=True),
        option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE,
    )
