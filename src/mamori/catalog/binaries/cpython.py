"""The CPython runtime: `pythonX.Y` executables and `libpythonX.Y*.so*` libraries.

The file name gives major and minor; the full version is the NUL-terminated `X.Y.Z`
string the build embeds (PY_VERSION). When the linker merged that literal into a longer
string ending the same way (pyenv builds keep it only as the tail of the build directory,
`…/Python-3.11.7`), the tail still matches, so the byte before the version only has to be
neither a digit nor a dot.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, BinaryIO

from mamori.catalog.binaries.runtime import find_version, runtime_package
from mamori.model import Location, Package

_NAMES = re.compile(r"python(\d)\.(\d{1,2})|libpython(\d)\.(\d{1,2})[a-z]*\.so(?:\.\d+)*")
_LONGEST = 32


class CPythonClassifier:
    name = "cpython"
    reports_owned = False

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        return _NAMES.fullmatch(posixpath.basename(path)) is not None

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        named = _NAMES.fullmatch(posixpath.basename(path))
        if named is None:
            return None
        major, minor = (group for group in named.groups() if group is not None)
        pattern = re.compile(
            rb"[^0-9.](%s\.%s\.\d{1,3}(?:(?:a|b|rc)\d{1,3})?\+?)\x00"
            % (major.encode(), minor.encode())
        )
        version = find_version(stream, pattern, _LONGEST)
        return {"classifier": self.name, "version": version} if version else None

    def packages(self, finding: dict[str, Any], location: Location) -> list[Package]:
        return [runtime_package("python", self.name, finding, location)]
