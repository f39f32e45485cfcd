"""CycloneDX 1.6 JSON: schema-valid, complete, with unique bom-refs."""

from __future__ import annotations

import dataclasses
import json
import uuid
import warnings
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from license_expression import get_license_index  # type: ignore[import-untyped]
from packageurl import PackageURL

from mamori.model import Inventory, Package, PackageType
from mamori.report.cyclonedx import CycloneDXFormatter
from tests.report.inventories import bare_inventory, deb, debian_inventory, loc, npm

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


# licenses as declared → what a lone one becomes in the BOM
ODD_LICENSES = [
    ("gpl-2.0+", {"license": {"id": "GPL-2.0+"}}),  # deprecated SPDX id, case fixed
    ("Classpath-exception-2.0", {"license": {"id": "Classpath-exception-2.0"}}),
    ("GPL-2.0-or-later WITH Classpath-exception-2.0", None),  # kept as an expression
    ("MIT WITH Apache-2.0", {"license": {"name": "MIT WITH Apache-2.0"}}),  # not an exception
    ("LicenseRef-acme", {"license": {"name": "LicenseRef-acme"}}),
    ("GPL-2+", {"license": {"name": "GPL-2+"}}),
    ("()", {"license": {"name": "()"}}),
    ("  public domain ", {"license": {"name": "public domain"}}),
]


@pytest.mark.parametrize(("declared", "expected"), ODD_LICENSES)
def test_a_lone_license_is_an_id_an_expression_or_a_name(
    inventory: Inventory, declared: str, expected: dict[str, Any] | None
) -> None:
    package = dataclasses.replace(inventory.packages[0], licenses=(declared, " "))
    (component,) = render(dataclasses.replace(inventory, packages=(package,)))["components"][:1]
    assert component["licenses"] == [expected or {"expression": declared}]


def test_every_spdx_key_and_alias_gives_a_schema_valid_license(inventory: Inventory) -> None:
    """Every key and alias license_expression knows: the ones written as ids must be in the
    schema's list of SPDX ids (the strict validator checks), the rest become names."""
    keys = {entry["spdx_license_key"] for entry in get_license_index()} - {None}
    aliases = {alias for entry in get_license_index() for alias in entry["other_spdx_license_keys"]}
    package = dataclasses.replace(inventory.packages[0], licenses=tuple(sorted(keys | aliases)))
    (component,) = render(dataclasses.replace(inventory, packages=(package,)))["components"][:1]
    ids = {entry["license"]["id"] for entry in component["licenses"] if "id" in entry["license"]}
    names = {
        entry["license"]["name"] for entry in component["licenses"] if "name" in entry["license"]
    }
    assert {key for key in keys if not key.startswith("LicenseRef-")} <= ids
    assert {"LGPL-2.1", "GPL-2.0+", "Nokia-Qt-exception-1.1"} <= ids  # deprecated, still SPDX ids
    assert {"GPL", "BSD-2", "LicenseRef-scancode-public-domain"} <= names  # aliases, not SPDX ids
    assert len(ids) + len(names) == len(keys | aliases)


def large_inventory(count: int) -> Inventory:
    """`count` packages: OS packages, npm copies sharing one purl, binaries sharing purls,
    packages without a purl or with a malformed one, odd licenses everywhere."""
    odd = [declared for declared, _ in ODD_LICENSES] + ["MIT", "mit", "(MIT OR Apache-2.0)", " "]
    packages: list[Package] = []
    for n in range(count):
        licenses = tuple(odd[(n + k) % len(odd)] for k in range(n % 4))
        kind = n % 5
        if kind == 0:
            package = deb(f"lib{n}", f"1.{n}-1", "src", licenses=licenses)
        elif kind == 1:
            package = npm("ms", "2.1.3", (f"/app/{n}/ms/package.json", 2), licenses=licenses)
        elif kind == 2:
            package = npm(f"@scope{n % 7}/p{n}", "1.0.0", (f"/app/{n}", 2), licenses=licenses)
        elif kind == 3:
            package = Package(
                name=f"tool{n}",
                version="",
                type=PackageType.BINARY,
                purl=f"pkg:generic/tool{n % 40}",
                cataloger="binary",
                locations=(loc(f"/usr/bin/tool{n}", 1),),
                licenses=licenses,
            )
        else:
            package = Package(
                name=f"py{n % 900}",
                version="0.1",
                type=PackageType.PYPI,
                purl=("" if n % 3 else "not a purl") if n % 10 == 4 else f"pkg:pypi/py{n}@0.1",
                cataloger="python",
                locations=(),
                licenses=licenses,
                metadata=(("summary", f"package {n}"), ("summary", f"package {n}")),
            )
        packages.append(package)
    return debian_inventory(tuple(packages))


def test_a_large_inventory_gives_a_complete_valid_bom() -> None:
    # 1,500 packages: the schema validator's unique-item checks grow with the square of the
    # count (5,000 took 30 s); the writer's own speed is measured in bench/, not here.
    count = 1500
    bom = render(large_inventory(count))
    components = bom["components"]
    assert len(components) == count + 1
    refs = [c["bom-ref"] for c in components]
    assert len(set(refs)) == len(refs)
    shared = sorted(ref for ref in refs if ref.startswith("pkg:npm/ms@2.1.3"))
    copies = count // 5
    assert shared == sorted(
        ["pkg:npm/ms@2.1.3"] + [f"pkg:npm/ms@2.1.3#{n}" for n in range(2, copies + 1)]
    )
    graph = {d["ref"]: d.get("dependsOn", []) for d in bom["dependencies"]}
    image, os_ref = bom["metadata"]["component"]["bom-ref"], "os:debian-12"
    assert set(graph) == {*refs, image}
    assert sorted(graph[image] + graph[os_ref]) == sorted(refs)
    assert all(ref.startswith("pkg:deb/") for ref in graph[os_ref])
    assert len(graph[os_ref]) == count // 5
    without_purl = sorted(ref for ref in refs if ref.startswith("pypi:py4@0.1"))
    assert without_purl == ["pypi:py4@0.1", "pypi:py4@0.1#2"]  # n = 4 and 904
    assert sum("purl" not in c for c in components) == count // 10 + 1  # and the OS
    py9 = next(c for c in components if c["bom-ref"] == "pkg:pypi/py9@0.1")
    summaries = [p for p in py9["properties"] if p["name"] == "mamori:metadata:summary"]
    assert summaries == [{"name": "mamori:metadata:summary", "value": "package 9"}]  # once


def test_output_is_deterministic_but_for_the_serial_number(inventory: Inventory) -> None:
    first, second = render(inventory), render(dataclasses.replace(inventory))
    assert first["serialNumber"] != second["serialNumber"]
    for bom in (first, second):
        assert uuid.UUID(bom.pop("serialNumber").removeprefix("urn:uuid:")).version == 4
    assert first == second
    assert first["metadata"]["timestamp"] == "2024-06-01T12:30:45Z"


license_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["MIT", "mit", "GPL-2.0+", "MIT OR Apache-2.0", "Classpath-exception-2.0"]),
)


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=4),
    versions=st.lists(st.text(max_size=30), min_size=1, max_size=4),
    licenses=st.lists(st.lists(license_text, max_size=3), min_size=1, max_size=4),
)
def test_any_names_and_licenses_give_a_valid_bom(
    names: list[str], versions: list[str], licenses: list[list[str]]
) -> None:
    base = debian_inventory().packages
    packages = tuple(
        dataclasses.replace(
            base[n % len(base)],
            name=name,
            version=versions[n % len(versions)],
            licenses=tuple(licenses[n % len(licenses)]),
            metadata=(("index", str(n)),),
        )
        for n, name in enumerate(names)
    )
    bom = render(debian_inventory(packages))
    components = [c for c in bom["components"] if c["type"] != "operating-system"]
    assert sorted(c["name"] for c in components) == sorted(names)
    for component in components:
        n = int(props(component)["mamori:metadata:index"])
        assert component["name"] == names[n]
        declared = [text.strip() for text in licenses[n % len(licenses)] if text.strip()]
        found = component.get("licenses", [])
        assert bool(found) == bool(declared) and len(found) <= len(declared)
        for entry in found:
            if "expression" in entry:
                assert [entry["expression"]] == declared
            elif "name" in entry["license"]:
                assert entry["license"]["name"] in declared
