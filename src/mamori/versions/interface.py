"""The contract every version scheme meets; other stages code against this module only."""

from __future__ import annotations

from typing import Any, Protocol


class InvalidVersion(ValueError):
    """The text is not a version of this scheme."""


class VersionScheme(Protocol):
    """How one ecosystem orders its version strings."""

    # "dpkg", "apk", "rpm", "semver", "go", "pep440", "maven", "rubygems", "nuget", "packagist"
    name: str

    def key(self, text: str) -> Any:
        """A totally ordered, hashable sort key; raises InvalidVersion."""
        ...

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as a is older than, equal to or newer than b; raises InvalidVersion."""
        ...
