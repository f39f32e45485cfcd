"""Hand-built scan results: the inventory of inventories.py with findings in its packages."""

from __future__ import annotations

from mamori.model import (
    DBInfo,
    DBSource,
    Finding,
    FindingStatus,
    Inventory,
    Package,
    ScanResult,
    Severity,
    SeverityRating,
)
from tests.report.inventories import deb, debian_inventory, debian_packages

BUILT_AT = "2024-05-29T12:30:45+00:00"  # three days before the inventory's CREATED_AT
DB = DBInfo(
    path="/var/cache/mamori/db",
    built_at=BUILT_AT,
    sources=(
        DBSource("download", "https://mirror.invalid/osv/npm/all.zip", "npm", BUILT_AT, 12),
        DBSource("import", "/srv/osv/PyPI-all.zip", "", BUILT_AT, 2661),
    ),
    advisories=2673,
)

V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"


def package(inventory: Inventory, name: str) -> Package:
    return next(p for p in inventory.packages if p.name == name)


def finding(
    pkg: Package,
    vuln_id: str,
    rating: SeverityRating,
    fixed: str = "",
    *,
    aliases: tuple[str, ...] = (),
    score: float | None = None,
    vector: str = "",
    source: str = "",
    links: tuple[str, ...] = (),
    advisories: tuple[str, ...] = (),
) -> Finding:
    version = pkg.source_version or pkg.version
    return Finding(
        id=vuln_id,
        aliases=aliases,
        package=pkg,
        installed_version=version,
        fixed_version=fixed,
        status=FindingStatus.FIXED if fixed else FindingStatus.NOT_FIXED,
        severity=Severity(rating, score, vector, source or f"{vuln_id} rating"),
        summary=f"summary of {vuln_id}",
        published="2024-01-02T03:04:05Z",
        modified="2024-02-03T04:05:06.789Z",
        links=links,
        advisories=advisories or (vuln_id,),
        matched_as=f"{pkg.ecosystem} {pkg.source_name or pkg.name} {version}",
    )


def scan_result(findings: tuple[Finding, ...] | None = None) -> ScanResult:
    """The Debian inventory with findings of every kind: one CVE in two binaries of one
    source package, CVSS v3.1 and v4 vectors, a rating without a score, no fix, aliases."""
    inventory = debian_inventory((*debian_packages(), deb("libc-bin", "2.36-9+deb12u7", "glibc")))
    if findings is None:
        libc6, libc_bin = package(inventory, "libc6"), package(inventory, "libc-bin")
        libssl3, semver = package(inventory, "libssl3"), package(inventory, "semver")
        requests = package(inventory, "requests")
        findings = (
            *(
                finding(
                    binary,
                    "CVE-2023-4911",
                    SeverityRating.HIGH,
                    "2.36-9+deb12u8",
                    aliases=("DEBIAN-CVE-2023-4911", "DSA-5514-1"),
                    source="DSA-5514-1 distribution urgency",
                    links=("https://security.invalid/tracker/CVE-2023-4911",),
                    advisories=("DEBIAN-CVE-2023-4911", "DSA-5514-1"),
                )
                for binary in (libc6, libc_bin)
            ),
            finding(libc6, "CVE-2010-4756", SeverityRating.NEGLIGIBLE),
            finding(
                libssl3,
                "CVE-2023-5363",
                SeverityRating.CRITICAL,
                "3.0.15-1~deb12u1",
                score=9.8,
                vector=V31,
                source="GHSA-x CVSS_V3",
            ),
            finding(
                semver,
                "CVE-2022-25883",
                SeverityRating.MEDIUM,
                "7.6.3",
                aliases=("GHSA-c2qf-rxjj-qqgw",),
                score=9.3,
                vector=V40,
                source="GHSA-c2qf-rxjj-qqgw CVSS_V4",
                links=(
                    "https://advisories.invalid/GHSA-c2qf-rxjj-qqgw",
                    "https://advisories.invalid/other",
                ),
            ),
            finding(requests, "PYSEC-2024-1", SeverityRating.UNKNOWN),
        )
    return ScanResult(inventory=inventory, findings=findings, db=DB, warnings=("matcher note",))
