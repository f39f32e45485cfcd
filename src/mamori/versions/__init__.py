"""Version comparison, one module per version scheme; `scheme_for` picks by OSV ecosystem.

Ground floor of the layering: nothing here imports from the rest of mamori.
"""

from __future__ import annotations

from mamori.versions import apk, dpkg, go, maven, nuget, packagist, pep440, rpm, rubygems, semver
from mamori.versions.interface import InvalidVersion, VersionScheme

__all__ = ["SCHEMES", "InvalidVersion", "VersionScheme", "scheme_for"]

SCHEMES: dict[str, VersionScheme] = {
    module.SCHEME.name: module.SCHEME
    for module in (apk, dpkg, go, maven, nuget, packagist, pep440, rpm, rubygems, semver)
}

# OSV ecosystem (the part before the first ':') -> scheme name.
_ECOSYSTEMS = {
    "Debian": "dpkg",
    "Ubuntu": "dpkg",
    "Alpine": "apk",
    "Red Hat": "rpm",
    "Rocky Linux": "rpm",
    "AlmaLinux": "rpm",
    "openSUSE": "rpm",
    "SUSE": "rpm",
    "npm": "semver",
    "crates.io": "semver",
    "Go": "go",
    "PyPI": "pep440",
    "Maven": "maven",
    "RubyGems": "rubygems",
    "NuGet": "nuget",
    "Packagist": "packagist",
}


def scheme_for(ecosystem: str) -> VersionScheme:
    """The scheme for an OSV ecosystem such as "Debian:12" or "PyPI"; KeyError if unknown."""
    base = ecosystem.split(":", 1)[0]
    try:
        return SCHEMES[_ECOSYSTEMS[base]]
    except KeyError:
        known = ", ".join(sorted(_ECOSYSTEMS))
        raise KeyError(f"no version scheme for ecosystem {ecosystem!r} (known: {known})") from None
