"""SPDX 2.3 JSON: valid for spdx-tools, with purls, containment and safe license expressions."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from mamori.model import Inventory
from mamori.report.spdx import NAMESPACE_BASE, SPDXFormatter, spdx_expression
from tests.report.inventories import bare_inventory, debian_inventory

SPDX_ID = re.compile(r"SPDXRef-[A-Za-z0-9.-]+")


def render(inventory: Inventory, tmp_path: Path) -> dict[str, Any]:
    """Render, then parse and validate with spdx-tools: every message is a failure."""
    text = SPDXFormatter().render(inventory)
    path = tmp_path / "sbom.spdx.json"
    path.write_text(text)
    messages = validate_full_spdx_document(parse_file(str(path)))
    assert [m.validation_message for m in messages] == []
    document: dict[str, Any] = json.loads(text)
    return document


def test_valid_document_with_every_purl(inventory: Inventory, tmp_path: Path) -> None:
    document = render(inventory, tmp_path)
    assert document["spdxVersion"] == "SPDX-2.3"
    assert document["creationInfo"] == {
        "created": "2024-06-01T12:30:45Z",
        "creators": ["Tool: mamori-0.1.0"],
    }
    purls = [
        ref["referenceLocator"]
        for package in document["packages"]
        for ref in package.get("externalRefs", [])
        if ref["referenceType"] == "purl"
    ]
    assert sorted(purls) == sorted(p.purl for p in inventory.packages)
    ids = [package["SPDXID"] for package in document["packages"]]
    assert len(ids) == len(set(ids)) == len(inventory.packages) + 2
    assert all(SPDX_ID.fullmatch(spdx_id) for spdx_id in ids)


def test_namespace_is_a_fresh_uri_per_document(inventory: Inventory, tmp_path: Path) -> None:
    first = render(inventory, tmp_path)["documentNamespace"]
    second = render(inventory, tmp_path)["documentNamespace"]
    digest = inventory.image.digest.replace(":", "-")
    assert first.startswith(f"{NAMESPACE_BASE}/{digest}/")
    assert first != second
    assert "#" not in first


def test_relationships_describe_and_contain(inventory: Inventory, tmp_path: Path) -> None:
    document = render(inventory, tmp_path)
    names = {p["SPDXID"]: p["name"] for p in document["packages"]}
    edges = {
        (r["spdxElementId"], r["relationshipType"], names.get(r["relatedSpdxElement"]))
        for r in document["relationships"]
    }
    assert ("SPDXRef-DOCUMENT", "DESCRIBES", inventory.image.reference) in edges
    assert ("SPDXRef-Image", "CONTAINS", "debian") in edges
    assert ("SPDXRef-OperatingSystem", "CONTAINS", "libc6") in edges
    assert ("SPDXRef-Image", "CONTAINS", "@babel/code-frame") in edges
    assert ("SPDXRef-Image", "CONTAINS", "libc6") not in edges
    image = next(p for p in document["packages"] if p["SPDXID"] == "SPDXRef-Image")
    assert image["primaryPackagePurpose"] == "CONTAINER"
    assert image["checksums"][0]["checksumValue"] in inventory.image.digest


def test_licenses_are_valid_expressions_or_license_refs(
    inventory: Inventory, tmp_path: Path
) -> None:
    document = render(inventory, tmp_path)
    declared = {(p["name"], p["licenseDeclared"]) for p in document["packages"]}
    assert ("libc6", "LGPL-2.1-only AND LicenseRef-GPL-2-plus-and-BSD-ish") in declared
    assert ("ms", "MIT OR Apache-2.0") in declared
    assert ("ms", "MIT") in declared  # "mit" normalised
    assert ("github.com/spf13/cobra", "NOASSERTION") in declared
    extracted = {e["licenseId"]: e["extractedText"] for e in document["hasExtractedLicensingInfos"]}
    assert extracted["LicenseRef-GPL-2-plus-and-BSD-ish"] == "GPL-2+ and BSD-ish"


def test_location_and_source_package_are_kept(inventory: Inventory, tmp_path: Path) -> None:
    packages = {p["name"]: p for p in render(inventory, tmp_path)["packages"]}
    semver = packages["semver"]["sourceInfo"]
    assert "/app/node_modules/semver/package.json (layer 2" in semver
    assert "/app/node_modules/semver/package.json.bak" in semver
    assert packages["bsdutils"]["comment"] == "source package: util-linux 2.38.1-5+deb12u1"
    assert packages["bsdutils"]["versionInfo"] == "1:2.38.1-5+deb12u1"


def test_license_refs_are_unique_and_never_empty(inventory: Inventory, tmp_path: Path) -> None:
    texts = ("GPL-2+", "GPL 2+", "\x1b", "LicenseRef-Custom")
    packages = tuple(
        dataclasses.replace(package, licenses=(text,))
        for package, text in zip(inventory.packages, texts, strict=False)
    )
    document = render(dataclasses.replace(inventory, packages=packages), tmp_path)
    extracted = {e["extractedText"]: e["licenseId"] for e in document["hasExtractedLicensingInfos"]}
    assert {extracted["GPL-2+"], extracted["GPL 2+"]} == {
        "LicenseRef-GPL-2-plus",
        "LicenseRef-GPL-2-plus-2",
    }
    assert extracted["\x1b"] == "LicenseRef-unnamed"
    assert extracted["LicenseRef-Custom"] == "LicenseRef-Custom"


def test_image_without_os_layers_or_packages(tmp_path: Path) -> None:
    document = render(bare_inventory(), tmp_path)
    assert [p["SPDXID"] for p in document["packages"]] == ["SPDXRef-Image"]
    assert f"{NAMESPACE_BASE}/unknown/" in document["documentNamespace"]


def test_expression_check() -> None:
    assert spdx_expression("mit and apache-2.0") == "MIT AND Apache-2.0"
    assert spdx_expression("GPL-2.0+") == "GPL-2.0-or-later"
    assert spdx_expression("GPL-2+") is None
    assert spdx_expression("LLVM-exception") is None  # an exception, not a license
    assert spdx_expression("()") is None  # crashes license_expression itself


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    licenses=st.lists(
        st.one_of(
            st.text(min_size=1, max_size=30),
            st.sampled_from(["MIT", "GPL-2+", "Apache-2.0 OR MIT", "LicenseRef-x", "GPL-2 +"]),
        ),
        max_size=4,
    )
)
def test_any_license_text_gives_a_valid_document(licenses: list[str], tmp_path: Path) -> None:
    inventory = debian_inventory()
    first = dataclasses.replace(inventory.packages[0], licenses=tuple(licenses))
    second = dataclasses.replace(inventory.packages[1], licenses=tuple(reversed(licenses)))
    render(dataclasses.replace(inventory, packages=(first, second)), tmp_path)
