"""CycloneDX 1.6 JSON through cyclonedx-python-lib.

The image is `metadata.component` (type container, version = its digest); the OS and the
packages are components. Where a package was found (path, layer index, layer diff_id) and
what mamori knows beyond CycloneDX's fields go into properties in the `mamori:` namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cyclonedx.contrib.license.exceptions import InvalidSpdxLicenseException
from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import HashAlgorithm, HashType, Property
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.dependency import Dependency
from cyclonedx.model.license import License
from cyclonedx.output.json import JsonV1Dot6

from mamori.model import Inventory, OSRelease, Package
from mamori.report.sbom import (
    belongs_to_os,
    is_application,
    parse_purl,
    sbom_packages,
    sha256_hex,
)
from mamori.schema import SCANNER_NAME, inventory_time, scanner_version

_LICENSES = LicenseFactory()


class CycloneDXFormatter:
    name = "cyclonedx"

    def render(self, inventory: Inventory) -> str:
        return JsonV1Dot6(build_bom(inventory)).output_as_string(indent=2) + "\n"


def build_bom(inventory: Inventory) -> Bom:
    bom = Bom()
    bom.metadata.timestamp = inventory_time(inventory)
    bom.metadata.tools.components.add(
        Component(
            type=ComponentType.APPLICATION,
            name=SCANNER_NAME,
            version=scanner_version(inventory),
        )
    )
    image = _image_component(inventory)
    bom.metadata.component = image
    packages = sbom_packages(inventory)
    os_members: list[Component] = []
    top_level: list[Component] = []
    for package, ref in zip(packages, _unique_refs(packages), strict=True):
        component = _package_component(package, ref)
        (os_members if belongs_to_os(inventory, package) else top_level).append(component)
    bom.components.update(os_members + top_level)
    # The graph is built in one go: Bom.register_dependency scans all entries per call.
    graph = [Dependency(ref=component.bom_ref) for component in os_members + top_level]
    if inventory.os is not None:
        os_component = _os_component(inventory.os)
        bom.components.add(os_component)
        graph.append(_depends(os_component, os_members))
        top_level.insert(0, os_component)
    graph.append(_depends(image, top_level))
    bom.dependencies.update(graph)
    return bom


def _depends(component: Component, members: Iterable[Component]) -> Dependency:
    return Dependency(
        ref=component.bom_ref, dependencies=[Dependency(ref=member.bom_ref) for member in members]
    )


def _image_component(inventory: Inventory) -> Component:
    image = inventory.image
    value = sha256_hex(image.digest)
    config = image.config
    properties = [
        ("mamori:image:source", image.source),
        ("mamori:image:config_digest", image.config_digest),
        ("mamori:image:architecture", config.architecture),
        ("mamori:image:variant", config.variant),
        ("mamori:image:os", config.os),
        *(("mamori:image:repo_tag", tag) for tag in image.repo_tags),
        *(("mamori:image:repo_digest", digest) for digest in image.repo_digests),
    ]
    for layer in image.layers:
        properties.append((f"mamori:layer:{layer.index}:diff_id", layer.diff_id))
        properties.append((f"mamori:layer:{layer.index}:digest", layer.digest))
    return Component(
        type=ComponentType.CONTAINER,
        name=image.reference,
        version=image.digest or None,
        bom_ref=f"image:{image.digest or image.reference}",
        hashes=[HashType(alg=HashAlgorithm.SHA_256, content=value)] if value else [],
        properties=_properties(properties),
    )


def _os_component(os_release: OSRelease) -> Component:
    return Component(
        type=ComponentType.OPERATING_SYSTEM,
        name=os_release.id,
        version=os_release.version_id or None,
        description=os_release.pretty_name or None,
        bom_ref=f"os:{os_release.distro_purl_qualifier}",
        properties=_properties(
            [
                ("mamori:os:codename", os_release.version_codename),
                ("mamori:os:distroless", "true" if os_release.distroless else ""),
            ]
        ),
    )


def _package_component(package: Package, ref: str) -> Component:
    properties = [
        ("mamori:package:type", package.type.value),
        ("mamori:cataloger", package.cataloger),
        ("mamori:ecosystem", package.ecosystem),
        ("mamori:source_name", package.source_name),
        ("mamori:source_version", package.source_version),
        ("mamori:arch", package.arch),
        *((f"mamori:metadata:{key}", value) for key, value in package.metadata),
    ]
    for n, location in enumerate(package.locations):
        properties.append((f"mamori:location:{n}:path", location.path))
        properties.append((f"mamori:location:{n}:layer_index", str(location.layer_index)))
        properties.append((f"mamori:location:{n}:layer_diff_id", location.layer_diff_id))
    return Component(
        type=ComponentType.APPLICATION if is_application(package) else ComponentType.LIBRARY,
        name=package.name,
        version=package.version or None,
        purl=parse_purl(package.purl),
        bom_ref=ref,
        licenses=_licenses(package.licenses),
        properties=_properties(properties),
    )


def _licenses(values: Sequence[str]) -> list[License]:
    """One value may be an SPDX expression; several are listed as SPDX ids or names.

    CycloneDX allows a single expression or a list of licenses, never both.
    """
    values = [value.strip() for value in values if value.strip()]
    if len(values) == 1:
        return [_LICENSES.make_from_string(values[0])]
    licenses: list[License] = []
    for value in values:
        try:
            licenses.append(_LICENSES.make_with_id(value))
        except InvalidSpdxLicenseException:
            licenses.append(_LICENSES.make_with_name(value))
    return licenses


def _properties(pairs: Iterable[tuple[str, str]]) -> list[Property]:
    return [Property(name=name, value=value) for name, value in pairs if value]


def _unique_refs(packages: Sequence[Package]) -> list[str]:
    """bom-refs: the purl, with `#2`, `#3`… for further packages sharing it."""
    seen: set[str] = set()
    refs: list[str] = []
    for package in packages:
        base = package.purl or f"{package.type.value}:{package.name}@{package.version}"
        ref, n = base, 1
        while ref in seen:
            n += 1
            ref = f"{base}#{n}"
        seen.add(ref)
        refs.append(ref)
    return refs
