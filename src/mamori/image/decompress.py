"""Streaming decompression of layer blobs (gzip, zstd, or none), with a bomb guard.

The compression is detected from the first bytes, not from the media type: `docker save`
archives and some registries label layers inexactly.
"""

from __future__ import annotations

import zlib
from typing import Any, BinaryIO

import zstandard

from mamori.errors import ImageError

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
CHUNK = 1 << 20
ZSTD_SLICE = 1 << 10


class LayerLimits:
    """Bounds on what one layer may expand to, to stop decompression bombs.

    A layer may expand to at most `max_bytes`, and, beyond `ratio_floor` bytes, to at most
    `max_ratio` times its compressed size (real layers compress 2–10×; bombs 1000×).
    """

    def __init__(
        self, max_bytes: int = 64 << 30, max_ratio: int = 200, ratio_floor: int = 256 << 20
    ) -> None:
        self.max_bytes = max_bytes
        self.max_ratio = max_ratio
        self.ratio_floor = ratio_floor


class _Peekable:
    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._head = b""

    def peek(self, size: int) -> bytes:
        while len(self._head) < size:
            more = self._stream.read(size - len(self._head))
            if not more:
                break
            self._head += more
        return self._head[:size]

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._stream.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._stream.read(size - len(data))
            return data
        return self._stream.read(size)


class DecompressingReader:
    """A read-only stream of the uncompressed tar, counting and bounding its size."""

    def __init__(self, raw: BinaryIO, what: str, limits: LayerLimits | None = None) -> None:
        self._raw = _Peekable(raw)
        self._what = what
        self._limits = limits or LayerLimits()
        self.compressed_read = 0
        self.uncompressed = 0
        self._buffer = b""
        self._pos = 0
        self._eof = False
        self._gzip: Any = None
        self._zstd: Any = None
        self._pending = b""  # zstd input not yet fed
        head = self._raw.peek(4)
        if head.startswith(GZIP_MAGIC):
            self.compression = "gzip"
            self._gzip = zlib.decompressobj(wbits=31)
        elif head == ZSTD_MAGIC:
            self.compression = "zstd"
            self._zstd = zstandard.ZstdDecompressor().decompressobj()
        else:
            self.compression = "none"

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            parts = [self._buffer[self._pos :]]
            self._buffer, self._pos = b"", 0
            while not self._eof:
                parts.append(self._next_chunk())
            return b"".join(parts)
        parts = []
        remaining = size
        while remaining > 0:
            if self._pos >= len(self._buffer):
                if self._eof:
                    break
                self._buffer, self._pos = self._next_chunk(), 0
                continue
            piece = self._buffer[self._pos : self._pos + remaining]
            self._pos += len(piece)
            remaining -= len(piece)
            parts.append(piece)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _next_chunk(self) -> bytes:
        """Decompress the next piece: at most a few MiB, whatever the input ratio."""
        try:
            data = self._next_input()
            if data is None:
                self._finish()
                return b""
            out = self._decompress(data)
        except (zlib.error, zstandard.ZstdError) as exc:
            raise ImageError(f"{self._what}: corrupt {self.compression} data: {exc}") from None
        self._account(len(out))
        return out

    def _next_input(self) -> bytes | None:
        if self._zstd is not None:
            return self._next_zstd()
        gz = self._gzip
        if gz is not None:
            if gz.unconsumed_tail:
                return bytes(gz.unconsumed_tail)
            if gz.eof and gz.unused_data.strip(b"\0"):
                # Concatenated gzip members (allowed by the format) continue after the first.
                rest = bytes(gz.unused_data)
                self._gzip = zlib.decompressobj(wbits=31)
                return rest
        chunk = self._raw.read(CHUNK)
        self.compressed_read += len(chunk)
        return chunk or None

    def _next_zstd(self) -> bytes | None:
        """Feed zstd small slices: its output per call is unbounded, so bound the input."""
        out: list[bytes] = []
        produced = 0
        while produced < CHUNK:
            if not self._pending:
                self._pending = self._raw.read(CHUNK)
                self.compressed_read += len(self._pending)
                if not self._pending:
                    break
            if self._zstd.eof:
                # A new frame follows (zstd streams may hold several).
                self._pending = bytes(self._zstd.unused_data) + self._pending
                self._zstd = zstandard.ZstdDecompressor().decompressobj()
            piece, self._pending = self._pending[:ZSTD_SLICE], self._pending[ZSTD_SLICE:]
            data = self._zstd.decompress(piece)
            produced += len(data)
            out.append(data)
        if not out:
            return None
        return b"".join(out)

    def _decompress(self, data: bytes) -> bytes:
        if self._gzip is not None:
            if self._gzip.eof:
                return b""  # trailing padding after the last member
            return bytes(self._gzip.decompress(data, CHUNK))
        return data  # zstd output comes decompressed from its stream reader

    def _finish(self) -> None:
        self._eof = True
        if self._gzip is not None and not self._gzip.eof:
            raise ImageError(f"{self._what}: truncated gzip stream")
        if self._zstd is not None and not self._zstd.eof:
            raise ImageError(f"{self._what}: truncated zstd stream")

    def _account(self, produced: int) -> None:
        self.uncompressed += produced
        limits = self._limits
        if self.uncompressed > limits.max_bytes:
            raise ImageError(
                f"{self._what}: expands beyond {limits.max_bytes} bytes; refusing "
                "(decompression bomb?)"
            )
        if (
            self.compression != "none"
            and self.uncompressed > limits.ratio_floor
            and self.uncompressed > limits.max_ratio * max(self.compressed_read, 1)
        ):
            raise ImageError(
                f"{self._what}: expands more than {limits.max_ratio}x its compressed size; "
                "refusing (decompression bomb?)"
            )
