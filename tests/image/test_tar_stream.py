"""The streaming tar reader against archives written by Python's tarfile in every format."""

from __future__ import annotations

import contextlib
import io
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mamori.errors import ImageError
from mamori.image.tar_stream import MemberReader, TarStream


def _tar(fmt: int, members: list[tuple[str, bytes | None, str]]) -> bytes:
    """members: (name, data or None for a symlink, link target)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.SYMTYPE
                info.linkname = link
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o755
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _read_all(raw: bytes) -> dict[str, tuple[int, bytes | str]]:
    tar = TarStream(io.BytesIO(raw), "layer")
    reader = MemberReader(tar)
    result: dict[str, tuple[int, bytes | str]] = {}
    for member in tar:
        if member.is_file:
            result[member.name] = (member.mode, reader.read())
        else:
            result[member.name] = (member.mode, member.linkname)
    return result


LONG_DIR = "d" * 120
LONG_NAME = f"{LONG_DIR}/{'n' * 90}/file.txt"
LONG_LINK = "/" + "t" * 150


@pytest.mark.parametrize(
    "fmt",
    [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT],
    ids=["ustar", "gnu", "pax"],
)
def test_formats_round_trip(fmt: int) -> None:
    members = [
        ("usr/bin/tool", b"\x7fELF" + b"x" * 3000, ""),
        (f"{'p' * 80}/{'q' * 80}/file", b"prefix-split", ""),
        ("etc/link", None, "../usr/bin/tool"),
        ("empty", b"", ""),
    ]
    if fmt != tarfile.USTAR_FORMAT:
        members += [(LONG_NAME, b"long", ""), ("long-link", None, LONG_LINK)]
    if fmt == tarfile.PAX_FORMAT:
        members.append(("unicode/caf\u00e9-\u65e5\u672c.txt", b"utf8", ""))
    result = _read_all(_tar(fmt, members))
    for name, data, link in members:
        assert result[name] == ((0o755, data) if data is not None else (0o644, link))


def test_large_content_spans_many_reads() -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB, several 1 MiB chunks
    result = _read_all(_tar(tarfile.PAX_FORMAT, [("big", payload, ""), ("after", b"ok", "")]))
    assert result["big"][1] == payload and result["after"][1] == b"ok"


def test_bad_first_header_is_not_a_tar() -> None:
    with pytest.raises(ImageError, match="corrupt tar"):
        _read_all(b"this is not a tar archive".ljust(2048, b"x"))


def test_truncated_content() -> None:
    raw = _tar(tarfile.PAX_FORMAT, [("big", b"z" * 100_000, "")])
    with pytest.raises(ImageError, match="truncated tar"):
        _read_all(raw[:50_000])


def test_empty_stream() -> None:
    with pytest.raises(ImageError, match="empty layer"):
        _read_all(b"")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=4096))
def test_arbitrary_bytes_only_raise_image_errors(data: bytes) -> None:
    with contextlib.suppress(ImageError):
        _read_all(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=3000))
def test_corrupted_archives_only_raise_image_errors(noise: bytes, where: int) -> None:
    raw = bytearray(_tar(tarfile.PAX_FORMAT, [(LONG_NAME, b"a" * 700, ""), ("b", b"b", "")]))
    position = where % len(raw)
    raw[position : position + len(noise)] = noise
    with contextlib.suppress(ImageError):
        _read_all(bytes(raw))
