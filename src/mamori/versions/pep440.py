"""Python package versions (PyPI): PEP 440, through `packaging.version`.

packaging's Version is already a hashable, totally ordered key with PEP 440's rules
(epochs, pre-, post- and dev-releases, local versions, normalisation such as 1.0 == 1.0.0
and 1.0c1 == 1.0rc1). Legacy non-PEP 440 versions raise InvalidVersion.
"""

from __future__ import annotations

from packaging.version import InvalidVersion as PackagingInvalidVersion
from packaging.version import Version

from mamori.versions.keyed import KeyedScheme, invalid

NAME = "pep440"


def _parse(text: str) -> Version:
    try:
        return Version(text)
    except PackagingInvalidVersion:
        raise invalid(NAME, text, "not PEP 440") from None


SCHEME = KeyedScheme(NAME, _parse)
