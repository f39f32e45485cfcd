"""`mamori sbom` as a user runs it: a subprocess, real archives, exit codes, one-line errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mamori.demo.image import build_demo_image
from mamori.demo.oci_writer import ImageSpec, file, layer_tar, symlink, write_oci_archive

MAMORI = [sys.executable, "-m", "mamori.cli"]


def run(tmp_path: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "MAMORI_CACHE_DIR": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    env.pop("MAMORI_DEBUG", None)
    return subprocess.run(
        [*MAMORI, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or tmp_path,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert text in lines[0]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_image(tmp_path_factory.mktemp("demo") / "demo.tar")


def test_table_is_the_default(tmp_path: Path, demo: Path) -> None:
    result = run(tmp_path, "sbom", "-q", str(demo))
    assert result.returncode == 0, result.stderr
    assert "Debian GNU/Linux 12 (bookworm)" in result.stdout
    assert "express" in result.stdout and "4.21.2" in result.stdout
    assert "left-pad" not in result.stdout  # deleted by a whiteout in the last layer
    assert "NODE_ENV" in result.stdout and "production" not in result.stdout


def test_every_format_to_files_at_once(tmp_path: Path, demo: Path) -> None:
    out = tmp_path / "out"
    result = run(
        tmp_path,
        "sbom",
        f"oci-archive:{demo}",
        "-o",
        f"json={out / 'inv.json'}",
        "-o",
        f"cyclonedx={out / 'bom.cdx.json'}",
        "-o",
        f"spdx={out / 'bom.spdx.json'}",
        "-o",
        "table",
    )
    assert result.returncode == 0, result.stderr
    native = json.loads((out / "inv.json").read_text())
    assert native["schema"] == "mamori.scan/v1"
    names = {(p["name"], p["version"], p["type"]) for p in native["packages"]}
    assert ("zlib1g", "1:1.2.13.dfsg-1", "deb") in names
    assert ("@types/node", "22.10.2", "npm") in names
    assert ("requests", "2.32.3", "pypi") in names
    layers = {p["name"]: p["locations"][0]["layer_index"] for p in native["packages"]}
    assert layers["libc6"] == 0 and layers["express"] == 1
    cdx = json.loads((out / "bom.cdx.json").read_text())
    assert cdx["specVersion"] == "1.6"
    purls = {c.get("purl") for c in cdx["components"]}
    assert "pkg:npm/%40types/node@22.10.2" in purls
    spdx = json.loads((out / "bom.spdx.json").read_text())
    assert spdx["spdxVersion"] == "SPDX-2.3"
    assert "express" in result.stdout


def test_the_cache_is_used_and_no_cache_keeps_nothing(tmp_path: Path, demo: Path) -> None:
    def packages(*flags: str) -> list[object]:
        result = run(tmp_path, "sbom", "-q", "-o", "json", *flags, str(demo))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)["packages"]  # type: ignore[no-any-return]

    fresh = packages("--no-cache")
    cache = tmp_path / "cache"
    assert not list(cache.glob("layers/*/*")) and not list(cache.glob("images/*/*"))
    assert packages() == fresh  # fills the layer and image caches
    assert len(list(cache.glob("layers/*/*"))) == 3
    assert len(list(cache.glob("images/*/*"))) == 1
    assert packages() == fresh  # answered from the image cache
    for entry in cache.glob("images/*/*"):
        entry.unlink()
    assert packages() == fresh  # answered from the layer cache
    assert list((cache / "tmp").iterdir()) == []


def test_nothing_is_written_outside_the_cache(tmp_path: Path, demo: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = run(tmp_path, "sbom", "-q", "-o", "json", str(demo), cwd=work)
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "work"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "xml"], "unknown output format 'xml'"),
        (["-o", "json", "-o", "spdx"], "would all go to standard output"),
        (["--platform", "amd64"], "invalid platform"),
    ],
)
def test_bad_parameters_exit_2(tmp_path: Path, demo: Path, args: list[str], message: str) -> None:
    assert_one_line_error(run(tmp_path, "sbom", str(demo), *args), 2, message)


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("docker-archive:/nonexistent/image.tar", "no such file or directory"),
        ("just-a-name:latest", "names no registry host"),
        ("127.0.0.1:5000/Bad Name", "invalid"),
    ],
)
def test_bad_references_exit_2(tmp_path: Path, reference: str, message: str) -> None:
    assert_one_line_error(run(tmp_path, "sbom", reference), 2, message)


def _image(tmp_path: Path, *layers: bytes) -> Path:
    archive = tmp_path / "image.tar"
    write_oci_archive(ImageSpec(layers=list(layers)), archive)
    return archive


def test_path_traversal_exits_3(tmp_path: Path) -> None:
    archive = _image(tmp_path, layer_tar([file("../../../../tmp/pwned", "x")]))
    assert_one_line_error(run(tmp_path, "sbom", str(archive)), 3, "escapes the image root")
    assert not Path("/tmp/pwned").exists()


def test_symlink_loop_exits_3(tmp_path: Path) -> None:
    archive = _image(
        tmp_path,
        layer_tar(
            [symlink("etc/os-release", "os-release.d"), symlink("etc/os-release.d", "os-release")]
        ),
    )
    assert_one_line_error(run(tmp_path, "sbom", str(archive)), 3, "symlink loop")


def test_decompression_bomb_exits_3(tmp_path: Path) -> None:
    # 300 MiB of zeros inside a tar, gzip-compressed to a few hundred KiB.
    bomb_tar = layer_tar([file("zeros", b"\0" * (300 << 20))])
    archive = tmp_path / "bomb.tar"
    spec = ImageSpec(layers=[bomb_tar])
    write_oci_archive(spec, archive)
    assert archive.stat().st_size < 2 << 20
    assert_one_line_error(run(tmp_path, "sbom", str(archive)), 3, "decompression bomb")


def test_unreachable_registry_exits_3(tmp_path: Path) -> None:
    result = run(tmp_path, "sbom", "127.0.0.1:9/nothing/here:1")
    assert_one_line_error(result, 3, "127.0.0.1:9")


def test_corrupt_gzip_archive_exits_3(tmp_path: Path) -> None:
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(gzip.compress(b"x" * 5000)[:-20])
    result = run(tmp_path, "sbom", f"docker-archive:{archive}")
    assert_one_line_error(result, 3, "truncated gzip stream")


def test_broken_dpkg_stanza_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    status = "Package: good\nStatus: install ok installed\nVersion: 1.0\n\nPackage: bad\n"
    archive = _image(tmp_path, layer_tar([file("var/lib/dpkg/status", status)]))
    result = run(tmp_path, "sbom", "-o", "json", str(archive))
    assert result.returncode == 0, result.stderr
    native = json.loads(result.stdout)
    assert [p["name"] for p in native["packages"]] == ["good"]
    assert any("/var/lib/dpkg/status" in w for w in native["warnings"])


def test_help_explains_references_and_formats(tmp_path: Path) -> None:
    result = run(tmp_path, "sbom", "--help")
    assert result.returncode == 0
    for word in ("docker-archive:", "oci-archive:", "podman://", "cyclonedx", "spdx", "--no-cache"):
        assert word in result.stdout
