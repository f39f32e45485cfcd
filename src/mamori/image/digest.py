"""Digest parsing and a reader that verifies a blob's digest as it is streamed."""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO

from mamori.errors import ImageError, UsageError

_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]+)$")
_LENGTHS = {"sha256": 64, "sha512": 128}


def parse_digest(digest: str) -> tuple[str, str]:
    """Split `sha256:<hex>` into algorithm and hex, rejecting anything malformed."""
    match = _DIGEST.match(digest)
    if match is None or len(match.group(2)) != _LENGTHS[match.group(1)]:
        raise UsageError(f"malformed digest {digest!r}")
    return match.group(1), match.group(2)


def is_digest(value: str) -> bool:
    try:
        parse_digest(value)
    except UsageError:
        return False
    return True


def digest_bytes(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_bytes(data: bytes, expected: str, what: str) -> None:
    algorithm, _ = parse_digest(expected)
    actual = digest_bytes(data, algorithm)
    if actual != expected:
        raise ImageError(f"{what} digest mismatch: expected {expected}, got {actual}")


class VerifyingReader:
    """Wraps a stream; at EOF checks the bytes seen against the expected digest.

    `finish()` drains what the consumer did not read (a tar reader stops at the end-of-archive
    marker) so the whole blob is always verified.
    """

    def __init__(self, stream: BinaryIO, expected: str, what: str) -> None:
        algorithm, _ = parse_digest(expected)
        self._stream = stream
        self._hash = hashlib.new(algorithm)
        self._expected = expected
        self._algorithm = algorithm
        self._what = what
        self.bytes_read = 0
        self._verified = False

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._hash.update(data)
            self.bytes_read += len(data)
        elif size != 0:
            self._verify()
        return data

    def readable(self) -> bool:
        return True

    def finish(self) -> None:
        while self.read(1 << 20):
            pass
        self._verify()

    def _verify(self) -> None:
        if self._verified:
            return
        self._verified = True
        actual = f"{self._algorithm}:{self._hash.hexdigest()}"
        if actual != self._expected:
            raise ImageError(
                f"{self._what} digest mismatch: expected {self._expected}, got {actual}"
            )
