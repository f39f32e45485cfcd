"""CycloneDX 1.6 JSON, written directly.

The image is `metadata.component` (type container, version = its digest); the OS and the
packages are components. Where a package was found (path, layer index, layer diff_id) and
what mamori knows beyond CycloneDX's fields go into properties in the `mamori:` namespace.

Licenses: a single declared license is an SPDX id (its case fixed) when it is one, else an
SPDX expression when it is one, else a named license. Several are listed each as an id or a
name: CycloneDX allows one expression or a list of licenses, never both.

A scan adds `vulnerabilities`: one per vulnerability id, affecting every component it was
found in (`affects`, with the component's installed version), rated by the severities of
those findings (CVSS method from the vector), its aliases as `references`, the advisories'
links as `advisories`, and "Upgrade <package> to <version>" as the recommendation where a fix
exists. Per affected component, status, fixed version, the advisories that matched and what
was looked up are properties `mamori:affects:<n>:…` (n indexes `affects`).

Order (stable, as cyclonedx-python-lib gave it): components by type, name, version, bom-ref;
properties by name and value; licenses by id, then by name; dependencies by ref;
vulnerabilities worst first, then by id. Schema validation lives in the tests: validating at
run time costs more than writing the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

import orjson
from license_expression import get_license_index  # type: ignore[import-untyped]

from mamori.model import (
    Finding,
    Inventory,
    OSRelease,
    Package,
    ScanResult,
    Severity,
    SeverityRating,
)
from mamori.report.sbom import (
    belongs_to_os,
    is_application,
    parse_purl,
    sbom_packages,
    sha256_hex,
)
from mamori.report.spdx import spdx_expression
from mamori.schema import SCANNER_NAME, inventory_time, rfc3339, scanner_version

SCHEMA_URI = "http://cyclonedx.org/schema/bom-1.6.schema.json"

# Deprecated identifiers of the SPDX License List. They stay valid `license.id` values, but
# license_expression's index knows most of them only as aliases of their successors, mixed
# with aliases that are no SPDX identifiers at all ("GPL", "BSD-2").
_DEPRECATED_SPDX_IDS = (
    "AGPL-1.0 AGPL-3.0 BSD-2-Clause-FreeBSD BSD-2-Clause-NetBSD bzip2-1.0.5 eCos-2.0 GFDL-1.1 "
    "GFDL-1.2 GFDL-1.3 GPL-1.0 GPL-1.0+ GPL-2.0 GPL-2.0+ GPL-2.0-with-autoconf-exception "
    "GPL-2.0-with-bison-exception GPL-2.0-with-classpath-exception GPL-2.0-with-font-exception "
    "GPL-2.0-with-GCC-exception GPL-3.0 GPL-3.0+ GPL-3.0-with-autoconf-exception "
    "GPL-3.0-with-GCC-exception LGPL-2.0 LGPL-2.0+ LGPL-2.1 LGPL-2.1+ LGPL-3.0 LGPL-3.0+ "
    "Net-SNMP Nokia-Qt-exception-1.1 Nunit StandardML-NJ wxWindows"
)


class CycloneDXFormatter:
    name = "cyclonedx"

    def render(self, inventory: Inventory) -> str:
        return _dump(build_bom(inventory))

    def render_scan(self, result: ScanResult) -> str:
        return _dump(build_bom(result.inventory, result.findings))


def _dump(bom: dict[str, Any]) -> str:
    return orjson.dumps(bom, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()


def build_bom(inventory: Inventory, findings: Sequence[Finding] | None = None) -> dict[str, Any]:
    """The SBOM; with `findings` (a scan, even one without findings) its vulnerabilities."""
    image = _image_component(inventory)
    packages = sbom_packages(inventory)
    components: list[dict[str, Any]] = []
    os_members: list[str] = []
    top_level: list[str] = []
    refs: dict[Package, str] = {}
    for package, ref in zip(packages, _unique_refs(packages), strict=True):
        refs.setdefault(package, ref)  # equal packages (none in practice) share the first
        components.append(_package_component(package, ref))
        (os_members if belongs_to_os(inventory, package) else top_level).append(ref)
    graph: dict[str, list[str]] = {ref: [] for ref in os_members + top_level}
    if inventory.os is not None:
        os_component = _os_component(inventory.os)
        components.append(os_component)
        graph[os_component["bom-ref"]] = os_members
        top_level.append(os_component["bom-ref"])
    graph[image["bom-ref"]] = top_level
    bom: dict[str, Any] = {
        "$schema": SCHEMA_URI,
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": uuid.uuid4().urn,
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(inventory_time(inventory)),
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": SCANNER_NAME,
                        "version": scanner_version(inventory),
                    }
                ]
            },
            "component": image,
        },
    }
    if components:
        bom["components"] = sorted(components, key=_component_order)
    bom["dependencies"] = [_dependency(ref, graph[ref]) for ref in sorted(graph)]
    if findings is not None:
        bom["vulnerabilities"] = _vulnerabilities(findings, refs)
    return bom


def _component_order(component: dict[str, Any]) -> tuple[str, str, bool, str, str]:
    version = component.get("version", "")
    return (component["type"], component["name"], not version, version, component["bom-ref"])


def _dependency(ref: str, members: list[str]) -> dict[str, Any]:
    return {"ref": ref, "dependsOn": sorted(members)} if members else {"ref": ref}


def _component(kind: str, ref: str, name: str, version: str) -> dict[str, Any]:
    component = {"type": kind, "bom-ref": ref, "name": name}
    if version:
        component["version"] = version
    return component


def _image_component(inventory: Inventory) -> dict[str, Any]:
    image = inventory.image
    config = image.config
    component = _component(
        "container", f"image:{image.digest or image.reference}", image.reference, image.digest
    )
    value = sha256_hex(image.digest)
    if value:
        component["hashes"] = [{"alg": "SHA-256", "content": value}]
    pairs = [
        ("mamori:image:source", image.source),
        ("mamori:image:config_digest", image.config_digest),
        ("mamori:image:architecture", config.architecture),
        ("mamori:image:variant", config.variant),
        ("mamori:image:os", config.os),
        *(("mamori:image:repo_tag", tag) for tag in image.repo_tags),
        *(("mamori:image:repo_digest", digest) for digest in image.repo_digests),
    ]
    for layer in image.layers:
        pairs.append((f"mamori:layer:{layer.index}:diff_id", layer.diff_id))
        pairs.append((f"mamori:layer:{layer.index}:digest", layer.digest))
    return _with_properties(component, pairs)


def _os_component(os_release: OSRelease) -> dict[str, Any]:
    component = _component(
        "operating-system",
        f"os:{os_release.distro_purl_qualifier}",
        os_release.id,
        os_release.version_id,
    )
    if os_release.pretty_name:
        component["description"] = os_release.pretty_name
    pairs = [
        ("mamori:os:codename", os_release.version_codename),
        ("mamori:os:distroless", "true" if os_release.distroless else ""),
    ]
    return _with_properties(component, pairs)


def _package_component(package: Package, ref: str) -> dict[str, Any]:
    kind = "application" if is_application(package) else "library"
    component = _component(kind, ref, package.name, package.version)
    licenses = _licenses(package.licenses)
    if licenses:
        component["licenses"] = licenses
    purl = parse_purl(package.purl)
    if purl is not None:
        component["purl"] = purl.to_string()
    pairs = [
        ("mamori:package:type", package.type.value),
        ("mamori:cataloger", package.cataloger),
        ("mamori:ecosystem", package.ecosystem),
        ("mamori:source_name", package.source_name),
        ("mamori:source_version", package.source_version),
        ("mamori:arch", package.arch),
        *((f"mamori:metadata:{key}", value) for key, value in package.metadata),
    ]
    for n, location in enumerate(package.locations):
        pairs.append((f"mamori:location:{n}:path", location.path))
        pairs.append((f"mamori:location:{n}:layer_index", str(location.layer_index)))
        pairs.append((f"mamori:location:{n}:layer_diff_id", location.layer_diff_id))
    return _with_properties(component, pairs)


def _with_properties(component: dict[str, Any], pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Adds the non-empty pairs, each once, as sorted properties."""
    properties = [{"name": name, "value": value} for name, value in sorted(set(pairs)) if value]
    if properties:
        component["properties"] = properties
    return component


def _licenses(values: Sequence[str]) -> list[dict[str, Any]]:
    texts = [text for text in (value.strip() for value in values) if text]
    if len(texts) == 1:
        text = texts[0]
        if _spdx_id(text) is None and spdx_expression(text) is not None:
            return [{"expression": text}]
    return [{"license": {field: text}} for field, text in sorted(set(map(_license, texts)))]


def _license(text: str) -> tuple[str, str]:
    """("id", the SPDX id) or ("name", text); "id" sorts first."""
    known = _spdx_id(text)
    return ("id", known) if known else ("name", text)


def _spdx_id(text: str) -> str | None:
    """`text` as an SPDX license or exception identifier in its proper case, or None."""
    return _spdx_ids().get(text.lower())


@cache
def _spdx_ids() -> dict[str, str]:
    """Lower-case → proper case: license_expression's SPDX keys and the deprecated ids."""
    ids = [
        key
        for entry in get_license_index()
        if (key := entry.get("spdx_license_key")) and not key.startswith("LicenseRef-")
    ]
    return {key.lower(): key for key in [*ids, *_DEPRECATED_SPDX_IDS.split()]}


def _unique_refs(packages: Sequence[Package]) -> list[str]:
    """bom-refs: the purl, with `#2`, `#3`… for further packages sharing it."""
    seen: set[str] = set()
    last: dict[str, int] = {}  # base → its highest number so far: no rescan from 2 each time
    refs: list[str] = []
    for package in packages:
        base = package.purl or f"{package.type.value}:{package.name}@{package.version}"
        ref, n = base, last.get(base, 1)
        while ref in seen:
            n += 1
            ref = f"{base}#{n}"
        seen.add(ref)
        last[base] = n
        refs.append(ref)
    return refs


# CycloneDX's severities; Debian's "unimportant" and Ubuntu's "negligible" are informational
_CDX_SEVERITY = {rating: rating.value for rating in SeverityRating} | {
    SeverityRating.NEGLIGIBLE: "info"
}
_CVSS_METHODS = (("CVSS:3.0/", "CVSSv3"), ("CVSS:3.1/", "CVSSv31"), ("CVSS:4.0/", "CVSSv4"))
# id prefix → who publishes such ids
_ISSUERS = (
    ("CVE-", "CVE"),
    ("GHSA-", "GitHub Advisory Database"),
    ("PYSEC-", "PyPA Advisory Database"),
    ("DSA-", "Debian"),
    ("DLA-", "Debian"),
    ("DEBIAN-", "Debian"),
    ("ALPINE-", "Alpine"),
    ("USN-", "Ubuntu"),
    ("UBUNTU-", "Ubuntu"),
    ("RHSA-", "Red Hat"),
    ("GO-", "Go Vulnerability Database"),
    ("RUSTSEC-", "RustSec"),
    ("MAL-", "OpenSSF Malicious Packages"),
)


def _vulnerabilities(
    findings: Sequence[Finding], refs: Mapping[Package, str]
) -> list[dict[str, Any]]:
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.id, []).append(finding)
    ordered = sorted(
        groups.items(),
        key=lambda item: (-max(f.severity.rating.rank for f in item[1]), item[0]),
    )
    return [_vulnerability(vuln_id, group, refs) for vuln_id, group in ordered]


def _vulnerability(
    vuln_id: str, group: list[Finding], refs: Mapping[Package, str]
) -> dict[str, Any]:
    group = sorted(group, key=lambda finding: refs[finding.package])
    links = list(dict.fromkeys(link for finding in group for link in finding.links))
    aliases = sorted({alias for finding in group for alias in finding.aliases} - {vuln_id})
    vulnerability: dict[str, Any] = {
        "bom-ref": f"vulnerability:{vuln_id}",
        "id": vuln_id,
        "source": _source(vuln_id, links),
    }
    if aliases:
        vulnerability["references"] = [
            {"id": alias, "source": _source(alias, links)} for alias in aliases
        ]
    severities = dict.fromkeys(finding.severity for finding in group)
    vulnerability["ratings"] = [_rating(severity) for severity in severities]
    summary = next((finding.summary for finding in group if finding.summary), "")
    if summary:
        vulnerability["description"] = summary
    upgrades = dict.fromkeys(
        f"Upgrade {finding.package.name} to {finding.fixed_version}"
        for finding in group
        if finding.fixed_version
    )
    if upgrades:
        vulnerability["recommendation"] = "; ".join(upgrades)
    if links:
        vulnerability["advisories"] = [{"url": link} for link in links]
    published = [moment for f in group if (moment := _timestamp(f.published))]
    updated = [moment for f in group if (moment := _timestamp(f.modified))]
    if published:
        vulnerability["published"] = min(published)
    if updated:
        vulnerability["updated"] = max(updated)
    affects: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, str]] = []
    for finding in group:
        ref = refs[finding.package]
        if ref in affects:
            continue
        entry: dict[str, Any] = {"ref": ref}
        if finding.package.version:
            entry["versions"] = [{"version": finding.package.version, "status": "affected"}]
        prefix = f"mamori:affects:{len(affects)}"
        affects[ref] = entry
        pairs += [
            (f"{prefix}:status", finding.status.value),
            (f"{prefix}:fixed_version", finding.fixed_version),
            (f"{prefix}:installed_version", finding.installed_version),
            (f"{prefix}:advisories", " ".join(finding.advisories)),
            (f"{prefix}:matched_as", finding.matched_as),
        ]
    vulnerability["affects"] = list(affects.values())
    return _with_properties(vulnerability, pairs)


def _source(vuln_id: str, links: Sequence[str]) -> dict[str, str]:
    """Who publishes ids like this one, with the first link that names it."""
    name = next((issuer for prefix, issuer in _ISSUERS if vuln_id.startswith(prefix)), "OSV")
    source = {"name": name}
    wanted = vuln_id.lower()
    url = next((link for link in links if wanted in link.lower()), "")
    if url:
        source["url"] = url
    return source


def _rating(severity: Severity) -> dict[str, Any]:
    rating: dict[str, Any] = {}
    if severity.source:
        rating["source"] = {"name": severity.source}
    if severity.score is not None:
        rating["score"] = severity.score
    rating["severity"] = _CDX_SEVERITY[severity.rating]
    method = next((m for prefix, m in _CVSS_METHODS if severity.vector.startswith(prefix)), "")
    rating["method"] = method or "other"
    if severity.vector:
        rating["vector"] = severity.vector
    return rating


def _timestamp(text: str) -> str:
    """An OSV timestamp as RFC 3339 in UTC, "" when there is none or it cannot be read."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return ""
    return rfc3339(moment) if moment.tzinfo is not None else ""
