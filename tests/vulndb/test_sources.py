"""Reading exports: zips member by member, folders, and every way a zip can be broken."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from mamori.errors import UsageError
from mamori.vulndb import sources
from mamori.vulndb.osv import Problem
from mamori.vulndb.sources import Document, OSVSource
from tests.vulndb.helpers import FIXTURES, record, write_zip


def _read(path: Path, max_bytes: int = sources.MAX_RECORD_BYTES) -> list[Document | Problem]:
    source = OSVSource(path, max_bytes)
    try:
        return list(source.documents())
    finally:
        source.close()


def test_zip_members_stream_in_order(pypi_zip: Path) -> None:
    source = OSVSource(pypi_zip)
    with zipfile.ZipFile(pypi_zip) as archive:
        names = [i.filename for i in archive.infolist()]
    assert source.total == len(names)
    documents = list(source.documents())
    source.close()
    assert [d.where for d in documents] == [f"PyPI-all.zip:{n}" for n in names]


def test_folder_is_walked_recursively() -> None:
    documents = _read(FIXTURES)
    assert all(isinstance(d, Document) for d in documents)
    expected = sorted(p.relative_to(FIXTURES) for p in FIXTURES.rglob("*.json"))
    assert [d.where for d in documents] == [f"osv:{p}" for p in expected]


def test_corrupt_zip_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.zip"
    path.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    (problem,) = _read(path)
    assert isinstance(problem, Problem) and problem.reason == sources.CORRUPT_ZIP


def test_truncated_zip_is_one_problem(tmp_path: Path, pypi_zip: Path) -> None:
    path = tmp_path / "truncated.zip"
    path.write_bytes(pypi_zip.read_bytes()[: pypi_zip.stat().st_size // 2])
    (problem,) = _read(path)
    assert isinstance(problem, Problem) and problem.reason == sources.CORRUPT_ZIP


def test_damaged_member_is_skipped_and_the_rest_read(tmp_path: Path) -> None:
    path = write_zip(
        tmp_path / "damaged.zip",
        {f"GHSA-{n}.json": record(f"GHSA-test-{n:04d}") * 50 for n in range(3)},
    )
    with zipfile.ZipFile(path) as archive:
        victim = archive.getinfo("GHSA-1.json")
    data = bytearray(path.read_bytes())
    start = victim.header_offset + 30 + len(victim.filename) + 10
    data[start : start + 20] = bytes(20)  # compressed bytes zeroed: inflate or CRC fails
    path.write_bytes(bytes(data))
    results = _read(path)
    assert [type(r).__name__ for r in results] == ["Document", "Problem", "Document"]
    problem = results[1]
    assert isinstance(problem, Problem) and problem.reason == sources.UNREADABLE_MEMBER
    assert "GHSA-1.json" in problem.where


def test_path_traversal_names_are_only_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    names = ["../escape.json", "/abs/escape.json", "a/../../up.json", "..\\win.json"]
    path = write_zip(work / "evil.zip", {n: record(f"EVIL-{i}") for i, n in enumerate(names)})
    before = sorted(p for p in tmp_path.rglob("*"))
    monkeypatch.chdir(work)
    results = _read(path)
    assert [r.where for r in results] == [f"evil.zip:{n}" for n in names]
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not Path("/abs/escape.json").exists()


def test_enormous_member_is_refused_before_reading(tmp_path: Path) -> None:
    big = record("BIG-1", details="x" * 3_000_000)
    path = write_zip(tmp_path / "big.zip", {"big.json": big, "ok.json": record("OK-1")})
    results = _read(path, max_bytes=1_000_000)
    assert isinstance(results[0], Problem) and results[0].reason == sources.TOO_LARGE
    assert isinstance(results[1], Document)


def test_member_lying_about_its_size_is_cut_off(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "liar.zip", {"liar.json": record("LIAR-1", details="y" * 50_000)})
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("liar.json")
    # Claim 100 bytes in the central directory; the stream holds far more.
    central = data.rindex(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    assert info.file_size > 1000
    (result,) = _read(path, max_bytes=1000)
    assert isinstance(result, Problem)
    assert result.reason in (sources.TOO_LARGE, sources.UNREADABLE_MEMBER)


def test_enormous_file_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_bytes(record("BIG-2", details="z" * 20_000))
    (tmp_path / "small.json").write_bytes(record("SMALL-1"))
    results = _read(tmp_path, max_bytes=10_000)
    assert [type(r).__name__ for r in results] == ["Problem", "Document"]


def test_missing_and_unsupported_paths_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        OSVSource(tmp_path / "missing.zip")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a zip file"):
        OSVSource(fifo)
