"""What to look up in the vulnerability database for each installed package.

OS packages are matched by their **source** package and the distribution release, as the
distributions publish their advisories (one advisory for openssl covers libssl3 too).
Language packages are matched by name in their ecosystem. Packages an OS package installed
(Debian's /usr/share/nodejs, python3-* modules) are left to that OS package's advisories,
so one vulnerability is not reported twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from mamori.model import Package, PackageType


@dataclass(frozen=True)
class Query:
    ecosystem: str  # exactly as in OSV: "Debian:12", "Alpine:v3.20", "npm", "Go"
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.ecosystem} {self.name} {self.version}"


_LANGUAGE = {
    PackageType.NPM: "npm",
    PackageType.PYPI: "PyPI",
    PackageType.GOLANG: "Go",
}


def query_for(package: Package) -> Query | None:
    """The lookup for `package`, or None when nothing in OSV can describe it."""
    if dict(package.metadata).get("owned_by"):
        return None
    if package.type in (PackageType.DEB, PackageType.APK):
        if not package.ecosystem:
            return None  # a release OSV does not name (Debian testing, an unknown distro)
        return Query(
            package.ecosystem,
            package.source_name or package.name,
            package.source_version or package.version,
        )
    if package.type is PackageType.RPM:
        # Red Hat, Rocky and Alma advisories name binary packages and full EVRs.
        return (
            Query(package.ecosystem, package.name, package.version) if package.ecosystem else None
        )
    ecosystem = _LANGUAGE.get(package.type)
    if ecosystem is None or not package.version:
        return None  # runtimes found as binaries have no OSV ecosystem of their own
    return Query(ecosystem, package.name, package.version)
