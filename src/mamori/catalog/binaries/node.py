"""The Node.js runtime: official builds embed `node.js/v<version>` in the `node` binary;
Debian's `/usr/bin/node` is a small launcher and the string lives in `libnode.so.<abi>`."""

from __future__ import annotations

import posixpath
import re
from typing import Any, BinaryIO

from mamori.catalog.binaries.runtime import find_version, runtime_package
from mamori.model import Location, Package

_NAMES = re.compile(r"node|nodejs|libnode\.so(?:\.\d+)*")
_VERSION = re.compile(rb"node\.js/v(\d{1,4}\.\d{1,4}\.\d{1,4})")
_LONGEST = 32


class NodeClassifier:
    name = "node"
    reports_owned = False

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        return _NAMES.fullmatch(posixpath.basename(path)) is not None

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        version = find_version(stream, _VERSION, _LONGEST)
        return {"classifier": self.name, "version": version} if version else None

    def packages(self, finding: dict[str, Any], location: Location) -> list[Package]:
        return [runtime_package("node", self.name, finding, location)]
