"""Language runtimes recognised by a version string embedded in their binary."""

from __future__ import annotations

import re
from typing import Any, BinaryIO

from packageurl import PackageURL

from mamori.catalog.binaries.scan import Window, first_match, is_elf
from mamori.model import Location, Package, PackageType


def find_version(stream: BinaryIO, pattern: re.Pattern[bytes], longest: int) -> str | None:
    """Group 1 of the first match of `pattern` in an ELF file, or None.

    `pattern` and `longest` follow the rules of `first_match`."""
    window = Window(stream)
    if not is_elf(window):
        return None
    match = first_match(window, pattern, longest)
    return match.group(1).decode("ascii", errors="replace") if match else None


def runtime_package(
    name: str, classifier: str, finding: dict[str, Any], location: Location
) -> Package:
    version = str(finding["version"])
    return Package(
        name=name,
        version=version,
        type=PackageType.BINARY,
        purl=PackageURL(type="generic", name=name, version=version).to_string(),
        cataloger=f"{classifier}-binary",
        locations=(location,),
    )
