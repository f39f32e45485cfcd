"""The native JSON output: the inventory part of a `mamori.scan/v1` scan result."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from mamori.errors import MamoriError
from mamori.model import Inventory, Package
from mamori.report.native_json import NativeJSONFormatter
from mamori.schema import ScanResultV1, dump_scan_result
from tests.report.inventories import CREATED_AT, debian_inventory


def render(inventory: Inventory) -> str:
    return NativeJSONFormatter().render(inventory)


def key_orders(value: Any) -> list[list[str]]:
    if isinstance(value, dict):
        found = [list(value)]
        for item in value.values():
            found += key_orders(item)
        return found
    if isinstance(value, list):
        return [order for item in value for order in key_orders(item)]
    return []


def test_round_trips_through_the_wire_model(inventory: Inventory) -> None:
    text = render(inventory)
    result = ScanResultV1.model_validate_json(text)
    assert dump_scan_result(result).decode() == text


def test_output_is_stable_and_sorted(inventory: Inventory) -> None:
    text = render(inventory)
    shuffled = dataclasses.replace(inventory, packages=tuple(reversed(inventory.packages)))
    assert render(shuffled) == text
    assert all(order == sorted(order) for order in key_orders(json.loads(text)))
    assert text.endswith("}\n")


def test_document_carries_the_inventory(inventory: Inventory) -> None:
    document = json.loads(render(inventory))
    assert document["schema"] == "mamori.scan/v1"
    assert document["scanner"] == {"name": "mamori", "version": "0.1.0"}
    assert document["created_at"] == CREATED_AT
    assert document["findings"] == []
    assert document["policy"] is None
    assert document["warnings"] == list(inventory.warnings)

    image = document["image"]
    assert image["digest"] == inventory.image.digest
    assert image["os"]["pretty_name"] == "Debian GNU/Linux 12 (bookworm)"
    assert [layer["diff_id"] for layer in image["layers"]] == [
        layer.diff_id for layer in inventory.image.layers
    ]
    config = image["config"]
    assert config["env_names"] == ["PATH", "NODE_ENV", "DATABASE_PASSWORD"]
    assert config["labels"] == {"org.opencontainers.image.title": "app", "maintainer": "ops team"}
    assert config["history"][-1]["empty_layer"] is True

    expected = sorted(inventory.packages, key=Package.sort_key)
    assert [p["purl"] for p in document["packages"]] == [p.purl for p in expected]
    libc = next(p for p in document["packages"] if p["name"] == "libc6")
    assert libc["source_name"] == "glibc"
    assert libc["licenses"] == ["LGPL-2.1", "GPL-2+ and BSD-ish"]
    assert libc["metadata"] == {"maintainer": "GNU Libc Maintainers", "installed_size": "12986"}
    semver = next(p for p in document["packages"] if p["name"] == "semver")
    assert [(loc["path"], loc["layer_index"]) for loc in semver["locations"]] == [
        ("/app/node_modules/semver/package.json", 2),
        ("/app/node_modules/semver/package.json.bak", 2),
    ]
    assert semver["locations"][0]["layer_diff_id"] == inventory.image.layers[2].diff_id


def test_image_without_os_or_packages() -> None:
    inventory = debian_inventory(packages=())
    inventory = dataclasses.replace(inventory, os=None)
    document = json.loads(render(inventory))
    assert document["image"]["os"] is None
    assert document["packages"] == []


def test_missing_timestamp_is_now_and_a_bad_one_is_an_error(inventory: Inventory) -> None:
    document = json.loads(render(dataclasses.replace(inventory, created_at="")))
    stamped = datetime.fromisoformat(document["created_at"])
    assert abs(datetime.now(UTC) - stamped) < timedelta(minutes=1)
    with pytest.raises(MamoriError, match="invalid inventory timestamp"):
        render(dataclasses.replace(inventory, created_at="yesterday"))


def test_wire_model_rejects_unknown_fields_and_other_schemas(inventory: Inventory) -> None:
    document = json.loads(render(inventory))
    with pytest.raises(ValidationError):
        ScanResultV1.model_validate({**document, "surprise": 1})
    with pytest.raises(ValidationError):
        ScanResultV1.model_validate({**document, "schema": "mamori.scan/v2"})
