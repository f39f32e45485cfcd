"""How both SBOM formats arrange an inventory.

The image contains the operating system and every package outside it; the operating system
contains the packages of its package manager (deb, apk, rpm). Without a recognised OS every
package hangs directly off the image.
"""

from __future__ import annotations

from packageurl import PackageURL

from mamori.model import Inventory, Package, PackageType

OS_PACKAGE_TYPES = frozenset({PackageType.DEB, PackageType.APK, PackageType.RPM})


def sbom_packages(inventory: Inventory) -> list[Package]:
    """The packages in a stable order (`Package.sort_key`)."""
    return sorted(inventory.packages, key=Package.sort_key)


def belongs_to_os(inventory: Inventory, package: Package) -> bool:
    return inventory.os is not None and package.type in OS_PACKAGE_TYPES


def is_application(package: Package) -> bool:
    """Runtimes and programs found as binaries are applications; everything else a library."""
    return package.type is PackageType.BINARY


def parse_purl(text: str) -> PackageURL | None:
    """The package's purl when it is a valid one (a malformed purl is left out, not guessed)."""
    if not text:
        return None
    try:
        return PackageURL.from_string(text)
    except ValueError:
        return None


def sha256_hex(digest: str) -> str | None:
    """The hex part of a `sha256:` digest, None for any other or a malformed one."""
    algorithm, _, value = digest.partition(":")
    return value if algorithm == "sha256" and len(value) == 64 else None
