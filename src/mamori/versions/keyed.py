"""The shared implementation of VersionScheme: a scheme is a parse function to a sort key.

Every scheme here turns a version string into a plain tuple (or, for PEP 440, a
`packaging` Version) whose natural ordering is the scheme's ordering, so `compare` is two
cached key look-ups and one tuple comparison. The matcher compares thousands of installed
versions against the same few range events, which is why keys are cached.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from mamori.versions.interface import InvalidVersion

# Real versions are far shorter (npm and Maven both refuse more than 256 characters); the
# bound also keeps int() away from its digit limit and the cache away from huge strings.
MAX_LENGTH = 256
CACHE_SIZE = 1 << 16


def invalid(scheme: str, text: str, reason: str) -> InvalidVersion:
    """The one message format for a rejected version."""
    return InvalidVersion(f"invalid {scheme} version {text!r}: {reason}")


class KeyedScheme:
    """A VersionScheme defined by `parse`, which returns a sort key or raises InvalidVersion."""

    def __init__(self, name: str, parse: Callable[[str], Any]) -> None:
        self.name = name
        self._parse = functools.lru_cache(maxsize=CACHE_SIZE)(parse)

    def key(self, text: str) -> Any:
        if not isinstance(text, str):
            raise InvalidVersion(f"a {self.name} version is text, not {type(text).__name__}")
        if len(text) > MAX_LENGTH:
            raise invalid(self.name, text[:32] + "…", f"longer than {MAX_LENGTH} characters")
        return self._parse(text)

    def compare(self, a: str, b: str) -> int:
        key_a, key_b = self.key(a), self.key(b)
        return int(key_a > key_b) - int(key_a < key_b)

    def cache_clear(self) -> None:
        """Forget parsed keys (for benchmarks measuring the parse cost)."""
        self._parse.cache_clear()

    def __repr__(self) -> str:
        return f"<version scheme {self.name}>"
