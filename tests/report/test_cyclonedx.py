"""CycloneDX 1.6 JSON: schema-valid, complete, with unique bom-refs."""

from __future__ import annotations

import dataclasses
import json
import warnings
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from packageurl import PackageURL

from mamori.model import Inventory
from mamori.report.cyclonedx import CycloneDXFormatter
from tests.report.inventories import bare_inventory, debian_inventory

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


def render(inventory: Inventory) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the library warns about incomplete graphs and such
        text = CycloneDXFormatter().render(inventory)
    assert VALIDATOR.validate_str(text) is None
    document: dict[str, Any] = json.loads(text)
    return document


def props(component: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in component.get("properties", [])}


def canonical(purl: str) -> str:
    return str(PackageURL.from_string(purl).to_string())


def test_every_package_is_a_component_with_its_purl(inventory: Inventory) -> None:
    bom = render(inventory)
    assert bom["specVersion"] == "1.6"
    packages = [c for c in bom["components"] if c["type"] != "operating-system"]
    assert sorted(canonical(c["purl"]) for c in packages) == sorted(
        canonical(p.purl) for p in inventory.packages
    )
    refs = [c["bom-ref"] for c in bom["components"]] + [bom["metadata"]["component"]["bom-ref"]]
    assert len(refs) == len(set(refs))
    assert sum(c["purl"] == "pkg:npm/ms@2.1.3" for c in packages) == 2


def test_image_os_and_containment(inventory: Inventory) -> None:
    bom = render(inventory)
    image = bom["metadata"]["component"]
    assert image["type"] == "container"
    assert image["version"] == inventory.image.digest
    assert image["hashes"] == [
        {"alg": "SHA-256", "content": inventory.image.digest.removeprefix("sha256:")}
    ]
    assert props(image)["mamori:layer:2:diff_id"] == inventory.image.layers[2].diff_id
    assert bom["metadata"]["tools"]["components"][0]["name"] == "mamori"

    os_component = next(c for c in bom["components"] if c["type"] == "operating-system")
    assert (os_component["name"], os_component["version"]) == ("debian", "12")
    by_ref = {c["bom-ref"]: c for c in bom["components"]}
    graph = {d["ref"]: set(d.get("dependsOn", [])) for d in bom["dependencies"]}
    assert {by_ref[ref]["name"] for ref in graph[os_component["bom-ref"]]} == {
        "libc6",
        "bsdutils",
        "libssl3",
        "nodejs",
    }
    top = {by_ref[ref]["name"] for ref in graph[image["bom-ref"]]}
    assert "debian" in top and "node" in top and "libc6" not in top
    node = next(c for c in bom["components"] if c["name"] == "node")
    assert node["type"] == "application"


def test_locations_and_package_facts_are_properties(inventory: Inventory) -> None:
    bom = render(inventory)
    semver = next(c for c in bom["components"] if c["name"] == "semver")
    found = props(semver)
    assert found["mamori:location:0:path"] == "/app/node_modules/semver/package.json"
    assert found["mamori:location:1:path"] == "/app/node_modules/semver/package.json.bak"
    assert found["mamori:location:1:layer_index"] == "2"
    assert found["mamori:location:1:layer_diff_id"] == inventory.image.layers[2].diff_id
    libc = props(next(c for c in bom["components"] if c["name"] == "libc6"))
    assert libc["mamori:source_name"] == "glibc"
    assert libc["mamori:metadata:maintainer"] == "GNU Libc Maintainers"
    assert libc["mamori:ecosystem"] == "Debian:12"


def test_licenses_use_spdx_ids_expressions_or_names(inventory: Inventory) -> None:
    bom = render(inventory)
    licenses = {c["bom-ref"]: c.get("licenses") for c in bom["components"]}
    assert licenses[inventory.packages[2].purl] == [{"license": {"id": "Apache-2.0"}}]
    assert licenses[inventory.packages[0].purl] == [
        {"license": {"id": "LGPL-2.1"}},
        {"license": {"name": "GPL-2+ and BSD-ish"}},
    ]
    assert sorted([licenses["pkg:npm/ms@2.1.3"], licenses["pkg:npm/ms@2.1.3#2"]], key=str) == [
        [{"expression": "(MIT OR Apache-2.0)"}],
        [{"license": {"id": "MIT"}}],
    ]
    assert licenses[
        "pkg:deb/debian/nodejs@18.19.0%2Bdfsg-6~deb12u2?arch=amd64&distro=debian-12"
    ] == [
        {"license": {"name": "Expat"}}  # Debian's name for MIT: not an SPDX id
    ]
    assert licenses["pkg:generic/node@22.3.0"] is None


def test_image_without_os_layers_or_packages() -> None:
    bom = render(bare_inventory())
    assert "components" not in bom or bom["components"] == []
    assert bom["metadata"]["component"]["name"] == "dir:/srv/rootfs"
    assert "hashes" not in bom["metadata"]["component"]


def test_packages_without_os_hang_off_the_image(inventory: Inventory) -> None:
    bom = render(dataclasses.replace(inventory, os=None))
    graph = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    assert len(graph[bom["metadata"]["component"]["bom-ref"]]) == len(inventory.packages)


def test_malformed_purl_is_left_out_not_fatal(inventory: Inventory) -> None:
    broken = dataclasses.replace(inventory.packages[4], purl="not a purl")
    bom = render(dataclasses.replace(inventory, packages=(broken,)))
    (component,) = bom["components"][:1]
    assert component["name"] == "@babel/code-frame"
    assert "purl" not in component


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), max_size=4))
def test_any_license_text_gives_a_valid_bom(licenses: list[str]) -> None:
    inventory = debian_inventory()
    package = dataclasses.replace(inventory.packages[0], licenses=tuple(licenses))
    render(dataclasses.replace(inventory, packages=(package,)))
