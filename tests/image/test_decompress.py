import gzip
import io
import os

import pytest
import zstandard

from mamori.errors import ImageError
from mamori.image.decompress import DecompressingReader, LayerLimits

PAYLOAD = os.urandom(300_000) + b"abc" * 1_000_000


def _drain(reader: DecompressingReader, size: int = 10240) -> bytes:
    parts = []
    while chunk := reader.read(size):
        parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize(
    ("blob", "kind"),
    [
        (gzip.compress(PAYLOAD), "gzip"),
        (gzip.compress(PAYLOAD[:1000]) + gzip.compress(PAYLOAD[1000:]), "gzip"),
        (zstandard.ZstdCompressor().compress(PAYLOAD), "zstd"),
        (PAYLOAD, "none"),
    ],
    ids=["gzip", "gzip-multimember", "zstd", "plain"],
)
def test_round_trip(blob: bytes, kind: str) -> None:
    reader = DecompressingReader(io.BytesIO(blob), "layer")
    assert reader.compression == kind
    assert _drain(reader) == PAYLOAD
    assert reader.uncompressed == len(PAYLOAD)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (gzip.compress(PAYLOAD)[:-500], "truncated gzip"),
        (zstandard.ZstdCompressor().compress(PAYLOAD)[:-500], "truncated zstd"),
        (b"\x1f\x8b\x08\x00" + b"\xff" * 200, "corrupt gzip"),
        (b"\x28\xb5\x2f\xfd" + b"\xff" * 200, "corrupt zstd"),
    ],
    ids=["gzip-truncated", "zstd-truncated", "gzip-garbage", "zstd-garbage"],
)
def test_damaged_streams_fail_clearly(blob: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        _drain(DecompressingReader(io.BytesIO(blob), "layer sha256:x"))


@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_decompression_bomb_is_refused_early(codec: str) -> None:
    zeros = b"\0" * (64 << 20)
    if codec == "gzip":
        bomb = gzip.compress(zeros, compresslevel=9)
    else:
        bomb = zstandard.ZstdCompressor(level=19).compress(zeros)
    limits = LayerLimits(max_ratio=100, ratio_floor=8 << 20)
    reader = DecompressingReader(io.BytesIO(bomb), "bomb", limits)
    with pytest.raises(ImageError, match="decompression bomb"):
        _drain(reader, 1 << 20)
    # refused long before the whole payload was produced
    assert reader.uncompressed < 48 << 20


def test_absolute_size_limit() -> None:
    data = os.urandom(3 << 20)
    reader = DecompressingReader(io.BytesIO(data), "big", LayerLimits(max_bytes=2 << 20))
    with pytest.raises(ImageError, match="expands beyond"):
        _drain(reader)
