"""SPDX 2.3 JSON, written directly.

Document namespace: `https://mamori.invalid/spdx/image/<digest>/<uuid4>`. SPDX asks for an
absolute URI without a fragment that is unique per document, and recommends the
`http(s)://creator/path/name-uuid` shape; `.invalid` is reserved (RFC 2606, RFC 6761), so
the URI names no real host and can never resolve. The digest says which image the document
describes, the random UUID makes every rendering a distinct document.

Licenses: each declared license that is a valid SPDX expression is kept (normalised);
anything else (Debian's `GPL-2+`, free text) becomes a `LicenseRef-…` whose original text
is listed under `hasExtractedLicensingInfos`. Several licenses are joined with AND.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson
from license_expression import Licensing, get_spdx_licensing  # type: ignore[import-untyped]

from mamori.model import ImageInfo, Inventory, OSRelease, Package, ScanResult
from mamori.report.sbom import (
    belongs_to_os,
    is_application,
    parse_purl,
    sbom_packages,
    sha256_hex,
)
from mamori.schema import inventory_time, rfc3339, scanner_version

NAMESPACE_BASE = "https://mamori.invalid/spdx/image"
NOASSERTION = "NOASSERTION"
DOCUMENT_ID = "SPDXRef-DOCUMENT"
IMAGE_ID = "SPDXRef-Image"
OS_ID = "SPDXRef-OperatingSystem"

_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.-]+")
_NOT_IDSTRING = re.compile(r"[^A-Za-z0-9.-]+")


class SPDXFormatter:
    name = "spdx"

    def render(self, inventory: Inventory) -> str:
        return orjson.dumps(
            build_document(inventory), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        ).decode()

    def render_scan(self, result: ScanResult) -> str:
        """SPDX 2.3 has no place for vulnerabilities: a scan gives its inventory's SBOM."""
        return self.render(result.inventory)


def build_document(inventory: Inventory) -> dict[str, Any]:
    image = inventory.image
    licenses = _LicenseRefs()
    packages = [_image_package(inventory)]
    relationships = [_relationship(DOCUMENT_ID, "DESCRIBES", IMAGE_ID)]
    if inventory.os is not None:
        packages.append(_os_package(inventory.os))
        relationships.append(_relationship(IMAGE_ID, "CONTAINS", OS_ID))
    for n, package in enumerate(sbom_packages(inventory), start=1):
        spdx_id = f"SPDXRef-Package-{n}"
        packages.append(_package(package, spdx_id, licenses))
        parent = OS_ID if belongs_to_os(inventory, package) else IMAGE_ID
        relationships.append(_relationship(parent, "CONTAINS", spdx_id))
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": DOCUMENT_ID,
        "name": _image_name(image),
        "documentNamespace": namespace(image.digest),
        "creationInfo": {
            "created": rfc3339(inventory_time(inventory)),
            "creators": [f"Tool: mamori-{scanner_version(inventory)}"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    if licenses.extracted:
        document["hasExtractedLicensingInfos"] = licenses.extracted
    return document


def namespace(digest: str) -> str:
    name = _NOT_IDSTRING.sub("-", digest).strip("-") or "unknown"
    return f"{NAMESPACE_BASE}/{name}/{uuid.uuid4()}"


def _relationship(element: str, kind: str, related: str) -> dict[str, str]:
    return {"spdxElementId": element, "relationshipType": kind, "relatedSpdxElement": related}


def _base_package(spdx_id: str, name: str, version: str, purpose: str) -> dict[str, Any]:
    package: dict[str, Any] = {"SPDXID": spdx_id, "name": name}
    if version:
        package["versionInfo"] = version
    package.update(
        {
            "downloadLocation": NOASSERTION,
            "filesAnalyzed": False,
            "licenseConcluded": NOASSERTION,
            "licenseDeclared": NOASSERTION,
            "copyrightText": NOASSERTION,
            "primaryPackagePurpose": purpose,
        }
    )
    return package


def _image_package(inventory: Inventory) -> dict[str, Any]:
    image = inventory.image
    package = _base_package(IMAGE_ID, _image_name(image), image.digest, "CONTAINER")
    value = sha256_hex(image.digest)
    if value:
        package["checksums"] = [{"algorithm": "SHA256", "checksumValue": value}]
    facts = [f"source: {image.source}", f"config digest: {image.config_digest}"]
    facts += [f"repo tag: {tag}" for tag in image.repo_tags]
    facts += [f"repo digest: {digest}" for digest in image.repo_digests]
    package["comment"] = "; ".join(facts)
    return package


def _image_name(image: ImageInfo) -> str:
    return image.reference or image.digest or "image"


def _os_package(os_release: OSRelease) -> dict[str, Any]:
    package = _base_package(OS_ID, os_release.id, os_release.version_id, "OPERATING-SYSTEM")
    if os_release.pretty_name:
        package["description"] = os_release.pretty_name
    if os_release.distroless:
        package["comment"] = "distroless"
    return package


def _package(package: Package, spdx_id: str, licenses: _LicenseRefs) -> dict[str, Any]:
    purpose = "APPLICATION" if is_application(package) else "LIBRARY"
    entry = _base_package(spdx_id, package.name, package.version, purpose)
    entry["licenseDeclared"] = licenses.declared(package.licenses)
    if parse_purl(package.purl) is not None:
        entry["externalRefs"] = [
            {
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": package.purl,
            }
        ]
    if package.locations:
        places = "; ".join(
            f"{location.path} (layer {location.layer_index}"
            + (f", {location.layer_diff_id})" if location.layer_diff_id else ")")
            for location in package.locations
        )
        entry["sourceInfo"] = f"found by the {package.cataloger} cataloger at {places}"
    if package.source_name:
        entry["comment"] = f"source package: {package.source_name} {package.source_version}".strip()
    return entry


class _LicenseRefs:
    """Builds licenseDeclared values and collects the LicenseRefs they use."""

    def __init__(self) -> None:
        self.extracted: list[dict[str, str]] = []
        self._ids: dict[str, str] = {}  # original text -> LicenseRef id
        self._taken: set[str] = set()

    def declared(self, values: Sequence[str]) -> str:
        parts: list[str] = []
        for value in (value.strip() for value in values):
            if not value:
                continue
            part = spdx_expression(value) or self._ref(value)
            if part not in parts:
                parts.append(part)
        if not parts:
            return NOASSERTION
        if len(parts) == 1:
            return parts[0]
        return " AND ".join(f"({part})" if " " in part else part for part in parts)

    def _ref(self, text: str) -> str:
        known = self._ids.get(text)
        if known is not None:
            return known
        if _LICENSE_REF.fullmatch(text):
            base = text
        else:
            idstring = _NOT_IDSTRING.sub("-", text.replace("+", "-plus")).strip("-")
            base = f"LicenseRef-{idstring or 'unnamed'}"
        ref, n = base, 1
        while ref in self._taken:
            n += 1
            ref = f"{base}-{n}"
        self._ids[text] = ref
        self._taken.add(ref)
        self.extracted.append({"licenseId": ref, "extractedText": text, "name": text})
        return ref


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


@cache
def spdx_expression(text: str) -> str | None:
    """`text` as a normalised SPDX license expression, or None when it is not one."""
    licensing = _licensing()
    try:
        if licensing.validate(text).errors:
            return None
        # strict parsing also rejects an exception used as a license and the reverse
        return str(licensing.parse(text, validate=True, strict=True))
    except Exception:  # license_expression raises assorted errors on malformed input ("()")
        return None
