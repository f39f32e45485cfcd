"""A small LayerProbe for image-layer tests: captures text files, examines `*.bin`."""

from __future__ import annotations

import hashlib
from typing import Any, BinaryIO


class TextProbe:
    version = "test-1"

    def __init__(self) -> None:
        self.examined: list[str] = []

    def capture(self, path: str, size: int) -> bool:
        return path.endswith((".txt", ".json", "os-release", "status"))

    def should_examine(self, path: str, mode: int, size: int) -> bool:
        return path.endswith(".bin")

    def examine(self, path: str, stream: BinaryIO) -> dict[str, Any] | None:
        self.examined.append(path)
        digest = hashlib.sha256()
        while chunk := stream.read(65536):
            digest.update(chunk)
        return {"sha256": digest.hexdigest()}
