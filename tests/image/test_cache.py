"""The per-layer cache: reuse, invalidation, damage and concurrent writers."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from mamori.demo.oci_writer import ImageSpec, file, layer_tar, write_oci_archive
from mamori.image.layer_cache import LayerCache
from mamori.image.layers import load_layers
from mamori.image.open import OpenOptions, open_image
from tests.image.probes import TextProbe


def _archive(tmp_path: Path) -> Path:
    archive = tmp_path / "image.tar"
    layers = [layer_tar([file(f"etc/{n}.txt", f"content {n}" * 100)]) for n in range(3)]
    write_oci_archive(ImageSpec(layers=layers), archive)
    return archive


def _load(archive: Path, root: Path, *, enabled: bool = True) -> list[bool]:
    hits: list[bool] = []
    cache = LayerCache(root, TextProbe.version, enabled=enabled)
    try:
        image = open_image(f"oci-archive:{archive}", OpenOptions(scratch=cache.scratch()))
        indexes = load_layers(
            image, TextProbe(), cache, on_layer=lambda n, t, hit: hits.append(hit)
        )
        assert [i.read(f"/etc/{n}.txt") for n, i in enumerate(indexes)] == [
            f"content {n}".encode() * 100 for n in range(3)
        ]
    finally:
        cache.close()
    return hits


def test_second_run_uses_the_cache(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    assert _load(archive, tmp_path / "c") == [False, False, False]
    assert _load(archive, tmp_path / "c") == [True, True, True]


def test_no_cache_keeps_nothing(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    assert _load(archive, tmp_path / "c", enabled=False) == [False] * 3
    assert _load(archive, tmp_path / "c", enabled=False) == [False] * 3
    leftovers = [p for p in (tmp_path / "c").rglob("*") if p.is_file()]
    assert leftovers == []


def test_damaged_entry_is_rebuilt(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    _load(archive, tmp_path / "c")
    for index in (tmp_path / "c").rglob("index.json"):
        index.write_bytes(b"{not json")
    assert _load(archive, tmp_path / "c") == [False, False, False]
    assert _load(archive, tmp_path / "c") == [True, True, True]


def test_probe_version_is_part_of_the_key(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    _load(archive, tmp_path / "c")
    other = LayerCache(tmp_path / "c", "another-version")
    image = open_image(f"oci-archive:{archive}", OpenOptions(scratch=other.scratch()))
    assert all(other.lookup(blob.diff_id) is None for blob in image.blobs)
    other.close()


def _worker(args: tuple[str, str]) -> list[bool]:
    return _load(Path(args[0]), Path(args[1]))


def test_concurrent_scans_share_the_cache(tmp_path: Path) -> None:
    archive = _archive(tmp_path)
    jobs = [(str(archive), str(tmp_path / "c"))] * 4
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_worker, jobs)
    assert all(len(r) == 3 for r in results)
    entries = list((tmp_path / "c" / "layers").glob("*/*"))
    assert len(entries) == 3
    assert _load(archive, tmp_path / "c") == [True, True, True]
    assert list((tmp_path / "c" / "tmp").iterdir()) == []
