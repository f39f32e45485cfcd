"""OSV ecosystem names and the package-name normalisation the store and the matcher share.

An OSV ecosystem string is a base ecosystem, optionally followed by `:` and a release
("Debian:12", "Alpine:v3.20", "Ubuntu:22.04:LTS"). The base decides how package names compare.
"""

from __future__ import annotations

import re

# The per-ecosystem exports `mamori db update` fetches when no --ecosystem is given.
DEFAULT_ECOSYSTEMS: tuple[str, ...] = (
    "Debian",
    "Ubuntu",
    "Alpine",
    "Red Hat",
    "Rocky Linux",
    "AlmaLinux",
    "npm",
    "PyPI",
    "Go",
    "Maven",
    "RubyGems",
    "crates.io",
    "NuGet",
    "Packagist",
)

# Base ecosystems of the OSV schema (ossf/osv-schema, ecosystems list). Entries naming any
# other base are skipped at import with a counted warning.
KNOWN_ECOSYSTEMS: frozenset[str] = frozenset(
    {
        *DEFAULT_ECOSYSTEMS,
        "AlmaLinux",
        "Alpaquita",
        "Android",
        "Azure Linux",
        "BellSoft Hardened Containers",
        "Bioconductor",
        "Bitnami",
        "Chainguard",
        "CleanStart",
        "ConanCenter",
        "CRAN",
        "Echo",
        "GHC",
        "GIT",
        "GitHub Actions",
        "Hackage",
        "Hex",
        "Julia",
        "Kubernetes",
        "Linux",
        "Mageia",
        "MinimOS",
        "openEuler",
        "openSUSE",
        "OSS-Fuzz",
        "Photon OS",
        "Pub",
        "SUSE",
        "SwiftURL",
        "VSCode",
        "Wolfi",
    }
)

_BY_FOLDED = {name.casefold(): name for name in KNOWN_ECOSYSTEMS}

# Bases whose package names compare without regard to case (registry rules or distro policy).
_CASE_INSENSITIVE = frozenset(
    {
        "Alpine",
        "Chainguard",
        "crates.io",
        "Debian",
        "Hex",
        "NuGet",
        "Packagist",
        "Pub",
        "Ubuntu",
        "Wolfi",
    }
)

_PEP503 = re.compile(r"[-_.]+")


def base_ecosystem(ecosystem: str) -> str:
    """ "Debian:12" → "Debian"; "npm" → "npm"."""
    return ecosystem.split(":", 1)[0]


def canonical_ecosystem(name: str) -> str | None:
    """The OSV spelling of a base ecosystem typed in any case ("pypi" → "PyPI"), or None."""
    return _BY_FOLDED.get(name.strip().casefold())


def normalize_name(ecosystem: str, name: str) -> str:
    """The key packages are stored and looked up by: PEP 503 for PyPI, lower case where the
    ecosystem ignores case, the name as OSV writes it otherwise."""
    base = base_ecosystem(ecosystem)
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base in _CASE_INSENSITIVE:
        return name.lower()
    return name
